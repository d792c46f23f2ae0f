"""SPEC §1.2: every validation rule of POST livechat/messages, in Rocket.Chat's order and words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from django_livechat.models import Message, Room, Visitor

pytestmark = pytest.mark.django_db

V = {"token": "t"}
M = [{"msg": "hi"}]


def assert_invalid(response: Any, message: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    expected = {
        "success": False,
        "error": f"{message} [invalid-params]",
        "errorType": "invalid-params",
    }
    assert response.content == json.dumps(expected, separators=(",", ":")).encode()
    assert not Visitor.objects.exists()
    assert not Room.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # 1. the body must be an object
        ([], "must be object"),
        ("just a string", "must be object"),
        (5, "must be object"),
        (None, "must be object"),
        # 2. required, visitor first
        ({}, "must have required property 'visitor'"),
        ({"messages": M}, "must have required property 'visitor'"),
        ({"visitor": V}, "must have required property 'messages'"),
        # 3. extra top-level key, checked before looking inside
        ({"visitor": 1, "messages": 2, "extra": 3}, "must NOT have additional properties"),
        # 4. visitor
        ({"visitor": "x", "messages": M}, "must be object"),
        ({"visitor": ["x"], "messages": M}, "must be object"),
        ({"visitor": [{"token": "t"}], "messages": M}, "must be object"),
        ({"visitor": None, "messages": M}, "must be object"),
        ({"visitor": {}, "messages": M}, "must have required property 'token'"),
        ({"visitor": {"name": "A"}, "messages": M}, "must have required property 'token'"),
        (
            {"visitor": {"token": "t", "name": "A"}, "messages": M},
            "must NOT have additional properties",
        ),
        (
            {"visitor": {"token": "t", "email": "a@b.c"}, "messages": M},
            "must NOT have additional properties",
        ),
        ({"visitor": {"token": {}}, "messages": M}, "must be string"),
        ({"visitor": {"token": []}, "messages": M}, "must be string"),
        ({"visitor": {"token": ["a", "b"]}, "messages": M}, "must be string"),
        ({"visitor": {"token": [["a"]]}, "messages": M}, "must be string"),
        ({"visitor": {"token": [{}]}, "messages": M}, "must be string"),
        (
            {"visitor": {"token": "x" * 256}, "messages": M},
            "must NOT have more than 255 characters",
        ),
        # the visitor is checked before messages
        ({"visitor": {}, "messages": "oops"}, "must have required property 'token'"),
        # 5. messages
        ({"visitor": V, "messages": {}}, "must be array"),
        ({"visitor": V, "messages": {"msg": "a"}}, "must be array"),
        ({"visitor": V, "messages": []}, "must NOT have fewer than 1 items"),
        ({"visitor": V, "messages": "x"}, "must be object"),
        ({"visitor": V, "messages": 5}, "must be object"),
        ({"visitor": V, "messages": None}, "must be object"),
        ({"visitor": V, "messages": True}, "must be object"),
        ({"visitor": V, "messages": ["x"]}, "must be object"),
        ({"visitor": V, "messages": [[{"msg": "a"}]]}, "must be object"),
        ({"visitor": V, "messages": [{}]}, "must have required property 'msg'"),
        ({"visitor": V, "messages": [{"text": "a"}]}, "must have required property 'msg'"),
        (
            {"visitor": V, "messages": [{"msg": "a", "rid": "r"}]},
            "must NOT have additional properties",
        ),
        ({"visitor": V, "messages": [{"msg": {}}]}, "must be string"),
        ({"visitor": V, "messages": [{"msg": []}]}, "must be string"),
        (
            {"visitor": V, "messages": [{"msg": "x" * 5001}]},
            "must NOT have more than 5000 characters",
        ),
        # items in order: the first bad one wins
        (
            {"visitor": V, "messages": [{"msg": "ok"}, {}, {"msg": {}}]},
            "must have required property 'msg'",
        ),
        ({"visitor": V, "messages": [{"msg": "ok"}, "x", {}]}, "must be object"),
        # our storage limits: PostgreSQL cannot store NUL or lone surrogates
        (
            {"visitor": V, "messages": [{"msg": "a\x00b"}]},
            "must NOT contain NUL characters or unpaired surrogates",
        ),
        (
            {"visitor": {"token": "\x00"}, "messages": M},
            "must NOT contain NUL characters or unpaired surrogates",
        ),
    ],
)
def test_rule(post_messages: Any, body: Any, message: str) -> None:
    assert_invalid(post_messages(json.dumps(body)), message)


def test_too_many_messages(post_messages: Any) -> None:
    body = {"visitor": V, "messages": [{"msg": "m"}] * 1001}
    assert_invalid(post_messages(body), "must NOT have more than 1000 items")


def test_too_many_is_checked_before_items(post_messages: Any) -> None:
    body = {"visitor": V, "messages": [{}] * 1001}
    assert_invalid(post_messages(body), "must NOT have more than 1000 items")


@override_settings(DJANGO_LIVECHAT={"MAX_MESSAGES": 3, "MAX_MESSAGE_LENGTH": 10})
def test_limits_are_settings_read_at_call_time(post_messages: Any) -> None:
    assert_invalid(
        post_messages({"visitor": V, "messages": [{"msg": "m"}] * 4}),
        "must NOT have more than 3 items",
    )
    assert_invalid(
        post_messages({"visitor": V, "messages": [{"msg": "x" * 11}]}),
        "must NOT have more than 10 characters",
    )
    assert post_messages({"visitor": V, "messages": [{"msg": "x" * 10}] * 3}).status_code == 200


def test_limits_at_the_edge_are_accepted(post_messages: Any) -> None:
    response = post_messages({"visitor": V, "messages": [{"msg": "é" * 5000}] * 2})
    assert response.status_code == 200
    assert Message.objects.count() == 2


def test_length_counts_code_points_not_utf16_units(post_messages: Any) -> None:
    # Rocket.Chat's ajv counts characters with ucs2length: an emoji (a surrogate pair) is one.
    response = post_messages(json.dumps({"visitor": V, "messages": [{"msg": "😀" * 5000}]}))
    assert response.status_code == 200
    assert Message.objects.get().msg == "😀" * 5000


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("5", "5"),
        ("1.0", "1"),
        ("1.5", "1.5"),
        ("-0", "0"),
        ("-2.5", "-2.5"),
        ("1e21", "1e+21"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("123456789012345678901", "123456789012345680000"),
        ("1e400", "Infinity"),
        ("true", "true"),
        ("false", "false"),
        ("null", ""),
        ('["a"]', "a"),
        ("[5]", "5"),
        ("[true]", "true"),
        ("[null]", ""),
        ('""', ""),
    ],
)
def test_coercion_of_msg(post_messages: Any, raw: str, stored: str) -> None:
    body = '{"visitor":{"token":"t"},"messages":[{"msg":' + raw + "}]}"
    response = post_messages(body)
    assert response.status_code == 200, response.content
    assert response.json()["messages"][0]["msg"] == stored
    assert Message.objects.get().msg == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("42", "42"), ("4.2e-9", "4.2e-9"), ("false", "false"), ("null", ""), ('["tok"]', "tok")],
)
def test_coercion_of_token(post_messages: Any, raw: str, stored: str) -> None:
    body = '{"visitor":{"token":' + raw + '},"messages":[{"msg":"m"}]}'
    assert post_messages(body).status_code == 200
    assert Visitor.objects.get().token == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [('{"msg":"solo"}', ["solo"]), ('[{"msg":"a"},{"msg":"b"}]', ["a", "b"])],
)
def test_array_forms(post_messages: Any, raw: str, stored: list[str]) -> None:
    body = '{"visitor":{"token":"t"},"messages":' + raw + "}"
    response = post_messages(body)
    if raw.startswith("{"):
        assert_invalid(response, "must be array")
    else:
        assert [m["msg"] for m in response.json()["messages"]] == stored


def test_empty_strings_are_valid(post_messages: Any) -> None:
    response = post_messages({"visitor": {"token": ""}, "messages": [{"msg": ""}]})
    assert response.status_code == 200
    assert Visitor.objects.get().token == ""
    assert Message.objects.get().msg == ""


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{bad", "Invalid JSON: Expecting property name"),
        (b'{"visitor":', "Invalid JSON: Expecting value"),
        (b'{"a":NaN}', "Invalid JSON: NaN is not valid JSON"),
        (b'{"a":Infinity}', "Invalid JSON: Infinity is not valid JSON"),
        (b"\xff\xfe{}", "Invalid JSON: the body is not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "Invalid JSON: nested too deeply"),
    ],
)
def test_invalid_json_names_the_problem(post_messages: Any, raw: bytes, fragment: str) -> None:
    response = post_messages(raw)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["errorType"] == "invalid-params"
    assert body["error"].startswith(fragment)
    assert body["error"].endswith(" [invalid-params]")
    assert not Visitor.objects.exists()


@pytest.mark.parametrize("raw", [b"", b"   ", b"{}"])
def test_no_body_or_empty_object(post_messages: Any, raw: bytes) -> None:
    assert_invalid(post_messages(raw), "must have required property 'visitor'")


def test_no_body_without_content_type(api: Any) -> None:
    response = api.post("/api/v1/livechat/messages")
    assert_invalid(response, "must have required property 'visitor'")


def test_duplicate_keys_last_one_wins_like_json_parse(post_messages: Any) -> None:
    body = '{"visitor":{"token":"a","token":"b"},"messages":[{"msg":"x"}]}'
    assert post_messages(body).status_code == 200
    assert Visitor.objects.get().token == "b"


def test_charset_parameter_is_accepted(api: Any) -> None:
    response = api.generic(
        "POST",
        "/api/v1/livechat/messages",
        json.dumps({"visitor": V, "messages": M}),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 200


def test_other_content_types_are_refused_in_the_error_shape(api: Any) -> None:
    response = api.generic(
        "POST",
        "/api/v1/livechat/messages",
        "visitor=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json()["errorType"] == "error-unsupported-media-type"
    assert not Visitor.objects.exists()
