"""The intake: register the visitor, find or open the room, append messages.

Plain functions taking plain values. The API views, the admin and the management commands all
call these; none of them re-implements the rules:

- one transaction per call: on any error nothing remains;
- one visitor per token and one open room per visitor, also when concurrent requests race
  (unique constraints decide, the loser re-reads the winner's row);
- messages keep their input order and ``ts`` (milliseconds) is strictly increasing in a room:
  the room row is locked (``SELECT ... FOR UPDATE``) while messages are appended;
- a constant number of SQL queries whatever the number of messages.

On SQLite, correct ordering under concurrency needs ``"OPTIONS": {"transaction_mode":
"IMMEDIATE"}`` (system check ``django_livechat.W001``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from django_livechat import signals
from django_livechat.models import GuestNumber, Message, Room, Visitor, random_ids

ONE_MS = timedelta(milliseconds=1)


class VisitorBlocked(Exception):
    """The visitor is blocked by staff: nothing of theirs is stored."""


class RoomClosed(Exception):
    """Messages cannot be appended to a closed room."""


@dataclass
class Posted:
    visitor: Visitor
    room: Room
    messages: list[Message]
    new_visitor: bool
    new_room: bool


def now_ms() -> datetime:
    """The current time, truncated to milliseconds (the precision of ``ts``)."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def register_visitor(token: str, **fields: Any) -> tuple[Visitor, bool]:
    """The visitor with ``token``, registered as ``guest-N`` if new; and whether it was new.

    Safe under concurrency: the unique token decides, the loser re-reads the winner's row.
    Must run inside a transaction (it uses a savepoint).
    """
    visitor = Visitor.objects.filter(token=token).first()
    if visitor is not None:
        return visitor, False
    try:
        with transaction.atomic():
            number = GuestNumber.objects.create().pk
            visitor = Visitor.objects.create(token=token, username=f"guest-{number}", **fields)
        signals.emit("visitor_registered", Visitor, visitor=visitor)
        return visitor, True
    except IntegrityError:
        return Visitor.objects.get(token=token), False


def open_room(
    visitor: Visitor, source: str = Room.Source.API, *, new_visitor: bool = False
) -> tuple[Room, bool]:
    """The visitor's open room, locked for this transaction, opened if none; and whether new.

    ``new_visitor`` skips looking for a room a visitor registered in this transaction can't have.
    """
    room = None
    if not new_visitor:
        room = (
            Room.objects.select_for_update().filter(visitor=visitor, status=Room.Status.OPEN).first()
        )
    if room is None:
        try:
            with transaction.atomic():
                room = Room.objects.create(visitor=visitor, source=source)
            room.visitor = visitor
            signals.emit("room_opened", Room, room=room, visitor=visitor)
            return room, True
        except IntegrityError:
            # A concurrent request opened it first (one open room per visitor is a constraint).
            room = Room.objects.select_for_update().get(visitor=visitor, status=Room.Status.OPEN)
    room.visitor = visitor
    return room, False


def _insert_messages(messages: list[Message]) -> None:
    """One ``executemany`` INSERT: one query whatever the count, on every backend.

    (``bulk_create`` splits into many statements on SQLite, whose limit is 999 parameters.)
    """
    using = router.db_for_write(Message)
    connection = connections[using]
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(Message._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows = [[f.get_db_prep_save(getattr(m, f.attname), connection) for f in fields] for m in messages]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def append_messages(
    room: Room,
    texts: Sequence[str],
    *,
    author_kind: str = Message.Author.VISITOR,
    agent: Any = None,
    posted_by: Any = None,
) -> list[Message]:
    """Append ``texts`` to ``room`` (which the caller has locked) in order; update its counters."""
    if not room.is_open:
        raise RoomClosed(_("The conversation is closed."))
    start = now_ms()
    if room.last_message_at is not None and start <= room.last_message_at:
        start = room.last_message_at + ONE_MS
    ids = random_ids(len(texts))
    messages = [
        Message(
            public_id=ids[i],
            room=room,
            author_kind=author_kind,
            agent=agent,
            posted_by=posted_by,
            msg=text,
            ts=start + i * ONE_MS,
        )
        for i, text in enumerate(texts)
    ]
    _insert_messages(messages)
    last = messages[-1].ts
    Room.objects.filter(pk=room.pk).update(
        message_count=F("message_count") + len(messages), last_message_at=last
    )
    room.message_count += len(messages)
    room.last_message_at = last
    if author_kind == Message.Author.VISITOR:
        signals.emit(
            "messages_received",
            Room,
            room=room,
            visitor=room.visitor,
            messages=messages,
            posted_by=posted_by,
        )
    elif author_kind == Message.Author.AGENT:
        for message in messages:
            signals.emit("agent_replied", Room, room=room, message=message, agent=agent)
    return messages


def post_messages(
    *, token: str, texts: Sequence[str], posted_by: Any = None, source: str = Room.Source.API
) -> Posted:
    """Store visitor messages for ``token``: register the visitor, find or open the room, append.

    All or nothing, in one transaction. Raises :class:`VisitorBlocked` for a blocked visitor.
    """
    if not texts:
        raise ValueError("post_messages needs at least one message")
    with transaction.atomic(), signals.collect():
        # The common case in one query: the visitor's open room, locked, with the visitor.
        room = (
            Room.objects.select_for_update(of=("self",))
            .select_related("visitor")
            .filter(visitor__token=token, status=Room.Status.OPEN)
            .first()
        )
        new_visitor = new_room = False
        if room is None:
            visitor, new_visitor = register_visitor(token)
            if visitor.is_blocked:
                raise VisitorBlocked(_("The visitor is blocked."))
            room, new_room = open_room(visitor, source, new_visitor=new_visitor)
        visitor = room.visitor
        if visitor.is_blocked:
            raise VisitorBlocked(_("The visitor is blocked."))
        messages = append_messages(room, texts, posted_by=posted_by)
        Visitor.objects.filter(pk=visitor.pk).update(last_activity_at=messages[-1].ts)
        visitor.last_activity_at = messages[-1].ts
    return Posted(visitor, room, messages, new_visitor, new_room)


def reply_as_agent(*, room: Room, agent: Any, text: str) -> Message:
    """Store a staff member's reply in ``room`` with the same ordering rules as the API."""
    with transaction.atomic(), signals.collect():
        locked = Room.objects.select_for_update().select_related("visitor").get(pk=room.pk)
        (message,) = append_messages(
            locked, [text], author_kind=Message.Author.AGENT, agent=agent, posted_by=agent
        )
        if locked.serving_agent_id is None:
            Room.objects.filter(pk=locked.pk).update(serving_agent=agent)
            locked.serving_agent = agent
    return message


def close_room(*, room: Room, closed_by: Any = None, comment: str = "") -> Room:
    """Close ``room`` (idempotent: closing a closed room changes nothing)."""
    with transaction.atomic():
        locked = Room.objects.select_for_update().get(pk=room.pk)
        if locked.is_open:
            locked.status = Room.Status.CLOSED
            locked.closed_at = now_ms()
            locked.closed_by = closed_by
            locked.close_comment = comment
            locked.save(update_fields=["status", "closed_at", "closed_by", "close_comment"])
            signals.emit("room_closed", Room, room=locked, closed_by=closed_by, comment=comment)
    return locked
