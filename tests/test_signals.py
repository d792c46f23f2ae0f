"""Signals are sent after commit, once per change, and never for a rolled-back one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from django_livechat import moderation, services, signals
from django_livechat.models import AuthToken, Message, Room
from tests.factories import AgentFactory, RoomFactory, VisitorFactory

URL = "/api/v1/livechat/messages"


def body(token: str, *texts: str) -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": t} for t in texts]}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for n, _, kwargs in self.calls if n == name]


@pytest.fixture
def received() -> Iterator[Recorder]:
    recorder = Recorder()
    handlers = {}
    for name, signal in signals.SIGNALS.items():

        def handler(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            kwargs["_in_atomic_block"] = connection.in_atomic_block
            recorder.calls.append((_name, sender, kwargs))

        handlers[name] = handler
        signal.connect(handler, weak=False)
    yield recorder
    for name, signal in signals.SIGNALS.items():
        signal.disconnect(handlers[name])


@pytest.mark.django_db
def test_first_post_sends_visitor_room_and_one_messages_signal(
    post_messages: Any, agent: Any, received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_messages(body("tok", "a", "b", "c"))
    assert response.status_code == 200
    assert received.names() == ["visitor_registered", "room_opened", "messages_received"]
    (registered,) = received.of("visitor_registered")
    (opened,) = received.of("room_opened")
    (got,) = received.of("messages_received")
    assert registered["visitor"].token == "tok"
    assert opened["room"] == Room.objects.get() and opened["visitor"] == registered["visitor"]
    assert [m.msg for m in got["messages"]] == ["a", "b", "c"]
    assert [m.pk for m in got["messages"]] == list(Message.objects.values_list("pk", flat=True))
    assert got["room"] == opened["room"] and got["visitor"] == registered["visitor"]
    assert got["posted_by"] == agent
    senders = [sender for _, sender, _ in received.calls]
    assert senders[0].__name__ == "Visitor" and senders[1] is senders[2] is Room


@pytest.mark.django_db
def test_a_later_post_sends_only_messages_received(
    post_messages: Any, received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    post_messages(body("tok", "first"))
    with django_capture_on_commit_callbacks(execute=True):
        post_messages(body("tok", "x", "y"))
    assert received.names() == ["messages_received"]


@pytest.mark.django_db
def test_agent_reply_close_and_hide(
    received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    room = RoomFactory()
    agent = AgentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.reply_as_agent(room=room, agent=agent, text="Hello")
        services.close_room(room=room, closed_by=agent, comment="done")
        services.close_room(room=room, closed_by=agent, comment="again")  # no change, no signal
    assert received.names() == ["agent_replied", "room_closed"]
    (replied,) = received.of("agent_replied")
    assert replied["message"].public_id == message.public_id and replied["agent"] == agent
    assert replied["message"] == Message.objects.get()  # a saved row, with its primary key
    assert replied["room"].pk == room.pk
    (closed,) = received.of("room_closed")
    assert closed["closed_by"] == agent and closed["comment"] == "done"
    assert closed["room"].status == Room.Status.CLOSED


@pytest.mark.django_db
def test_message_hidden_signal(received: Recorder, django_capture_on_commit_callbacks: Any) -> None:
    room = RoomFactory()
    services.append_messages(room, ["rude"])
    message = Message.objects.get()
    moderator = AgentFactory()
    received.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moderation.hide_message(message, by=moderator, reason="abuse")
    assert received.names() == ["message_hidden"]
    (hidden,) = received.of("message_hidden")
    assert hidden["message"].pk == message.pk
    assert hidden["hidden_by"] == moderator and hidden["reason"] == "abuse"


@pytest.mark.django_db
def test_nothing_is_sent_before_commit(
    received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    room = RoomFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.reply_as_agent(room=room, agent=AgentFactory(), text="Hello")
    assert received.calls == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert received.names() == ["agent_replied"]


@pytest.mark.django_db
def test_never_for_a_rolled_back_change(
    received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    room = RoomFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.reply_as_agent(room=room, agent=AgentFactory(), text="Hello")
            services.close_room(room=room)
            raise RuntimeError("rollback")
    assert callbacks == []
    assert received.calls == []
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_never_for_a_failed_request(
    post_messages: Any,
    api: APIClient,
    received: Recorder,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_insert_messages", explode)
    api.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_messages(body("new-token", "x"))
    assert response.status_code == 500
    assert callbacks == []
    assert received.calls == []


@pytest.mark.django_db
def test_a_failing_receiver_does_not_break_the_request_nor_the_others(
    post_messages: Any,
    received: Recorder,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise ValueError("receiver bug")

    signals.messages_received.connect(broken, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_messages(body("tok", "x"))
    finally:
        signals.messages_received.disconnect(broken)
    assert response.status_code == 200
    assert "messages_received" in received.names()
    assert "receiver bug" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_signals_run_after_the_real_commit(received: Recorder) -> None:
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
    response = client.post(URL, body("tok", "x"), format="json")
    assert response.status_code == 200
    assert received.names() == ["visitor_registered", "room_opened", "messages_received"]
    assert [kwargs["_in_atomic_block"] for _, _, kwargs in received.calls] == [False] * 3


@pytest.mark.django_db
def test_emit_rejects_unknown_events() -> None:
    with pytest.raises(ValueError):
        signals.emit("room_exploded", Room)


@pytest.mark.django_db
def test_visitor_registered_is_sent_for_update_visitor_too(
    received: Recorder, django_capture_on_commit_callbacks: Any
) -> None:
    VisitorFactory(token="known")
    with django_capture_on_commit_callbacks(execute=True):
        services.register_visitor("known")
        services.register_visitor("brand-new")
    assert [k["visitor"].token for k in received.of("visitor_registered")] == ["brand-new"]
