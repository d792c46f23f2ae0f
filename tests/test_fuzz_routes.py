"""Generated bad input against every route (hypothesis): never a 5xx, always the API's error
shape, and a rejected request writes nothing.

Bodies are arbitrary JSON built around each route's own keys (so that generation reaches past
the first check), mixed with real tokens, room ids and message ids; query strings and path
segments are arbitrary text, percent-encoded as a client would.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_livechat import services
from django_livechat.models import AuthToken, Message, Room, Visitor
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = [
    "token", "rid", "msg", "_id", "agent", "visitor", "messages", "name", "email", "phone",
    "department", "customFields", "key", "value", "overwrite", "username", "agentId",
    "count", "offset", "limit", "sort", "end", "ls", "searchText", "open", "agents",
    "agents[]", "createdAt", "closedAt", "lastMessageAt", "roomName", "customFields",
    "departmentId", "onhold", "queued", "tags[]", "units", "fields", "roomId", "author",
    "ts", "hidden", "query",
]  # fmt: skip
REAL = {"token": "fuzz-visitor", "other": "fuzz-other"}

texts = st.text(max_size=40) | st.sampled_from(
    [
        "",
        " ",
        "fuzz-visitor",
        "fuzz-other",
        "true",
        "false",
        "null",
        "1",
        "-1",
        "1e400",
        "NaN",
        '{"ts":-1}',
        '{"ts":2}',
        '{"start":"2026-01-01"}',
        '{"start":"x"}',
        "[]",
        "{}",
        "\x00",
        "%00",
        "a/b",
        "+",
        "&",
        "2026-02-30",
        "9" * 30,
    ]  # fmt: skip
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
bodies = json_values | st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
query_values = texts | st.lists(texts, min_size=2, max_size=3)
queries = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), query_values, max_size=6)


def encode_query(query: dict[str, Any]) -> str:
    pairs = []
    for key, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


@pytest.fixture
def world(settings_override: Any) -> dict[str, Any]:
    """Two visitors with rooms and messages, an agent with every permission, and their ids."""
    mine = services.post_messages(token=REAL["token"], texts=["one", "two"])
    theirs = services.post_messages(token=REAL["other"], texts=["three"])
    agent = AgentFactory(username="fuzz-agent", is_superuser=True)
    services.reply_as_agent(room=mine.room, agent=agent, text="reply")
    _token, raw = AuthToken.objects.create_token(agent, name="fuzz")
    visitor_client = APIClient()
    agent_client = APIClient()
    agent_client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
    return {
        "rids": [mine.room.rid, theirs.room.rid],
        "ids": [m.public_id for m in mine.messages + theirs.messages],
        "visitor": visitor_client,
        "agent": agent_client,
    }


@pytest.fixture
def settings_override(settings: Any) -> None:
    # No throttling: hypothesis sends hundreds of requests a second.
    settings.DJANGO_LIVECHAT = {
        "THROTTLE_RATES": {"user": None, "visitor": None, "auth_failure": None}
    }


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(
            Visitor.objects.values_list(
                "token", "name", "email", "phone", "department", "is_blocked"
            )
        ),
        sorted(str(v) for v in Visitor.objects.values_list("livechat_data", flat=True)),
        sorted(Room.objects.values_list("rid", "status", "message_count")),
        sorted(Message.objects.values_list("public_id", "msg", "edited_at", "hidden_at")),
    )


def check(response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.content
    data = json.loads(response.content)
    assert isinstance(data, dict)
    if response.status_code >= 400:
        assert data.get("success") is False or data.get("status") == "error", data
        assert isinstance(data.get("error", data.get("message")), str)
        assert snapshot() == before, "a rejected request wrote something"
    else:
        assert data.get("success") is True or data.get("status") == "success", data


def with_real_values(draw: Any, body: Any, world: dict[str, Any]) -> Any:
    """Sometimes put real tokens, room ids and message ids into a generated object."""
    if isinstance(body, dict) and draw(st.booleans()):
        body = dict(body)
        body["token"] = draw(st.sampled_from([REAL["token"], REAL["other"], "fuzz-none"]))
        if draw(st.booleans()):
            body["rid"] = draw(st.sampled_from(world["rids"]))
    return body


VISITOR_BODY_ROUTES = [
    ("post", "/api/v1/livechat/visitor"),
    ("post", "/api/v1/livechat/room.close"),
    ("post", "/api/v1/livechat/message"),
    ("post", "/api/v1/livechat/messages"),
]


@pytest.mark.parametrize(("method", "path"), VISITOR_BODY_ROUTES)
def test_bodies(world: dict[str, Any], method: str, path: str) -> None:
    client = world["agent"] if path.endswith("/messages") else world["visitor"]

    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        body = with_real_values(data.draw, data.draw(bodies), world)
        if path.endswith("/visitor") and isinstance(body, dict) and data.draw(st.booleans()):
            body = {"visitor": body}
        before = snapshot()
        response = client.generic(
            method.upper(), path, json.dumps(body), content_type="application/json"
        )
        check(response, before)

    run()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_message_id_routes(world: dict[str, Any], method: str) -> None:
    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        message_id = data.draw(st.sampled_from(world["ids"]) | st.text(min_size=1, max_size=20))
        url = f"/api/v1/livechat/message/{quote(message_id, safe='')}"
        before = snapshot()
        if method == "get":
            query = with_real_values(data.draw, data.draw(queries), world)
            response = world["visitor"].get(f"{url}?{encode_query(query)}")
        else:
            body = with_real_values(data.draw, data.draw(bodies), world)
            response = world["visitor"].generic(
                method.upper(), url, json.dumps(body), content_type="application/json"
            )
        check(response, before)

    run()


@pytest.mark.parametrize(
    ("client_name", "path"),
    [
        ("visitor", "/api/v1/livechat/room"),
        ("agent", "/api/v1/livechat/rooms"),
        ("agent", "/api/v1/livechat/messages.list"),
        ("visitor", "/api/v1/livechat/messages.history/{rid}"),
    ],
)
def test_queries(world: dict[str, Any], client_name: str, path: str) -> None:
    client = world[client_name]

    @FUZZ
    @given(data=st.data())
    def run(data: Any) -> None:
        url = path
        if "{rid}" in path:
            rid = data.draw(st.sampled_from(world["rids"]) | st.text(min_size=1, max_size=20))
            url = path.replace("{rid}", quote(rid, safe=""))
        query = with_real_values(data.draw, data.draw(queries), world)
        before = snapshot()
        check(client.get(f"{url}?{encode_query(query)}"), before)

    run()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_visitor_token_paths(world: dict[str, Any], method: str) -> None:
    @FUZZ
    @given(token=st.text(min_size=1, max_size=40))
    def run(token: str) -> None:
        if method == "DELETE" and token in REAL.values():
            return  # erasing the shared fixtures would change what later examples see
        url = f"/api/v1/livechat/visitor/{quote(token, safe='', errors='surrogatepass')}"
        before = snapshot()
        check(world["visitor"].generic(method, url), before)

    run()


def test_non_json_bodies_are_rejected_without_writes(world: dict[str, Any]) -> None:
    @FUZZ
    @given(raw=st.binary(max_size=64), path=st.sampled_from(VISITOR_BODY_ROUTES))
    def run(raw: bytes, path: tuple[str, str]) -> None:
        client = world["agent"] if path[1].endswith("/messages") else world["visitor"]
        before = snapshot()
        response = client.generic("POST", path[1], raw, content_type="application/json")
        check(response, before)

    run()
