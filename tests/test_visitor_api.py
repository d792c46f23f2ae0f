"""The visitor-token routes: livechat/visitor, livechat/room, livechat/room.close,
livechat/message, livechat/message/<_id>, livechat/messages.history/<rid>."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from django_livechat import services
from django_livechat.models import Message, Room, Visitor
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

VISITOR_URL = "/api/v1/livechat/visitor"
ROOM_URL = "/api/v1/livechat/room"
CLOSE_URL = "/api/v1/livechat/room.close"
MESSAGE_URL = "/api/v1/livechat/message"
# Tokens a client must percent-encode: "+", "/", "&", "?", "#", "%", spaces, non-ASCII.
AWKWARD_TOKENS = ["a+b", "a/b/c", "a&b=c", "with space", "q?x#y", "100%", "ünï ☃", "+/&= "]


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def body(response: Any) -> Any:
    return json.loads(response.content)


def register(client: APIClient, token: str, **fields: Any) -> Any:
    return client.post(VISITOR_URL, {"visitor": {"token": token, **fields}}, format="json")


def open_room(client: APIClient, token: str) -> str:
    response = client.get(ROOM_URL, {"token": token})
    assert response.status_code == 200, response.content
    return str(body(response)["room"]["_id"])


def post_message(client: APIClient, token: str, rid: str, msg: str, **extra: Any) -> Any:
    return client.post(
        MESSAGE_URL, {"token": token, "rid": rid, "msg": msg, **extra}, format="json"
    )


# --- POST livechat/visitor -------------------------------------------------------------------


def test_register_visitor_replies_rocketchat_visitor(client: APIClient) -> None:
    response = register(
        client,
        "tok-1",
        name="Ann",
        email="Ann@Example.org",
        phone="+441234",
        department="sales",
        customFields=[{"key": "plan", "value": "gold", "overwrite": False}],
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = body(response)
    assert data["success"] is True
    assert list(data)[-1] == "success"
    visitor = data["visitor"]
    stored = Visitor.objects.get(token="tok-1")
    assert visitor["_id"] == str(stored.pk)
    assert visitor["token"] == "tok-1"
    assert visitor["username"] == stored.username
    assert visitor["username"].startswith("guest-")
    assert visitor["name"] == "Ann"
    assert visitor["visitorEmails"] == [{"address": "ann@example.org"}]
    assert visitor["phone"] == [{"phoneNumber": "+441234"}]
    assert visitor["department"] == "sales"
    assert visitor["livechatData"] == {"plan": "gold"}
    assert visitor["ts"].endswith("Z") and len(visitor["ts"]) == 24


def test_register_again_updates_only_given_fields(client: APIClient) -> None:
    register(client, "tok-2", name="Ann", email="ann@example.org")
    first = Visitor.objects.get(token="tok-2")
    response = register(
        client,
        "tok-2",
        phone="555",
        name="",
        customFields=[{"key": "plan", "value": "gold", "overwrite": True}],
    )
    assert response.status_code == 200
    visitor = Visitor.objects.get(token="tok-2")
    assert visitor.pk == first.pk and visitor.username == first.username
    assert (visitor.name, visitor.email, visitor.phone) == ("Ann", "ann@example.org", "555")
    assert Visitor.objects.count() == 1


def test_custom_field_overwrite_false_keeps_stored_value(client: APIClient) -> None:
    register(client, "tok-3", customFields=[{"key": "k", "value": "one", "overwrite": True}])
    register(client, "tok-3", customFields=[{"key": "k", "value": "two", "overwrite": False}])
    assert Visitor.objects.get(token="tok-3").livechat_data == {"k": "one"}
    register(client, "tok-3", customFields=[{"key": "k", "value": "three", "overwrite": True}])
    assert Visitor.objects.get(token="tok-3").livechat_data == {"k": "three"}


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, {"success": False, "error": "Match error: Missing key 'visitor'"}),
        ([], {"success": False, "error": "Match error: Expected plain object"}),
        (
            {"visitor": {"token": "t"}, "extra": 1},
            {"success": False, "error": "Match error: Unknown key in field extra"},
        ),
        (
            {"visitor": "t"},
            {
                "success": False,
                "error": "Match error: Expected object, got string in field visitor",
            },
        ),
        (
            {"visitor": {"name": "x"}},
            {"success": False, "error": "Match error: Missing key 'token' in field visitor"},
        ),
        (
            {"visitor": {"token": 5}},
            {
                "success": False,
                "error": "Match error: Expected string, got number in field visitor.token",
            },
        ),
        (
            {"visitor": {"token": "t", "customFields": [{"key": "k", "value": "v"}]}},
            {
                "success": False,
                "error": "Match error: Missing key 'overwrite' in field visitor.customFields[0]",
            },
        ),
        (
            {"visitor": {"token": "  "}},
            {
                "success": False,
                "error": "Token cannot be empty [error-invalid-token]",
                "errorType": "error-invalid-token",
            },
        ),
        (
            {"visitor": {"token": "t", "email": "not-an-email"}},
            {
                "success": False,
                "error": "Invalid email [error-invalid-email]",
                "errorType": "error-invalid-email",
            },
        ),
        (
            {"visitor": {"token": "t", "name": "x" * 256}},
            {
                "success": False,
                "error": "must NOT have more than 255 characters [invalid-params]",
                "errorType": "invalid-params",
            },
        ),
    ],
)
def test_register_visitor_rejects_bad_bodies(client: APIClient, payload: Any, error: Any) -> None:
    response = client.post(VISITOR_URL, payload, format="json")
    assert response.status_code == 400
    assert body(response) == error
    assert Visitor.objects.count() == 0


def test_null_optional_fields_are_allowed(client: APIClient) -> None:
    response = register(client, "tok-null", name=None, email=None, customFields=None)
    assert response.status_code == 200
    assert "name" not in body(response)["visitor"]


# --- GET / DELETE livechat/visitor/<token> ---------------------------------------------------


@pytest.mark.parametrize("token", AWKWARD_TOKENS)
def test_get_visitor_with_encoded_token(client: APIClient, token: str) -> None:
    register(client, token, name="N")
    response = client.get(f"{VISITOR_URL}/{quote(token, safe='')}")
    assert response.status_code == 200, response.content
    assert body(response)["visitor"]["token"] == token


def test_get_unknown_visitor_is_rocketchat_error(client: APIClient) -> None:
    response = client.get(f"{VISITOR_URL}/nobody")
    assert response.status_code == 400
    assert response.content == (
        b'{"success":false,"error":"[invalid-token]","errorType":"invalid-token"}'
    )


def test_delete_visitor_erases_rooms_and_messages(client: APIClient) -> None:
    token = "erase/me+now"
    register(client, token, name="Ann")
    rid = open_room(client, token)
    post_message(client, token, rid, "secret")
    other = services.post_messages(token="keep", texts=["stay"])
    response = client.delete(f"{VISITOR_URL}/{quote(token, safe='')}")
    assert response.status_code == 200
    data = body(response)
    assert data["success"] is True and data["visitor"]["_id"] and data["visitor"]["ts"]
    assert not Visitor.objects.filter(token=token).exists()
    assert not Room.objects.filter(rid=rid).exists()
    assert not Message.objects.filter(msg="secret").exists()
    assert Message.objects.filter(room=other.room).count() == 1
    again = client.delete(f"{VISITOR_URL}/{quote(token, safe='')}")
    assert again.status_code == 400
    assert body(again) == {
        "success": False,
        "error": "[invalid-token]",
        "errorType": "invalid-token",
    }


# --- GET livechat/room -----------------------------------------------------------------------


def test_room_opens_once_then_returns_the_open_room(client: APIClient) -> None:
    register(client, "r1")
    first = client.get(ROOM_URL, {"token": "r1"})
    assert first.status_code == 200
    data = body(first)
    assert data["newRoom"] is True and data["success"] is True
    room = data["room"]
    assert room["t"] == "l" and room["open"] is True and room["msgs"] == 0
    assert room["v"]["token"] == "r1" and room["v"]["username"].startswith("guest-")
    second = body(client.get(ROOM_URL, {"token": "r1"}))
    assert second["newRoom"] is False and second["room"]["_id"] == room["_id"]
    with_rid = body(client.get(ROOM_URL, {"token": "r1", "rid": room["_id"]}))
    assert with_rid["room"]["_id"] == room["_id"] and with_rid["newRoom"] is False
    assert Room.objects.count() == 1


@pytest.mark.parametrize("token", ["a+b", "a&b=c", "sp ace", "x/y"])
def test_room_token_in_query_string_encoded(client: APIClient, token: str) -> None:
    register(client, token)
    response = client.get(f"{ROOM_URL}?token={quote(token, safe='')}")
    assert response.status_code == 200
    assert body(response)["room"]["v"]["token"] == token


def test_room_errors(client: APIClient) -> None:
    register(client, "mine")
    register(client, "theirs")
    theirs = open_room(client, "theirs")
    assert body(client.get(ROOM_URL, {"token": "nobody"})) == {
        "success": False,
        "error": "invalid-token",
    }
    response = client.get(ROOM_URL, {"token": "mine", "rid": theirs})
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "invalid-room"}
    missing = client.get(ROOM_URL)
    assert missing.status_code == 400
    assert body(missing) == {"success": False, "error": "Match error: Missing key 'token'"}
    unknown = client.get(ROOM_URL, {"token": "mine", "bogus": "1"})
    assert body(unknown) == {"success": False, "error": "Match error: Unknown key in field bogus"}
    assert Room.objects.filter(visitor__token="mine").count() == 0


def test_blocked_visitor_cannot_open_a_room(client: APIClient) -> None:
    register(client, "blocked")
    Visitor.objects.filter(token="blocked").update(is_blocked=True)
    response = client.get(ROOM_URL, {"token": "blocked"})
    assert response.status_code == 403
    assert body(response)["errorType"] == "error-visitor-blocked"
    assert Room.objects.count() == 0


def test_visitor_routes_need_no_auth_token_and_ignore_a_bad_one(client: APIClient) -> None:
    client.credentials(HTTP_X_AUTH_TOKEN="garbage", HTTP_X_USER_ID="1")
    assert register(client, "no-auth").status_code == 200
    assert client.get(ROOM_URL, {"token": "no-auth"}).status_code == 200


# --- POST livechat/room.close ----------------------------------------------------------------


def test_close_room(client: APIClient) -> None:
    register(client, "closer")
    rid = open_room(client, "closer")
    response = client.post(CLOSE_URL, {"token": "closer", "rid": rid}, format="json")
    assert response.status_code == 200
    assert body(response) == {"rid": rid, "comment": "Closed by visitor", "success": True}
    room = Room.objects.get(rid=rid)
    assert room.status == Room.Status.CLOSED and room.closed_by is None
    again = client.post(CLOSE_URL, {"token": "closer", "rid": rid}, format="json")
    assert again.status_code == 400
    assert body(again) == {"success": False, "error": "room-closed"}
    # A closed room: the next GET livechat/room opens a new one.
    assert body(client.get(ROOM_URL, {"token": "closer"}))["newRoom"] is True


def test_close_room_errors(client: APIClient) -> None:
    register(client, "a")
    register(client, "b")
    rid_b = open_room(client, "b")
    assert body(client.post(CLOSE_URL, {"token": "a", "rid": rid_b}, format="json")) == {
        "success": False,
        "error": "invalid-room",
    }
    assert body(client.post(CLOSE_URL, {"token": "zz", "rid": rid_b}, format="json")) == {
        "success": False,
        "error": "invalid-token",
    }
    assert body(client.post(CLOSE_URL, {"token": "a"}, format="json")) == {
        "success": False,
        "error": "must have required property 'rid' [invalid-params]",
        "errorType": "invalid-params",
    }
    assert Room.objects.get(rid=rid_b).status == Room.Status.OPEN


# --- POST livechat/message -------------------------------------------------------------------


def test_post_message(client: APIClient) -> None:
    register(client, "m1", name="Ann")
    rid = open_room(client, "m1")
    response = post_message(client, "m1", rid, "hello")
    assert response.status_code == 200
    message = body(response)["message"]
    stored = Message.objects.get()
    assert message["_id"] == stored.public_id
    assert message["rid"] == rid and message["msg"] == "hello" and message["token"] == "m1"
    assert message["u"]["username"] == stored.room.visitor.username
    assert message["u"]["name"] == "Ann"
    assert stored.author_kind == Message.Author.VISITOR
    assert Room.objects.get(rid=rid).message_count == 1


def test_post_message_with_client_id_twice_stores_once(client: APIClient) -> None:
    register(client, "idem")
    rid = open_room(client, "idem")
    first = post_message(client, "idem", rid, "once", _id="clientChosenId01")
    second = post_message(client, "idem", rid, "once", _id="clientChosenId01")
    assert first.status_code == second.status_code == 200
    assert body(first) == body(second)
    assert body(first)["message"]["_id"] == "clientChosenId01"
    assert Message.objects.filter(public_id="clientChosenId01").count() == 1
    assert Room.objects.get(rid=rid).message_count == 1


def test_client_id_of_someone_elses_message_is_rejected(client: APIClient) -> None:
    register(client, "x")
    register(client, "y")
    rid_x, rid_y = open_room(client, "x"), open_room(client, "y")
    post_message(client, "x", rid_x, "mine", _id="takenId")
    response = post_message(client, "y", rid_y, "theirs", _id="takenId")
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "invalid-message-id"}
    assert Message.objects.filter(room__rid=rid_y).count() == 0
    assert Message.objects.get(public_id="takenId").msg == "mine"


def test_post_message_errors_write_nothing(client: APIClient) -> None:
    register(client, "p")
    register(client, "q")
    rid_p, rid_q = open_room(client, "p"), open_room(client, "q")
    assert body(post_message(client, "p", rid_q, "intrude")) == {
        "success": False,
        "error": "invalid-room",
    }
    assert body(post_message(client, "nobody", rid_p, "x")) == {
        "success": False,
        "error": "invalid-token",
    }
    extra = post_message(client, "p", rid_p, "x", extra=1)
    assert body(extra) == {
        "success": False,
        "error": "must NOT have additional properties [invalid-params]",
        "errorType": "invalid-params",
    }
    long_id = post_message(client, "p", rid_p, "x", _id="x" * 18)
    assert body(long_id)["error"] == "must NOT have more than 17 characters [invalid-params]"
    client.post(CLOSE_URL, {"token": "p", "rid": rid_p}, format="json")
    assert body(post_message(client, "p", rid_p, "late")) == {
        "success": False,
        "error": "room-closed",
    }
    assert Message.objects.count() == 0


# --- GET / PUT / DELETE livechat/message/<_id> -----------------------------------------------


def test_get_edit_delete_own_message(client: APIClient) -> None:
    register(client, "e")
    rid = open_room(client, "e")
    _id = body(post_message(client, "e", rid, "typo"))["message"]["_id"]
    url = f"{MESSAGE_URL}/{_id}"
    got = client.get(url, {"token": "e", "rid": rid})
    assert got.status_code == 200 and body(got)["message"]["msg"] == "typo"
    edited = client.put(url, {"token": "e", "rid": rid, "msg": "fixed"}, format="json")
    assert edited.status_code == 200
    message = body(edited)["message"]
    assert message["msg"] == "fixed" and message["editedAt"] and message["editedBy"]["username"]
    assert Message.objects.get(public_id=_id).msg == "fixed"
    deleted = client.delete(url, {"token": "e", "rid": rid}, format="json")
    assert deleted.status_code == 200
    assert body(deleted)["message"]["_id"] == _id
    assert not Message.objects.filter(public_id=_id).exists()
    assert Room.objects.get(rid=rid).message_count == 0
    gone = client.get(url, {"token": "e", "rid": rid})
    assert body(gone) == {"success": False, "error": "invalid-message"}


def test_delete_with_query_parameters(client: APIClient) -> None:
    register(client, "dq")
    rid = open_room(client, "dq")
    _id = body(post_message(client, "dq", rid, "bye"))["message"]["_id"]
    response = client.delete(f"{MESSAGE_URL}/{_id}?token=dq&rid={rid}")
    assert response.status_code == 200
    assert not Message.objects.filter(public_id=_id).exists()


def test_visitor_cannot_touch_agent_or_other_visitors_messages(client: APIClient) -> None:
    register(client, "v1")
    register(client, "v2")
    rid1, rid2 = open_room(client, "v1"), open_room(client, "v2")
    other = body(post_message(client, "v2", rid2, "private"))["message"]["_id"]
    agent = AgentFactory()
    reply = services.reply_as_agent(room=Room.objects.get(rid=rid1), agent=agent, text="hi")
    # Another visitor's message through one's own room: not found there.
    assert body(client.get(f"{MESSAGE_URL}/{other}", {"token": "v1", "rid": rid1})) == {
        "success": False,
        "error": "invalid-message",
    }
    # Another visitor's room with one's own token.
    assert body(client.get(f"{MESSAGE_URL}/{other}", {"token": "v1", "rid": rid2})) == {
        "success": False,
        "error": "invalid-room",
    }
    # The agent's reply can be read but not edited or deleted.
    url = f"{MESSAGE_URL}/{reply.public_id}"
    read = body(client.get(url, {"token": "v1", "rid": rid1}))["message"]
    assert read["u"]["username"] == agent.username and "token" not in read
    edit = client.put(url, {"token": "v1", "rid": rid1, "msg": "changed"}, format="json")
    assert body(edit) == {
        "success": False,
        "error": "Message editing not allowed [error-action-not-allowed]",
        "errorType": "error-action-not-allowed",
    }
    delete = client.delete(url, {"token": "v1", "rid": rid1}, format="json")
    assert body(delete)["errorType"] == "error-action-not-allowed"
    assert Message.objects.get(public_id=reply.public_id).msg == "hi"
    assert Message.objects.get(public_id=other).msg == "private"


def test_hidden_messages_are_never_returned_to_visitors(client: APIClient) -> None:
    register(client, "h")
    rid = open_room(client, "h")
    visible = body(post_message(client, "h", rid, "ok"))["message"]["_id"]
    hidden = body(post_message(client, "h", rid, "abuse", _id="hiddenMessage01"))["message"]
    Message.objects.filter(public_id=hidden["_id"]).update(hidden_at=services.now_ms())
    url = f"{MESSAGE_URL}/{hidden['_id']}"
    assert body(client.get(url, {"token": "h", "rid": rid}))["error"] == "invalid-message"
    put = client.put(url, {"token": "h", "rid": rid, "msg": "x"}, format="json")
    assert body(put)["error"] == "invalid-message"
    history = body(client.get(f"/api/v1/livechat/messages.history/{rid}", {"token": "h"}))
    assert [m["_id"] for m in history["messages"]] == [visible]
    replay = post_message(client, "h", rid, "abuse", _id="hiddenMessage01")
    assert body(replay) == {"success": False, "error": "invalid-message-id"}


def test_message_id_route_validation(client: APIClient) -> None:
    register(client, "val")
    rid = open_room(client, "val")
    response = client.get(f"{MESSAGE_URL}/abc", {"token": "val"})
    assert body(response) == {
        "success": False,
        "error": "must have required property 'rid' [invalid-params]",
        "errorType": "invalid-params",
    }
    response = client.put(f"{MESSAGE_URL}/abc", {"token": "val", "rid": rid}, format="json")
    assert body(response)["error"] == "must have required property 'msg' [invalid-params]"


# --- GET livechat/messages.history/<rid> -----------------------------------------------------


@pytest.fixture
def history_room(client: APIClient) -> tuple[str, list[Message]]:
    register(client, "hist")
    rid = open_room(client, "hist")
    room = Room.objects.get(rid=rid)
    messages = services.append_messages(room, [f"m{i}" for i in range(30)])
    return rid, messages


def history(client: APIClient, rid: str, **params: Any) -> Any:
    return client.get(f"/api/v1/livechat/messages.history/{rid}", {"token": "hist", **params})


def test_history_pages_newest_first(client: APIClient, history_room: Any) -> None:
    rid, messages = history_room
    first = body(history(client, rid))
    assert first["success"] is True
    assert [m["msg"] for m in first["messages"]] == [f"m{i}" for i in range(29, 9, -1)]  # 20
    by_count = body(history(client, rid, offset=25, count=10))["messages"]
    assert [m["msg"] for m in by_count] == ["m4", "m3", "m2", "m1", "m0"]
    by_limit = body(history(client, rid, limit=3))["messages"]
    assert [m["msg"] for m in by_limit] == ["m29", "m28", "m27"]
    oldest = body(history(client, rid, sort='{"ts":1}', count=2))["messages"]
    assert [m["msg"] for m in oldest] == ["m0", "m1"]


def test_history_end_and_search(client: APIClient, history_room: Any) -> None:
    rid, messages = history_room
    end = (messages[5].ts).isoformat().replace("+00:00", "Z")
    before = body(history(client, rid, end=end))["messages"]
    assert [m["msg"] for m in before] == ["m4", "m3", "m2", "m1", "m0"]
    found = body(history(client, rid, searchText="m2"))["messages"]
    assert sorted(m["msg"] for m in found) == ["m2"] + [f"m2{i}" for i in range(10)]


def test_history_count_is_capped(client: APIClient, history_room: Any, settings: Any) -> None:
    rid, _messages = history_room
    settings.DJANGO_LIVECHAT = {"MAX_PAGE_SIZE": 7}
    assert len(body(history(client, rid, count=50))["messages"]) == 7


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"count": "abc"}, {"error": "must be number [invalid-params]"}),
        ({"offset": "-1"}, {"error": "must be >= 0 [invalid-params]"}),
        ({"bogus": "1"}, {"error": "must NOT have additional properties [invalid-params]"}),
        (
            {"sort": "{bad"},
            {
                "error": 'Invalid sort parameter provided: "{bad" [error-invalid-sort]',
                "errorType": "error-invalid-sort",
            },
        ),
        (
            {"sort": '{"msg":1}'},
            {
                "error": 'Invalid sort parameter provided: "{"msg":1}" [error-invalid-sort]',
                "errorType": "error-invalid-sort",
            },
        ),
        ({"end": "yesterday"}, {"error": 'The "end" query parameter must be a valid date.'}),
    ],
)
def test_history_rejects_bad_parameters(
    client: APIClient, history_room: Any, params: Any, error: Any
) -> None:
    rid, _messages = history_room
    response = history(client, rid, **params)
    assert response.status_code == 400
    data = body(response)
    assert data["success"] is False
    for key, value in error.items():
        assert data[key] == value


def test_history_needs_the_rooms_own_token(client: APIClient, history_room: Any) -> None:
    rid, _messages = history_room
    register(client, "stranger")
    response = client.get(f"/api/v1/livechat/messages.history/{rid}", {"token": "stranger"})
    assert body(response) == {"success": False, "error": "invalid-room"}
    missing = client.get(f"/api/v1/livechat/messages.history/{rid}")
    assert body(missing)["error"] == "must have required property 'token' [invalid-params]"
    empty = client.get(f"/api/v1/livechat/messages.history/{rid}", {"token": ""})
    assert body(empty) == {"success": False, "error": "error-token-param-not-provided"}


def test_history_queries_do_not_grow_with_page_size(client: APIClient, history_room: Any) -> None:
    rid, messages = history_room
    agent = AgentFactory()
    room = Room.objects.get(rid=rid)
    for i in range(5):
        services.reply_as_agent(room=room, agent=agent, text=f"a{i}")
    with CaptureQueriesContext(connection) as small:
        assert len(body(history(client, rid, count=1))["messages"]) == 1
    with CaptureQueriesContext(connection) as large:
        assert len(body(history(client, rid, count=35))["messages"]) == 35
    assert len(small) == len(large) <= 2


def test_room_timestamps_keep_order_after_edit(client: APIClient) -> None:
    register(client, "ord")
    rid = open_room(client, "ord")
    a = body(post_message(client, "ord", rid, "a"))["message"]
    b = body(post_message(client, "ord", rid, "b"))["message"]
    assert a["ts"] < b["ts"]
    room = Room.objects.get(rid=rid)
    assert room.last_message_at is not None
    assert room.last_message_at - Message.objects.get(public_id=a["_id"]).ts >= timedelta(0)


def test_newlines_in_paths_get_json_errors(client: APIClient) -> None:
    visitor = client.get(f"{VISITOR_URL}/a%0Ab")
    assert visitor.status_code == 400 and body(visitor)["errorType"] == "invalid-token"
    unknown = client.get("/api/v1/livechat/no%0Asuch")
    assert unknown.status_code == 404 and body(unknown)["errorType"] == "error-not-found"


def test_nul_characters_in_paths_and_ids_are_plain_lookup_failures(client: APIClient) -> None:
    """PostgreSQL cannot even compare text holding NUL: such ids simply match nothing."""
    register(client, "nul")
    rid = open_room(client, "nul")
    assert body(client.get(f"{VISITOR_URL}/a%00b"))["errorType"] == "invalid-token"
    assert body(client.delete(f"{VISITOR_URL}/a%00b"))["errorType"] == "invalid-token"
    history = client.get("/api/v1/livechat/messages.history/r%00d", {"token": "nul"})
    assert body(history) == {"success": False, "error": "invalid-room"}
    message = client.get(f"{MESSAGE_URL}/m%00", {"token": "nul", "rid": rid})
    assert body(message) == {"success": False, "error": "invalid-message"}
    room = client.get(ROOM_URL, {"token": "nul", "rid": "r\x00"})
    assert body(room) == {"success": False, "error": "invalid-room"}
