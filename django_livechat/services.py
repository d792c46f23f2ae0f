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
from django.db.models import F, QuerySet
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from django_livechat import signals
from django_livechat.models import GuestNumber, Message, Room, Visitor, random_ids
from django_livechat.validation import has_unstorable_characters

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
            Room.objects.select_for_update()
            .filter(visitor=visitor, status=Room.Status.OPEN)
            .first()
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
    # Only quoted identifiers from the model's metadata go into the SQL; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(Message._meta.db_table),
        ", ".join(quote(str(f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows: list[list[Any]] = [[None] * len(fields) for _m in messages]
    for column, f in enumerate(fields):
        values = [getattr(m, f.attname) for m in messages]
        first = values[0]
        if all(value is first for value in values):
            # One object for every message (the room, the author, a default): prepared once.
            # This is most of the columns; preparing each cell was most of the intake's time.
            prepared = f.get_db_prep_save(first, connection)
            for row in rows:
                row[column] = prepared
        else:
            for row, value in zip(rows, values, strict=True):
                row[column] = f.get_db_prep_save(value, connection)
    with connection.cursor() as cursor:
        if len(rows) == 1:
            # One row: a plain execute (psycopg's executemany enters pipeline mode, which costs
            # more than it saves for a single statement).
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)


def _copy_message(template: Message, **values: Any) -> Message:
    """A copy of an unsaved ``template`` with other field ``values``.

    What ``Message(...)`` with the same arguments builds (same fields, the same related objects
    cached), without running ``Model.__init__``, which was the largest cost of a 1000-message
    request. Like ``Model.from_db``'s callers, it sends no ``pre_init``/``post_init``.
    """
    message = Message.__new__(Message)
    state = ModelState()
    state.fields_cache = dict(template._state.fields_cache)
    message.__dict__.update(template.__dict__)
    message.__dict__.update(values, _state=state)
    return message


def append_messages(
    room: Room,
    texts: Sequence[str],
    *,
    author_kind: str = Message.Author.VISITOR,
    agent: Any = None,
    posted_by: Any = None,
    ids: Sequence[str] | None = None,
) -> list[Message]:
    """Append ``texts`` to ``room`` (which the caller has locked) in order; update its counters.

    ``ids``: the messages' public ids (Rocket.Chat's ``_id``), random when not given.
    """
    if not room.is_open:
        raise RoomClosed(_("The conversation is closed."))
    start = now_ms()
    if room.last_message_at is not None and start <= room.last_message_at:
        start = room.last_message_at + ONE_MS
    if ids is None:
        ids = random_ids(len(texts))
    template = Message(
        public_id=ids[0],
        room=room,
        author_kind=author_kind,
        agent=agent,
        posted_by=posted_by,
        msg=texts[0],
        ts=start,
    )
    messages = [template] + [
        _copy_message(template, public_id=ids[i], msg=text, ts=start + i * ONE_MS)
        for i, text in enumerate(texts[1:], start=1)
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


# ---------------------------------------------------------------------------------------------
# The visitor side (Rocket.Chat's widget routes): everything is looked up by the visitor token,
# and a visitor only ever reaches their own rooms and messages.
# ---------------------------------------------------------------------------------------------


class VisitorNotFound(Exception):
    """No visitor has this token."""


class RoomNotFound(Exception):
    """The visitor has no room with this id (or no open one, where one is needed)."""


class MessageNotFound(Exception):
    """The room has no visible message with this id."""


class MessageIdTaken(Exception):
    """A client-chosen message id already names another message."""


class NotAllowed(Exception):
    """The visitor may not change this message (it is not theirs)."""


@dataclass(frozen=True)
class CustomField:
    """One of Rocket.Chat's visitor ``customFields``; ``overwrite`` False keeps a stored value."""

    key: str
    value: str
    overwrite: bool


def update_visitor(
    token: str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    department: str | None = None,
    custom_fields: Sequence[CustomField] = (),
) -> tuple[Visitor, bool]:
    """Register the visitor with ``token`` or update them; and whether they are new.

    As Rocket.Chat's ``registerGuest``: empty or missing values leave the stored ones alone.
    """
    changes = {
        field: value
        for field, value in (
            ("name", name),
            ("email", email),
            ("phone", phone),
            ("department", department),
        )
        if value
    }
    with transaction.atomic():
        visitor, created = register_visitor(token)
        if not changes and not custom_fields:
            return visitor, created
        visitor = Visitor.objects.select_for_update().get(pk=visitor.pk)
        for field, value in changes.items():
            setattr(visitor, field, value)
        data = dict(visitor.livechat_data or {})
        for custom in custom_fields:
            if custom.overwrite or custom.key not in data:
                data[custom.key] = custom.value
        visitor.livechat_data = data
        visitor.save(update_fields=[*changes, "livechat_data", "updated_at"])
    return visitor, created


def _storable(*values: str) -> bool:
    """Whether the database can even compare these (NUL or a lone surrogate: no row has them)."""
    return not any(has_unstorable_characters(value) for value in values)


def get_visitor(token: str) -> Visitor:
    visitor = Visitor.objects.filter(token=token).first() if _storable(token) else None
    if visitor is None:
        raise VisitorNotFound(token)
    return visitor


def erase_visitor_by_token(token: str) -> Visitor:
    """``DELETE livechat/visitor/<token>``: erase the visitor, their rooms and messages.

    The erasure itself is :func:`django_livechat.moderation.erase_visitor` (the admin's).
    The guest number is never handed out again. Returns the deleted visitor (``pk`` kept).
    """
    from django_livechat.moderation import erase_visitor

    visitor = get_visitor(token)
    pk = visitor.pk
    try:
        erase_visitor(visitor)
    except Visitor.DoesNotExist as exc:  # erased by a concurrent request
        raise VisitorNotFound(token) from exc
    visitor.pk = pk
    return visitor


def _visitor_room(token: str, rid: str, *, lock: bool = False) -> Room:
    """The room ``rid`` of the visitor with ``token`` (open or closed), with its visitor."""
    rooms = Room.objects.select_related("visitor", "serving_agent", "closed_by")
    if lock:
        rooms = Room.objects.select_for_update(of=("self",)).select_related("visitor")
    room = rooms.filter(rid=rid, visitor__token=token).first() if _storable(token, rid) else None
    if room is None:
        # Rocket.Chat checks the token first: tell an unknown token from a foreign room.
        get_visitor(token)
        raise RoomNotFound(rid)
    return room


def visitor_room(
    token: str, rid: str | None = None, source: str = Room.Source.API
) -> tuple[Room, bool]:
    """``GET livechat/room``: the visitor's open room ``rid``, or without ``rid`` their open
    room, opened now if they have none. Returns the room and whether it is new."""
    if rid:
        room = (
            Room.objects.select_related("visitor", "serving_agent", "closed_by")
            .filter(rid=rid, visitor__token=token, status=Room.Status.OPEN)
            .first()
            if _storable(token, rid)
            else None
        )
        if room is None:
            get_visitor(token)
            raise RoomNotFound(rid)
        return room, False
    room = (
        Room.objects.select_related("visitor", "serving_agent", "closed_by")
        .filter(visitor__token=token, status=Room.Status.OPEN)
        .first()
        if _storable(token)
        else None
    )
    if room is not None:
        return room, False
    visitor = get_visitor(token)
    if visitor.is_blocked:
        raise VisitorBlocked(_("The visitor is blocked."))
    with transaction.atomic():
        return open_room(visitor, source)


def close_room_by_visitor(token: str, rid: str, comment: str) -> Room:
    """``POST livechat/room.close``: the visitor closes their own open room.

    The room is locked before its status is read: of two concurrent closes one succeeds and
    the other gets :class:`RoomClosed` (found by the soak test in tests/reliability).
    """
    with transaction.atomic():
        room = _visitor_room(token, rid, lock=True)
        if not room.is_open:
            raise RoomClosed(_("The conversation is closed."))
        return close_room(room=room, closed_by=None, comment=comment)


def post_visitor_message(
    token: str, rid: str, text: str, message_id: str | None = None
) -> tuple[Message, bool]:
    """``POST livechat/message``: append one visitor message; and whether it was stored now.

    A ``message_id`` already stored for this visitor's message in this room returns that
    message and stores nothing (safe retries); one naming any other message is
    :class:`MessageIdTaken`.
    """
    with transaction.atomic():
        room = _visitor_room(token, rid, lock=True)
        if message_id:
            existing = Message.objects.filter(public_id=message_id).select_related("agent").first()
            if existing is not None:
                if (
                    existing.room_id == room.pk
                    and existing.author_kind == Message.Author.VISITOR
                    and existing.hidden_at is None
                ):
                    existing.room = room
                    return existing, False
                raise MessageIdTaken(message_id)
        if room.visitor.is_blocked:
            raise VisitorBlocked(_("The visitor is blocked."))
        try:
            with transaction.atomic():
                (message,) = append_messages(room, [text], ids=[message_id] if message_id else None)
        except IntegrityError as exc:  # the id was taken concurrently, in another room
            raise MessageIdTaken(message_id or "") from exc
        Visitor.objects.filter(pk=room.visitor_id).update(last_activity_at=message.ts)
    return message, True


def get_visitor_message(token: str, rid: str, message_id: str) -> Message:
    """A visible message of the visitor's room ``rid`` (any author)."""
    room = _visitor_room(token, rid)
    message = (
        Message.objects.select_related("agent")
        .filter(room=room, public_id=message_id, hidden_at__isnull=True)
        .first()
        if _storable(message_id)
        else None
    )
    if message is None:
        raise MessageNotFound(message_id)
    message.room = room
    return message


def _own_message_for_change(token: str, rid: str, message_id: str) -> tuple[Room, Message]:
    room = _visitor_room(token, rid, lock=True)
    message = (
        Message.objects.select_for_update()
        .filter(room=room, public_id=message_id, hidden_at__isnull=True)
        .first()
        if _storable(message_id)
        else None
    )
    if message is None:
        raise MessageNotFound(message_id)
    if message.author_kind != Message.Author.VISITOR:
        raise NotAllowed(message_id)
    if not room.is_open:
        raise RoomClosed(_("The conversation is closed."))
    message.room = room
    return room, message


def edit_visitor_message(token: str, rid: str, message_id: str, text: str) -> Message:
    """``PUT livechat/message/<_id>``: the visitor edits one of their own messages."""
    with transaction.atomic():
        _room, message = _own_message_for_change(token, rid, message_id)
        message.msg = text
        message.edited_at = now_ms()
        message.save(update_fields=["msg", "edited_at"])
    return message


def delete_visitor_message(token: str, rid: str, message_id: str) -> Message:
    """``DELETE livechat/message/<_id>``: the visitor deletes one of their own messages."""
    with transaction.atomic():
        room, message = _own_message_for_change(token, rid, message_id)
        message.delete()
        Room.objects.filter(pk=room.pk, message_count__gt=0).update(
            message_count=F("message_count") - 1
        )
    return message


def visitor_history(token: str, rid: str) -> tuple[Room, QuerySet[Message]]:
    """``GET livechat/messages.history/<rid>``: the room and its messages visible to visitors."""
    room = _visitor_room(token, rid)
    messages = Message.objects.select_related("agent").filter(room=room, hidden_at__isnull=True)
    return room, messages
