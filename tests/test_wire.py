"""The Rocket.Chat wire layer: number strings, errors for every status, no redirects."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from django_livechat.models import Visitor
from django_livechat.wire import format_ts, js_number_to_string

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (5, "5"),
        (1.0, "1"),
        (1.5, "1.5"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (123456789012345678901, "123456789012345680000"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (123e-20, "1.23e-18"),
        (2**53, "9007199254740992"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (float("nan"), "NaN"),
    ],
)
def test_js_number_to_string(value: float, text: str) -> None:
    assert js_number_to_string(value) == text


def test_format_ts_has_three_fraction_digits_and_z() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    assert (
        format_ts(datetime(2023, 10, 31, 8, 41, 29, 724000, tzinfo=UTC))
        == "2023-10-31T08:41:29.724Z"
    )
    assert format_ts(datetime(2023, 10, 31, 8, 41, 29, tzinfo=UTC)) == "2023-10-31T08:41:29.000Z"
    plus_two = timezone(timedelta(hours=2))
    assert (
        format_ts(datetime(2023, 10, 31, 10, 0, 0, 5000, tzinfo=plus_two))
        == "2023-10-31T08:00:00.005Z"
    )


def test_no_trailing_slash_and_no_redirect(api: APIClient) -> None:
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "a"}]}
    response = api.post("/api/v1/livechat/messages", body, format="json")
    assert response.status_code == 200
    response = api.post("/api/v1/livechat/messages/", body, format="json")
    assert response.status_code == 200


def test_unknown_path_is_404_in_the_error_shape(api: APIClient) -> None:
    response = api.post("/api/v1/livechat/nothing-here", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": "API endpoint does not exist [error-not-found]",
        "errorType": "error-not-found",
    }


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_is_405_in_the_error_shape(api: APIClient, method: str) -> None:
    response = getattr(api, method)("/api/v1/livechat/messages")
    assert response.status_code == 405
    body = response.json()
    assert body["success"] is False and body["errorType"] == "error-method-not-allowed"
    assert "POST" in response["Allow"]


@override_settings(DJANGO_LIVECHAT={"MAX_BODY_SIZE": 1000})
def test_oversized_body_is_413_and_writes_nothing(api: APIClient) -> None:
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "x" * 2000}]}
    response = api.post("/api/v1/livechat/messages", body, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "error": "Request body is larger than 1000 bytes [error-payload-too-large]",
        "errorType": "error-payload-too-large",
    }
    assert not Visitor.objects.exists()


def test_unexpected_error_is_500_without_traceback(api: APIClient) -> None:
    api.raise_request_exception = False
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "a"}]}
    with mock.patch(
        "django_livechat.services.append_messages", side_effect=KeyError("secret-detail")
    ):
        response = api.post("/api/v1/livechat/messages", body, format="json")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"secret-detail" not in response.content
    assert response.json()["errorType"] == "error-internal"


def test_any_accept_header_gets_json(api: APIClient) -> None:
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "a"}]}
    response = api.post("/api/v1/livechat/messages", body, format="json", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_host_rest_framework_settings_do_not_leak_in(api: APIClient, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.BrowsableAPIRenderer"],
        "EXCEPTION_HANDLER": "nonexistent.handler",
    }
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "a"}]}
    response = api.post("/api/v1/livechat/messages", body, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert APIClient().post("/api/v1/livechat/messages", body, format="json").status_code == 401
