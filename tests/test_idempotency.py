"""``Idempotency-Key`` on ``POST /api/v1/livechat/messages`` (SPEC §5)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from django_livechat.idempotency import visitor_scope
from django_livechat.models import AuthToken, IdempotencyKey, Message, Room, Visitor
from tests.factories import AgentFactory, RoomFactory, VisitorFactory

URL = "/api/v1/livechat/messages"


def body(token: str, *texts: str) -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": t} for t in texts]}


def post(api: APIClient, data: Any, key: str | None = None) -> Any:
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    if isinstance(data, str):
        return api.generic("POST", URL, data, content_type="application/json", **extra)
    return api.post(URL, data, format="json", **extra)


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]


@pytest.mark.django_db
def test_retry_with_same_key_and_body_replays_the_reply_and_writes_nothing(api: APIClient) -> None:
    first = post(api, body("tok", "hello", "world"), key="key-1")
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    with CaptureQueriesContext(connection) as queries:
        again = post(api, body("tok", "hello", "world"), key="key-1")
    assert again.status_code == 200
    assert again.content == first.content  # same body, byte for byte (same ts, same order)
    assert again["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert writes(queries) == []
    assert Message.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_same_json_with_other_whitespace_and_key_order_is_the_same_request(
    api: APIClient,
) -> None:
    first = post(api, '{"visitor":{"token":"t"},"messages":[{"msg":"a"}]}', key="k")
    again = post(api, '{ "messages": [ {"msg": "a"} ],\n "visitor": {"token": "t"} }', key="k")
    assert again.status_code == 200
    assert again.content == first.content
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused_with_422(api: APIClient) -> None:
    assert post(api, body("tok", "one"), key="k").status_code == 200
    response = post(api, body("tok", "two"), key="k")
    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "error": "This Idempotency-Key was already used with another request "
        "[error-idempotency-key-reused]",
        "errorType": "error-idempotency-key-reused",
    }
    assert list(Message.objects.values_list("msg", flat=True)) == ["one"]


@pytest.mark.django_db
def test_without_the_header_every_post_is_stored(api: APIClient) -> None:
    post(api, body("tok", "x"))
    post(api, body("tok", "x"))
    assert Message.objects.count() == 2
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_keys_are_scoped_to_the_api_user(api: APIClient) -> None:
    other = AgentFactory()
    _t, raw = AuthToken.objects.create_token(other)
    other_api = APIClient()
    other_api.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(other.pk))
    assert post(api, body("tok", "x"), key="shared").status_code == 200
    response = post(other_api, body("tok", "x"), key="shared")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Message.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


@pytest.mark.django_db
def test_an_expired_key_may_be_used_again(api: APIClient, settings: Any) -> None:
    settings.DJANGO_LIVECHAT = {"IDEMPOTENCY_KEY_LIFETIME": 60}
    post(api, body("tok", "x"), key="k")
    record = IdempotencyKey.objects.get()
    assert timedelta(seconds=59) < record.expires_at - record.created_at <= timedelta(seconds=60)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(api, body("tok", "other body"), key="k")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Message.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_request_stores_no_key(api: APIClient) -> None:
    bad = post(api, {"visitor": {"token": "tok"}}, key="k")
    assert bad.status_code == 400
    assert IdempotencyKey.objects.count() == 0
    good = post(api, body("tok", "fixed"), key="k")
    assert good.status_code == 200
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_a_blocked_visitor_error_is_not_stored(api: APIClient) -> None:
    post(api, body("tok", "before"))
    Visitor.objects.update(is_blocked=True)
    assert post(api, body("tok", "x"), key="k").status_code == 403
    Visitor.objects.update(is_blocked=False)
    assert post(api, body("tok", "x"), key="k").status_code == 200
    assert Message.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_400_and_nothing_is_written(api: APIClient, key: str) -> None:
    response = post(api, body("tok", "x"), key=key)
    assert response.status_code == 400
    assert response.json()["errorType"] == "error-invalid-idempotency-key"
    assert Message.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_authentication_comes_before_the_key() -> None:
    response = post(APIClient(), body("tok", "x"), key="k")
    assert response.status_code == 401
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_the_key_is_written_with_the_messages_and_rolls_back_with_them(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_livechat import services

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_insert_messages", explode)
    api.raise_request_exception = False
    response = post(api, body("tok", "x"), key="k")
    assert response.status_code == 500
    assert IdempotencyKey.objects.count() == 0
    assert Visitor.objects.count() == 0
    assert Room.objects.count() == 0


@pytest.mark.django_db
def test_clear_command_deletes_expired_keys_only(api: APIClient) -> None:
    post(api, body("tok", "a"), key="old")
    post(api, body("tok", "b"), key="new")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now())
    out = StringIO()
    call_command("livechat_clear_idempotency_keys", stdout=out)
    assert "Deleted 1 expired idempotency key(s)." in out.getvalue()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_visitor_scope_does_not_store_the_token() -> None:
    scope = visitor_scope("secret-token")
    assert "secret-token" not in scope
    assert scope == visitor_scope("secret-token") != visitor_scope("other")
    assert len(scope) <= IdempotencyKey._meta.get_field("scope").max_length  # type: ignore[operator]


THREADS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_store_once() -> None:
    assert connection.vendor == "postgresql"
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    barrier = threading.Barrier(THREADS)

    def send(i: int) -> tuple[int, bytes]:
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
        try:
            barrier.wait(timeout=30)
            response = post(client, body("race", "one", "two", "three"), key="same-key")
            return response.status_code, response.content
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(send, range(THREADS)))

    # The losers waited for the winner's transaction and replayed its reply.
    statuses = [s for s, _ in results]
    assert statuses == [200] * THREADS, results
    assert len({content for _, content in results}) == 1
    assert list(Message.objects.order_by("ts").values_list("msg", flat=True)) == [
        "one",
        "two",
        "three",
    ]
    assert IdempotencyKey.objects.count() == 1
    stored = IdempotencyKey.objects.get()
    assert json.loads(stored.response_body) == json.loads(results[0][1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_and_different_bodies() -> None:
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    barrier = threading.Barrier(THREADS)

    def send(i: int) -> int:
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
        try:
            barrier.wait(timeout=30)
            return int(post(client, body("race", f"body {i}"), key="k").status_code)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = sorted(pool.map(send, range(THREADS)))
    assert statuses == [200] + [422] * (THREADS - 1)
    assert Message.objects.count() == 1


VISITOR_MESSAGE_URL = "/api/v1/livechat/message"


@pytest.mark.django_db
def test_visitor_message_route_replays_per_visitor_token() -> None:
    room = RoomFactory(visitor=VisitorFactory(token="visitor-a"))
    other = RoomFactory(visitor=VisitorFactory(token="visitor-b"))
    client = APIClient()

    def send(token: str, rid: str, msg: str, key: str) -> Any:
        return client.post(
            VISITOR_MESSAGE_URL,
            {"token": token, "rid": rid, "msg": msg},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first = send("visitor-a", room.rid, "hello", "k1")
    assert first.status_code == 200, first.content
    again = send("visitor-a", room.rid, "hello", "k1")
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert send("visitor-a", room.rid, "changed", "k1").status_code == 422
    # the same key for another visitor token is another key
    assert send("visitor-b", other.rid, "hello", "k1").status_code == 200
    assert Message.objects.filter(room=room).count() == 1
    assert Message.objects.filter(room=other).count() == 1
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {
        visitor_scope("visitor-a"),
        visitor_scope("visitor-b"),
    }
