"""Signals sent after the transaction that made a change commits (never for a rolled-back one).

Every signal is sent with ``transaction.on_commit``: a receiver sees committed rows only, and a
request that fails (and rolls back) sends nothing. Receivers are called with ``send_robust``: an
exception in one receiver is logged (logger ``django_livechat``) and does not stop the others nor
turn a committed request into an error.

=====================  ===========  ======================================================
signal                 sender       keyword arguments
=====================  ===========  ======================================================
visitor_registered     ``Visitor``  ``visitor``
room_opened            ``Room``     ``room``, ``visitor``
room_closed            ``Room``     ``room``, ``closed_by`` (user or None), ``comment``
messages_received      ``Room``     ``room``, ``visitor``, ``messages`` (list of ``Message``,
                                    in order: one signal per request with all its messages),
                                    ``posted_by`` (the API user or None)
agent_replied          ``Room``     ``room``, ``message``, ``agent``
message_hidden         ``Message``  ``message``, ``hidden_by``, ``reason``
=====================  ===========  ======================================================

Example::

    from django.dispatch import receiver
    from django_livechat.signals import agent_replied

    @receiver(agent_replied)
    def forward_reply(sender, room, message, agent, **kwargs):
        sms_gateway.send(room.visitor.phone, message.msg)

The same events are recorded as webhook deliveries (``django_livechat.webhooks``) inside the
transaction, for the active endpoints that subscribe to them, and sent after commit.

Domain code reports an event with :func:`emit`; :func:`collect` batches the events of one
operation so that the webhook endpoints are looked up once.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("django_livechat")

visitor_registered = Signal()
room_opened = Signal()
room_closed = Signal()
messages_received = Signal()
agent_replied = Signal()
message_hidden = Signal()

SIGNALS: dict[str, Signal] = {
    "visitor_registered": visitor_registered,
    "room_opened": room_opened,
    "room_closed": room_closed,
    "messages_received": messages_received,
    "agent_replied": agent_replied,
    "message_hidden": message_hidden,
}


@dataclass
class Event:
    """One change: the signal's name, its sender and its keyword arguments."""

    name: str
    sender: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


_collector: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
    "django_livechat_events", default=None
)


def emit(name: str, sender: Any, **kwargs: Any) -> None:
    """Report an event of the current transaction: record its webhook deliveries now, send the
    signal and the deliveries after commit. Inside :func:`collect`, wait for the block's end."""
    if name not in SIGNALS:
        raise ValueError(f"unknown event {name!r}")
    event = Event(name, sender, kwargs)
    pending = _collector.get()
    if pending is not None:
        pending.append(event)
    else:
        _record([event])


@contextmanager
def collect() -> Iterator[None]:
    """Batch the events emitted in the block; record them when it ends without an error.

    Use inside the transaction that makes the changes (nested ``collect`` blocks join the
    outermost one).
    """
    if _collector.get() is not None:
        yield
        return
    pending: list[Event] = []
    token = _collector.set(pending)
    try:
        yield
    finally:
        _collector.reset(token)
    if pending:
        _record(pending)


def _record(events: list[Event]) -> None:
    from django_livechat import webhooks

    delivery_ids = webhooks.record_deliveries(events)
    transaction.on_commit(lambda: _after_commit(events, delivery_ids), robust=True)


def _with_primary_keys(event: Event) -> None:
    """Messages are inserted in one statement that returns no ids: give receivers saved rows."""
    from django_livechat.models import Message

    messages = event.kwargs.get("messages")
    if event.name == "messages_received" and messages and messages[0].pk is None:
        by_id = Message.objects.in_bulk([m.public_id for m in messages], field_name="public_id")
        event.kwargs["messages"] = [by_id.get(m.public_id, m) for m in messages]
    message = event.kwargs.get("message")
    if event.name == "agent_replied" and message is not None and message.pk is None:
        event.kwargs["message"] = Message.objects.filter(public_id=message.public_id).first() or (
            message
        )


def _after_commit(events: list[Event], delivery_ids: list[int]) -> None:
    from django_livechat import webhooks

    for event in events:
        signal = SIGNALS[event.name]
        if not signal.has_listeners(event.sender):
            continue
        _with_primary_keys(event)
        results = signal.send_robust(sender=event.sender, **event.kwargs)
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error(
                    "Receiver %r of the %s signal failed", receiver, event.name, exc_info=result
                )
    if delivery_ids:
        webhooks.enqueue_deliveries(delivery_ids)
