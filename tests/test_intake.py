"""SPEC §1.3: what a valid POST livechat/messages does."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_livechat import services
from django_livechat.models import Message, Room, Visitor
from tests.factories import RoomFactory, VisitorFactory

pytestmark = pytest.mark.django_db

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def body(token: str, *texts: str) -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": t} for t in texts]}


def test_new_visitor_gets_registered_and_a_room(post_messages: Any, agent: Any) -> None:
    response = post_messages(body("new-token", "test", "hello"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    visitor = Visitor.objects.get()
    assert visitor.token == "new-token"
    assert re.fullmatch(r"guest-\d+", visitor.username)
    room = Room.objects.get()
    assert room.visitor == visitor
    assert room.status == Room.Status.OPEN
    assert room.source == Room.Source.API
    assert room.message_count == 2
    stored = list(Message.objects.order_by("ts"))
    assert [m.msg for m in stored] == ["test", "hello"]
    assert all(m.author_kind == Message.Author.VISITOR and m.posted_by == agent for m in stored)
    assert room.last_message_at == stored[-1].ts
    assert visitor.last_activity_at == stored[-1].ts


def test_reply_shape_is_rocket_chats(post_messages: Any) -> None:
    response = post_messages(body("shape", "test", "hello"))
    data = response.json()
    assert list(data) == ["messages", "success"]
    assert data["success"] is True
    username = Visitor.objects.get().username
    stored = list(Message.objects.order_by("ts"))
    assert data["messages"] == [
        {
            "username": username,
            "msg": m.msg,
            "ts": m.ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.ts.microsecond // 1000:03d}Z",
        }
        for m in stored
    ]
    assert all(TS.match(m["ts"]) for m in data["messages"])
    # compact JSON, success last
    assert response.content.startswith(b'{"messages":[{"username":"')
    assert response.content.endswith(b'"}],"success":true}')
    assert b": " not in response.content and b", " not in response.content


def test_existing_visitor_and_open_room_are_reused(post_messages: Any) -> None:
    post_messages(body("same", "one"))
    response = post_messages(body("same", "two", "three"))
    assert response.status_code == 200
    assert Visitor.objects.count() == 1
    room = Room.objects.get()
    assert room.message_count == 3
    assert list(room.messages.order_by("ts").values_list("msg", flat=True)) == [
        "one",
        "two",
        "three",
    ]
    assert {m["username"] for m in response.json()["messages"]} == {Visitor.objects.get().username}


def test_closed_room_then_a_new_room(post_messages: Any) -> None:
    post_messages(body("again", "first"))
    first = Room.objects.get()
    services.close_room(room=first, comment="done")
    post_messages(body("again", "second"))
    assert Visitor.objects.count() == 1
    assert Room.objects.count() == 2
    second = Room.objects.exclude(pk=first.pk).get()
    assert second.is_open
    assert list(second.messages.values_list("msg", flat=True)) == ["second"]
    first.refresh_from_db()
    assert first.status == Room.Status.CLOSED
    assert first.message_count == 1


def test_guest_numbers_increase_and_are_unique(post_messages: Any) -> None:
    names = []
    for i in range(5):
        names.append(post_messages(body(f"tok-{i}", "m")).json()["messages"][0]["username"])
    numbers = [int(n.removeprefix("guest-")) for n in names]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5


def test_input_order_is_kept_and_ts_strictly_increasing(post_messages: Any) -> None:
    texts = [f"m{i}" for i in range(50)]
    post_messages(body("order", *texts[:25]))
    post_messages(body("order", *texts[25:]))
    stored = list(Message.objects.order_by("ts"))
    assert [m.msg for m in stored] == texts
    gaps = [b.ts - a.ts for a, b in zip(stored, stored[1:], strict=False)]
    assert all(gap >= timedelta(milliseconds=1) for gap in gaps)
    assert all(m.ts.microsecond % 1000 == 0 for m in stored)


def test_ts_never_goes_back_even_if_the_clock_does(post_messages: Any) -> None:
    post_messages(body("clock", "a", "b"))
    last = Message.objects.order_by("ts").last()
    assert last is not None
    earlier = last.ts - timedelta(seconds=30)
    with mock.patch("django_livechat.services.timezone.now", return_value=earlier):
        post_messages(body("clock", "c"))
    newest = Message.objects.order_by("ts").last()
    assert newest is not None and newest.msg == "c"
    assert newest.ts == last.ts + timedelta(milliseconds=1)


def test_public_ids_are_rocket_chat_style(post_messages: Any) -> None:
    post_messages(body("ids", *["x"] * 20))
    ids = list(Message.objects.values_list("public_id", flat=True))
    assert len(set(ids)) == 20
    assert all(
        re.fullmatch(r"[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}", i)
        for i in ids
    )


def test_a_failure_while_saving_rolls_back_the_whole_request(post_messages: Any, api: Any) -> None:
    api.raise_request_exception = False
    post_messages(body("rollback", "kept"))
    before = (Visitor.objects.count(), Room.objects.get().message_count, Message.objects.count())

    def fail_on_visitor_update(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    with mock.patch.object(services.Visitor.objects, "filter", side_effect=fail_on_visitor_update):
        response = post_messages(body("rollback", "lost-1", "lost-2"))
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": "Internal server error [error-internal]",
        "errorType": "error-internal",
    }
    assert (
        Visitor.objects.count(),
        Room.objects.get().message_count,
        Message.objects.count(),
    ) == before
    assert not Message.objects.filter(msg__startswith="lost").exists()


def test_a_new_visitor_is_not_kept_when_a_later_step_fails(post_messages: Any, api: Any) -> None:
    api.raise_request_exception = False
    with mock.patch("django_livechat.services._insert_messages", side_effect=RuntimeError("boom")):
        response = post_messages(body("brand-new", "a"))
    assert response.status_code == 500
    assert b"Traceback" not in response.content and b"boom" not in response.content
    assert not Visitor.objects.exists()
    assert not Room.objects.exists()


def test_the_unique_ts_constraint_backs_the_ordering_rule() -> None:
    room = RoomFactory()
    from django.db import IntegrityError, transaction

    ts = services.now_ms()
    Message.objects.create(room=room, msg="a", ts=ts)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(room=room, msg="b", ts=ts)


def test_one_open_room_per_visitor_is_a_database_constraint() -> None:
    from django.db import IntegrityError, transaction

    visitor = VisitorFactory()
    RoomFactory(visitor=visitor)
    with pytest.raises(IntegrityError), transaction.atomic():
        Room.objects.create(visitor=visitor)
    RoomFactory(visitor=visitor, status=Room.Status.CLOSED)  # closed ones are not limited


def test_blocked_visitor_is_refused_and_nothing_stored(post_messages: Any) -> None:
    post_messages(body("blocked", "before"))
    Visitor.objects.update(is_blocked=True)
    response = post_messages(body("blocked", "after"))
    assert response.status_code == 403
    assert response.json()["errorType"] == "error-visitor-blocked"
    assert list(Message.objects.values_list("msg", flat=True)) == ["before"]


@pytest.mark.parametrize("count", [1, 10, 1000])
def test_query_count_does_not_grow_with_messages(post_messages: Any, count: int) -> None:
    post_messages(body("warm", "x"))  # the agent's permissions and the visitor exist
    texts = [f"m{i}" for i in range(count)]
    with CaptureQueriesContext(connection) as existing:
        assert post_messages(body("warm", *texts)).status_code == 200
    with CaptureQueriesContext(connection) as new:
        assert post_messages(body(f"new-{count}", *texts)).status_code == 200
    # auth 1 + permissions 2 + room 1 + insert 1 + room update 1 + visitor update 1 (+ savepoints)
    assert len(existing) == EXPECTED_EXISTING, [q["sql"] for q in existing.captured_queries]
    assert len(new) == EXPECTED_NEW, [q["sql"] for q in new.captured_queries]
    assert Message.objects.count() == 1 + 2 * count


# Token 1, permissions 2, the open room with its visitor 1, the messages 1, the room's counters 1,
# the visitor's last activity 1, the active webhook endpoints 1 (one lookup per request, for
# all its events); + 2 for the savepoint the test's own transaction turns ``atomic()`` into.
EXPECTED_EXISTING = 8 + 2
# + the visitor lookup 1, guest number and visitor insert 2, the room insert 1, each insert
# in a savepoint (2 + 2).
EXPECTED_NEW = EXPECTED_EXISTING + 1 + 2 + 1 + 4


def test_response_json_matches_stored_rows_byte_for_byte(post_messages: Any) -> None:
    response = post_messages(body("bytes", "ünïcödé ✓", "<b>html</b>", 'quote " \\ back'))
    data = json.loads(response.content)
    assert [m["msg"] for m in data["messages"]] == ["ünïcödé ✓", "<b>html</b>", 'quote " \\ back']
    assert "ünïcödé ✓".encode() in response.content  # not \\u-escaped, as Rocket.Chat
