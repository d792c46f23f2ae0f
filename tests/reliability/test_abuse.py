"""Abuse: throttling per API user, per visitor token, and of failed authentications per IP.

Fast, in-process tests: they run in every test run (not marked ``reliability``).
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from rest_framework.test import APIClient

from django_livechat import throttling
from django_livechat.models import AuthToken, Message
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

MESSAGES = "/api/v1/livechat/messages"
OFF = {"user": None, "visitor": None, "auth_failure": None}
UNAUTHORIZED = (
    b'{"success":false,"error":"You must be logged in to do this.","status":"error",'
    b'"message":"You must be logged in to do this."}'
)


def rates(**scopes: str | None) -> Any:
    return override_settings(DJANGO_LIVECHAT={"THROTTLE_RATES": {**OFF, **scopes}})


def body(token: str, text: str = "hi") -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": text}]}


def client_for(user: Any = None, ip: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    if user is not None:
        _token, raw = AuthToken.objects.create_token(user, name="abuse")
        client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(user.pk))
    return client


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert json.loads(response.content) == {
        "success": False,
        "error": "Error, too many requests. Please slow down. You must wait "
        f"{wait} seconds before trying this endpoint again. [error-too-many-requests]",
        "errorType": "error-too-many-requests",
    }


@rates(user="3/min")
def test_api_user_is_throttled_across_tokens_and_visitors() -> None:
    agent = AgentFactory()
    first, second = client_for(agent), client_for(agent)
    for i in range(3):
        assert first.post(MESSAGES, body(f"v{i}"), format="json").status_code == 200
    stored = Message.objects.count()
    assert_throttled(first.post(MESSAGES, body("v9", "too many"), format="json"))
    assert_throttled(second.post(MESSAGES, body("v8", "too many"), format="json"))
    assert Message.objects.count() == stored  # a throttled request writes nothing
    # Another API user has a budget of their own.
    assert client_for(AgentFactory()).post(MESSAGES, body("v9"), format="json").status_code == 200


@rates(user="3/min")
def test_window_ends() -> None:
    agent = AgentFactory()
    client = client_for(agent)
    with mock.patch.object(throttling, "_now", return_value=1_000_040.0):
        for _ in range(3):
            assert client.post(MESSAGES, body("v"), format="json").status_code == 200
        response = client.post(MESSAGES, body("v"), format="json")
        assert_throttled(response)
        assert response["Retry-After"] == "40"  # the window is [1_000_020, 1_000_080)
    with mock.patch.object(throttling, "_now", return_value=1_000_080.0):
        assert client.post(MESSAGES, body("v"), format="json").status_code == 200


@rates(visitor="2/min")
def test_visitor_token_is_throttled_whatever_the_api_user() -> None:
    one, two = client_for(AgentFactory()), client_for(AgentFactory())
    assert one.post(MESSAGES, body("flood"), format="json").status_code == 200
    assert two.post(MESSAGES, body("flood"), format="json").status_code == 200
    assert_throttled(one.post(MESSAGES, body("flood"), format="json"))
    # The same token spelled as validation coerces it is the same visitor: [token] -> token.
    coerced = {"visitor": {"token": ["flood"]}, "messages": [{"msg": "x"}]}
    assert_throttled(two.post(MESSAGES, coerced, format="json"))
    assert one.post(MESSAGES, body("calm"), format="json").status_code == 200
    assert Message.objects.filter(room__visitor__token="flood").count() == 2


@rates()
def test_none_disables_every_throttle() -> None:
    client = client_for(AgentFactory())
    for _ in range(30):
        assert client.post(MESSAGES, body("same"), format="json").status_code == 200


def test_default_rates_apply_without_any_setting() -> None:
    assert throttling.rate_for("user") == (1200, 60)
    assert throttling.rate_for("visitor") == (120, 60)
    assert throttling.rate_for("auth_failure") == (20, 60)
    with override_settings(DJANGO_LIVECHAT={"THROTTLE_RATES": {"visitor": "5/s"}}):
        assert throttling.rate_for("visitor") == (5, 1)
        assert throttling.rate_for("user") == (1200, 60)  # keys left out keep their default


@rates(auth_failure="5/min")
def test_token_guessing_is_throttled_by_ip_and_every_failure_looks_the_same() -> None:
    agent = AgentFactory()
    _token, raw = AuthToken.objects.create_token(agent, name="real")
    attempts = [
        {"HTTP_X_AUTH_TOKEN": "guess-1", "HTTP_X_USER_ID": str(agent.pk)},  # wrong token
        {"HTTP_X_AUTH_TOKEN": raw, "HTTP_X_USER_ID": str(agent.pk + 1000)},  # wrong user id
        {"HTTP_X_AUTH_TOKEN": raw, "HTTP_X_USER_ID": "not-a-number"},  # malformed user id
        {"HTTP_X_AUTH_TOKEN": "", "HTTP_X_USER_ID": str(agent.pk)},  # empty token
        {"HTTP_X_AUTH_TOKEN": "guess-2"},  # no user id
    ]
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    replies = [guesser.post(MESSAGES, body("v"), format="json", **h) for h in attempts]
    assert {(r.status_code, r.content) for r in replies} == {(401, UNAUTHORIZED)}
    # The address is now blocked, even with the right credentials ...
    right = {"HTTP_X_AUTH_TOKEN": raw, "HTTP_X_USER_ID": str(agent.pk)}
    assert_throttled(guesser.post(MESSAGES, body("v"), format="json", **right))
    assert_throttled(guesser.get("/api/v1/me", **right))
    # ... and forging X-Forwarded-For does not help (no trusted proxy configured) ...
    assert_throttled(
        guesser.post(
            MESSAGES, body("v"), format="json", HTTP_X_FORWARDED_FOR="198.51.100.1", **right
        )
    )
    # ... while another address is not affected.
    other = APIClient(REMOTE_ADDR="203.0.113.8")
    assert other.post(MESSAGES, body("v"), format="json", **right).status_code == 200
    assert Message.objects.count() == 1


@rates(auth_failure="3/min")
def test_failed_logins_count_as_failed_authentications() -> None:
    agent = AgentFactory()
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        response = client.post(
            "/api/v1/login", {"user": agent.username, "password": "x"}, format="json"
        )
        assert response.status_code == 401
    good = {"user": agent.username, "password": "secret-password"}
    assert_throttled(client.post("/api/v1/login", good, format="json"))
    assert (
        APIClient(REMOTE_ADDR="203.0.113.10").post("/api/v1/login", good, format="json").status_code
        == 200
    )


@rates(auth_failure="3/min")
def test_successful_requests_do_not_count_as_failures() -> None:
    client = client_for(AgentFactory())
    for _ in range(10):
        assert client.get("/api/v1/me").status_code == 200


@override_settings(
    DJANGO_LIVECHAT={"THROTTLE_RATES": {**OFF, "auth_failure": "2/min"}, "NUM_PROXIES": 1}
)
def test_behind_a_trusted_proxy_the_forwarded_address_counts() -> None:
    proxy = APIClient(REMOTE_ADDR="10.0.0.1")
    wrong = {"HTTP_X_AUTH_TOKEN": "guess", "HTTP_X_USER_ID": "1"}
    for _ in range(2):
        r = proxy.get("/api/v1/me", HTTP_X_FORWARDED_FOR="spoofed, 198.51.100.20", **wrong)
        assert r.status_code == 401
    assert_throttled(proxy.get("/api/v1/me", HTTP_X_FORWARDED_FOR="198.51.100.20", **wrong))
    # Another client behind the same proxy is not blocked.
    assert proxy.get("/api/v1/me", HTTP_X_FORWARDED_FOR="198.51.100.21", **wrong).status_code == 401


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"users": "1/min"}, "unknown scope 'users'"),
        ({"user": "often"}, "is not a rate"),
        ({"user": "0/min"}, "is not a rate"),
        ({"visitor": "5/fortnight"}, "is not a rate"),
    ],
)
def test_checks_reject_bad_rates(value: dict[str, str], problem: str) -> None:
    with override_settings(DJANGO_LIVECHAT={"THROTTLE_RATES": value}):
        errors = [e for e in run_checks() if e.id == "django_livechat.E003"]
    assert len(errors) == 1 and problem in errors[0].msg


def test_checks_accept_good_rates() -> None:
    good = {"user": "100/s", "visitor": None, "auth_failure": "10/hour"}
    with override_settings(DJANGO_LIVECHAT={"THROTTLE_RATES": good}):
        assert not [e for e in run_checks() if e.id.startswith("django_livechat.E")]
