"""The agent list routes: GET livechat/rooms and GET livechat/messages.list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from django_livechat import services
from django_livechat.models import AuthToken, Message, Room
from tests.factories import AgentFactory, RoomFactory, UserFactory, VisitorFactory

pytestmark = pytest.mark.django_db

ROOMS_URL = "/api/v1/livechat/rooms"
MESSAGES_URL = "/api/v1/livechat/messages.list"
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def client_for(user: Any) -> APIClient:
    _token, raw = AuthToken.objects.create_token(user, name="lists")
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(user.pk))
    return client


def grant(user: Any, *codenames: str) -> Any:
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_livechat", codename__in=codenames
        )
    )
    return user


@pytest.fixture
def viewer() -> Any:
    return grant(UserFactory(username="viewer"), "view_room", "view_message")


@pytest.fixture
def api(viewer: Any) -> APIClient:
    return client_for(viewer)


def body(response: Any) -> Any:
    return json.loads(response.content)


@pytest.fixture
def rooms() -> dict[str, Room]:
    """Four rooms: two open, two closed, opened a day apart; one served by an agent."""
    agent = AgentFactory(username="served-by")
    made = {}
    for i, (name, status) in enumerate(
        [("alice", "open"), ("bob", "closed"), ("carol", "open"), ("dave", "closed")]
    ):
        visitor = VisitorFactory(token=f"tok-{name}", name=name.title(), department=f"d{i % 2}")
        room = RoomFactory(
            visitor=visitor,
            status=status,
            opened_at=T0 + timedelta(days=i),
            closed_at=T0 + timedelta(days=i, hours=1) if status == "closed" else None,
            last_message_at=T0 + timedelta(days=i, minutes=30),
            message_count=i,
            serving_agent=agent if name == "carol" else None,
        )
        made[name] = room
    made["alice"].visitor.livechat_data = {"plan": "gold"}
    made["alice"].visitor.save()
    return made


def names(data: Any) -> list[str]:
    return [room["fname"] for room in data["rooms"]]


# --- livechat/rooms --------------------------------------------------------------------------


def test_rooms_default_newest_first_with_paging_fields(api: APIClient, rooms: Any) -> None:
    response = api.get(ROOMS_URL)
    assert response.status_code == 200
    data = body(response)
    assert names(data) == ["Dave", "Carol", "Bob", "Alice"]
    assert (data["count"], data["offset"], data["total"], data["success"]) == (4, 0, 4, True)
    carol = data["rooms"][1]
    assert carol["_id"] == rooms["carol"].rid and carol["t"] == "l" and carol["open"] is True
    assert carol["servedBy"]["username"] == "served-by"
    assert carol["v"]["token"] == "tok-carol"
    dave = data["rooms"][0]
    assert "open" not in dave and dave["closedAt"] == "2026-01-13T13:00:00.000Z"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"open": "true"}, ["Carol", "Alice"]),
        ({"open": "false"}, ["Dave", "Bob"]),
        ({"token": "tok-bob"}, ["Bob"]),
        ({"roomName": "AR"}, ["Carol"]),
        ({"departmentId": "d1"}, ["Dave", "Bob"]),
        ({"departmentId[]": ["d0", "d1"]}, ["Dave", "Carol", "Bob", "Alice"]),
        (
            {"createdAt": '{"start":"2026-01-11T00:00:00Z","end":"2026-01-12T23:00:00Z"}'},
            ["Carol", "Bob"],
        ),
        ({"createdAt": '{"start":"2026-01-12"}'}, ["Dave", "Carol"]),
        ({"closedAt": '{"end":"2026-01-12T00:00:00.000Z"}'}, ["Bob"]),
        ({"lastMessageAt": '{"start":"2026-01-13T00:00:00Z"}'}, ["Dave"]),
        ({"customFields": '{"plan":"gold"}'}, ["Alice"]),
        ({"tags[]": "vip"}, []),
        ({"onhold": "true"}, []),
        ({"onhold": "false"}, ["Dave", "Carol", "Bob", "Alice"]),
        ({"sort": '{"msgs":1}'}, ["Alice", "Bob", "Carol", "Dave"]),
        ({"sort": '{"closedAt":-1}'}, ["Dave", "Bob", "Carol", "Alice"]),
        ({"count": "2", "offset": "1"}, ["Carol", "Bob"]),
    ],
)
def test_rooms_filters(api: APIClient, rooms: Any, params: Any, expected: list[str]) -> None:
    response = api.get(ROOMS_URL, params)
    assert response.status_code == 200, response.content
    assert names(body(response)) == expected


def test_rooms_agents_filter(api: APIClient, rooms: Any) -> None:
    agent_id = str(rooms["carol"].serving_agent_id)
    assert names(body(api.get(ROOMS_URL, {"agents[]": agent_id}))) == ["Carol"]
    assert names(body(api.get(ROOMS_URL, {"agents": agent_id}))) == ["Carol"]


def test_rooms_total_counts_all_pages(api: APIClient, rooms: Any) -> None:
    data = body(api.get(ROOMS_URL, {"count": 1, "offset": 3}))
    assert (data["count"], data["offset"], data["total"]) == (1, 3, 4)
    assert names(data) == ["Alice"]


def test_rooms_page_size_default_and_cap(api: APIClient, settings: Any) -> None:
    for _ in range(6):
        RoomFactory()
    settings.DJANGO_LIVECHAT = {"DEFAULT_PAGE_SIZE": 2, "MAX_PAGE_SIZE": 4}
    assert body(api.get(ROOMS_URL))["count"] == 2
    assert body(api.get(ROOMS_URL, {"count": 0}))["count"] == 2
    assert body(api.get(ROOMS_URL, {"count": 100}))["count"] == 4


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"open": "maybe"}, {"error": 'The "open" query parameter must be "true" or "false".'}),
        (
            {"createdAt": "not json"},
            {"error": 'The "createdAt" query parameter must be a JSON object {"start", "end"}.'},
        ),
        (
            {"createdAt": '{"start":"someday"}'},
            {"error": 'The "createdAt.start" query parameter must be a valid date.'},
        ),
        (
            {"closedAt": '{"end":"2026-13-45"}'},
            {"error": 'The "closedAt.end" query parameter must be a valid date.'},
        ),
        ({"agents": "abc"}, {"error": 'The "agents" query parameter must hold user ids.'}),
        (
            {"customFields": "[1]"},
            {"error": 'The "customFields" query parameter must be a valid JSON.'},
        ),
        (
            {"count": "ten"},
            {"error": "must be number [invalid-params]", "errorType": "invalid-params"},
        ),
        ({"offset": "-5"}, {"error": "must be >= 0 [invalid-params]"}),
        ({"query": "{}"}, {"error": "must NOT have additional properties [invalid-params]"}),
        ({"sort": '{"ts":2}'}, {"errorType": "error-invalid-sort"}),
        ({"sort": '{"v.token":1}'}, {"errorType": "error-invalid-sort"}),
        ({"sort": "[]"}, {"errorType": "error-invalid-sort"}),
    ],
)
def test_rooms_invalid_values_are_400(api: APIClient, rooms: Any, params: Any, error: Any) -> None:
    response = api.get(ROOMS_URL, params)
    assert response.status_code == 400
    data = body(response)
    assert data["success"] is False
    for key, value in error.items():
        assert data[key] == value


def test_rooms_need_authentication(rooms: Any) -> None:
    response = APIClient().get(ROOMS_URL)
    assert response.status_code == 401
    assert body(response)["error"] == "You must be logged in to do this."


def test_rooms_permissions(rooms: Any) -> None:
    nobody = client_for(UserFactory(username="plain"))
    assert nobody.get(ROOMS_URL).status_code == 403
    poster = AgentFactory(username="poster")  # may post, may list only the rooms it serves
    as_poster = client_for(poster)
    assert as_poster.get(ROOMS_URL).status_code == 403
    assert (
        as_poster.get(ROOMS_URL, {"agents[]": str(rooms["carol"].serving_agent_id)}).status_code
        == 403
    )
    own = as_poster.get(ROOMS_URL, {"agents[]": str(poster.pk)})
    assert own.status_code == 200 and body(own)["rooms"] == []
    room = rooms["alice"]
    services.reply_as_agent(room=room, agent=poster, text="I serve you")
    assert names(body(as_poster.get(ROOMS_URL, {"agents[]": str(poster.pk)}))) == ["Alice"]


def test_rooms_query_count_is_constant(api: APIClient, rooms: Any) -> None:
    api.get(ROOMS_URL)  # warm up: the token's last-used time is written once
    with CaptureQueriesContext(connection) as one:
        assert body(api.get(ROOMS_URL, {"count": 1}))["count"] == 1
    for _ in range(10):
        RoomFactory(
            serving_agent=AgentFactory(), closed_by=UserFactory(), status="closed", closed_at=T0
        )
    with CaptureQueriesContext(connection) as many:
        assert body(api.get(ROOMS_URL, {"count": 14}))["count"] == 14
    assert len(one) == len(many)


# --- livechat/messages.list ------------------------------------------------------------------


@pytest.fixture
def conversation() -> dict[str, Any]:
    visitor_room = services.post_messages(token="conv", texts=["hello there", "anyone?"]).room
    agent = AgentFactory(username="helper")
    reply = services.reply_as_agent(room=visitor_room, agent=agent, text="Hi, how can I help")
    other = services.post_messages(token="other", texts=["other room"]).room
    hidden = Message.objects.get(msg="anyone?")
    Message.objects.filter(pk=hidden.pk).update(hidden_at=services.now_ms())
    return {"room": visitor_room, "agent": agent, "reply": reply, "other": other}


def msgs(data: Any) -> list[str]:
    return [m["msg"] for m in data["messages"]]


def test_messages_list(api: APIClient, conversation: Any) -> None:
    data = body(api.get(MESSAGES_URL))
    assert data["success"] is True and data["total"] == 4 and data["count"] == 4
    assert msgs(data) == ["other room", "Hi, how can I help", "anyone?", "hello there"]
    hidden = [m for m in data["messages"] if m["msg"] == "anyone?"][0]
    assert hidden["hidden"] is True
    reply = data["messages"][1]
    assert reply["u"]["username"] == "helper" and reply["rid"] == conversation["room"].rid
    assert "token" not in data["messages"][0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"token": "conv"}, ["Hi, how can I help", "anyone?", "hello there"]),
        ({"author": "agent"}, ["Hi, how can I help"]),
        ({"author": "visitor", "hidden": "false"}, ["other room", "hello there"]),
        ({"hidden": "true"}, ["anyone?"]),
        ({"searchText": "HELP"}, ["Hi, how can I help"]),
        ({"sort": '{"ts":1}', "count": 2}, ["hello there", "anyone?"]),
        ({"ts": '{"start":"2000-01-01T00:00:00Z","end":"2001-01-01"}'}, []),
    ],
)
def test_messages_list_filters(
    api: APIClient, conversation: Any, params: Any, expected: list[str]
) -> None:
    response = api.get(MESSAGES_URL, params)
    assert response.status_code == 200, response.content
    assert msgs(body(response)) == expected


def test_messages_list_room_and_agent_filters(api: APIClient, conversation: Any) -> None:
    rid = conversation["room"].rid
    assert len(body(api.get(MESSAGES_URL, {"roomId": rid}))["messages"]) == 3
    agent = str(conversation["agent"].pk)
    assert msgs(body(api.get(MESSAGES_URL, {"agents[]": agent}))) == ["Hi, how can I help"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"author": "robot"},
            'The "author" query parameter must be one of visitor, agent, system.',
        ),
        ({"hidden": "yes"}, 'The "hidden" query parameter must be "true" or "false".'),
        ({"ts": '{"start":1}'}, 'The "ts.start" query parameter must be a valid date.'),
        ({"rid": "x"}, "must NOT have additional properties [invalid-params]"),
    ],
)
def test_messages_list_invalid_values(
    api: APIClient, conversation: Any, params: Any, message: str
) -> None:
    response = api.get(MESSAGES_URL, params)
    assert response.status_code == 400
    assert body(response)["error"] == message


def test_messages_list_needs_view_message(conversation: Any) -> None:
    assert client_for(AgentFactory(username="poster2")).get(MESSAGES_URL).status_code == 403
    rooms_only = grant(UserFactory(username="rooms-only"), "view_room")
    assert client_for(rooms_only).get(MESSAGES_URL).status_code == 403


def test_messages_list_query_count_is_constant(api: APIClient, conversation: Any) -> None:
    api.get(MESSAGES_URL)
    with CaptureQueriesContext(connection) as one:
        assert body(api.get(MESSAGES_URL, {"count": 1}))["count"] == 1
    for i in range(5):
        services.reply_as_agent(room=conversation["other"], agent=AgentFactory(), text=f"r{i}")
    with CaptureQueriesContext(connection) as many:
        assert body(api.get(MESSAGES_URL, {"count": 9}))["count"] == 9
    assert len(one) == len(many)
