"""Interoperability: the Python client ``rocketchat-API`` against a live server of this app.

Every client method that maps to our routes is driven over real HTTP and its replies checked.
The client pages lists with ``offset`` + ``count`` and stops only at a page shorter than
``count``: against a server that ignored those it would loop forever, so every listing here is
bounded (``max_count``) and every request has a timeout.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
)
from rocketchat_API.rocketchat import RocketChat

from django_livechat import services
from django_livechat.models import Message, Room, Visitor
from tests.factories import AgentFactory, RoomFactory, UserFactory, VisitorFactory

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PASSWORD = "secret-password"  # the factories' password
TIMEOUT = 10  # seconds, for every request
BOUND = 1000  # most items any listing here may yield


@pytest.fixture
def connect(live_server: Any) -> Iterator[Any]:
    """``connect(user=None)``: a client for the live server, logged in when ``user`` is given."""
    clients: list[RocketChat] = []

    def make(user: Any = None) -> RocketChat:
        if user is None:
            client = RocketChat(server_url=live_server.url, timeout=TIMEOUT)
        else:
            client = RocketChat(
                user.username, PASSWORD, server_url=live_server.url, timeout=TIMEOUT
            )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


def grant(user: Any, *codenames: str) -> Any:
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_livechat", codename__in=codenames
        )
    )
    return user


# --- accounts and livechat/messages (the foundation) -----------------------------------------


def test_login_post_messages_info_me(connect: Any) -> None:
    agent = AgentFactory(username="integration")
    rocket = connect(agent)
    assert rocket.headers["X-User-Id"] == str(agent.pk)
    assert rocket.headers["X-Auth-Token"]

    reply = rocket.call_api_post(
        "livechat/messages",
        visitor={"token": "interop-visitor"},
        messages=[{"msg": "first"}, {"msg": "second"}],
    )
    assert reply["success"] is True
    username = Visitor.objects.get(token="interop-visitor").username
    assert [m["msg"] for m in reply["messages"]] == ["first", "second"]
    assert {m["username"] for m in reply["messages"]} == {username}
    assert all(m["ts"].endswith("Z") and len(m["ts"]) == 24 for m in reply["messages"])
    assert list(Message.objects.order_by("ts").values_list("msg", flat=True)) == [
        "first",
        "second",
    ]

    info = rocket.info()
    assert info["success"] is True and info["version"]
    me = rocket.me()
    assert me["success"] is True
    assert me["username"] == "integration" and me["_id"] == str(agent.pk)


def test_bad_password_and_bad_body_are_client_exceptions(connect: Any, live_server: Any) -> None:
    agent = AgentFactory(username="integration2")
    with pytest.raises(RocketAuthenticationException):
        RocketChat(agent.username, "wrong", server_url=live_server.url, timeout=TIMEOUT)
    rocket = connect(agent)
    with pytest.raises(RocketApiException) as caught:
        rocket.call_api_post("livechat/messages", visitor={"token": "x"})
    assert caught.value.status_code == 400
    assert caught.value.error == "must have required property 'messages' [invalid-params]"
    assert caught.value.error_type == "invalid-params"
    assert not Visitor.objects.exists()


# --- the visitor routes ----------------------------------------------------------------------


def test_visitor_room_message_history(connect: Any) -> None:
    rocket = connect()  # visitor routes: no login at all
    registered = rocket.livechat_register_visitor(
        "widget-token", visitor={"name": "Ann", "email": "ann@example.org"}
    )
    assert registered["success"] is True
    visitor = registered["visitor"]
    assert visitor["token"] == "widget-token" and visitor["name"] == "Ann"
    assert visitor["visitorEmails"] == [{"address": "ann@example.org"}]
    assert visitor["username"].startswith("guest-")

    fetched = rocket.livechat_get_visitor("widget-token")
    assert fetched["visitor"]["_id"] == visitor["_id"]

    room = rocket.livechat_room("widget-token")
    assert room["success"] is True and room["newRoom"] is True
    rid = room["room"]["_id"]
    assert rocket.livechat_room("widget-token")["newRoom"] is False

    sent = rocket.livechat_message("widget-token", rid, "hello")
    assert sent["success"] is True
    assert sent["message"]["msg"] == "hello" and sent["message"]["rid"] == rid
    assert sent["message"]["u"]["username"] == visitor["username"]
    again = rocket.livechat_message("widget-token", rid, "hello", _id=sent["message"]["_id"])
    assert again["message"] == sent["message"]
    assert Message.objects.filter(room__rid=rid).count() == 1

    history = list(rocket.livechat_messages_history(rid, "widget-token", max_count=BOUND))
    assert [m["_id"] for m in history] == [sent["message"]["_id"]]


def test_history_pages_past_50(connect: Any) -> None:
    rocket = connect()
    rocket.livechat_register_visitor("long-chat")
    rid = rocket.livechat_room("long-chat")["room"]["_id"]
    room = Room.objects.get(rid=rid)
    stored = services.append_messages(room, [f"m{i:03d}" for i in range(123)])
    items = list(rocket.livechat_messages_history(rid, "long-chat", max_count=BOUND))
    assert len(items) == 123  # three pages of 50, 50 and 23
    assert [m["_id"] for m in items] == [m.public_id for m in reversed(stored)]
    # A smaller page size and a start offset are honoured too.
    some = list(rocket.livechat_messages_history(rid, "long-chat", count=20, offset=100))
    assert [m["msg"] for m in some] == [f"m{i:03d}" for i in range(22, -1, -1)]


def test_visitor_errors_reach_the_client(connect: Any) -> None:
    rocket = connect()
    with pytest.raises(RocketApiException) as unknown:
        rocket.livechat_get_visitor("nobody")
    assert unknown.value.status_code == 400
    assert unknown.value.response_json == {
        "success": False,
        "error": "[invalid-token]",
        "errorType": "invalid-token",
    }
    rocket.livechat_register_visitor("someone")
    other = VisitorFactory()
    foreign = RoomFactory(visitor=other)
    with pytest.raises(RocketApiException) as intruding:
        rocket.livechat_message("someone", foreign.rid, "hi")
    assert intruding.value.response_json == {"success": False, "error": "invalid-room"}
    with pytest.raises(RocketApiException) as history:
        next(iter(rocket.livechat_messages_history(foreign.rid, "someone", max_count=1)))
    assert history.value.response_json == {"success": False, "error": "invalid-room"}
    assert not Message.objects.exists()


# --- the agent list --------------------------------------------------------------------------


def test_livechat_rooms_pages_and_filters(connect: Any) -> None:
    viewer = grant(UserFactory(username="supervisor"), "view_room")
    agent = AgentFactory(username="served")
    for i in range(130):
        RoomFactory(serving_agent=agent if i % 10 == 0 else None)
    rocket = connect(viewer)

    rooms = list(rocket.livechat_rooms(max_count=BOUND))
    assert len(rooms) == 130
    assert len({room["_id"] for room in rooms}) == 130
    assert rooms == sorted(rooms, key=lambda r: r["ts"], reverse=True)

    served = list(rocket.livechat_rooms(agents=[str(agent.pk)], max_count=BOUND))
    assert len(served) == 13 and {r["servedBy"]["username"] for r in served} == {"served"}

    closed = list(rocket.livechat_rooms(open="false", max_count=BOUND))
    assert closed == []

    # The raw reply carries Rocket.Chat's paging fields.
    page = rocket.call_api_get("livechat/rooms", offset=120, count=50)
    assert (page["count"], page["offset"], page["total"]) == (10, 120, 130)

    bounded = list(itertools.islice(rocket.livechat_rooms(count=7), 15))
    assert len(bounded) == 15


def test_livechat_rooms_needs_permission(connect: Any) -> None:
    rocket = connect(UserFactory(username="nobody-special"))
    with pytest.raises(RocketApiException) as caught:
        list(rocket.livechat_rooms(max_count=BOUND))
    assert caught.value.status_code == 403
    assert caught.value.error_type == "error-unauthorized"
