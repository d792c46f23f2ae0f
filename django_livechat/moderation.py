"""Moderation and data-protection requests: plain functions used by the admin and the commands.

- hiding is soft: the text is never edited or destroyed; who hid a message, when and why is kept
  on the message while it is hidden, and every action is written to the admin log (``LogEntry``)
  when it is done by a user, so it shows in the object's history;
- blocking a visitor makes the API refuse their posts (``services.VisitorBlocked``);
- ``export_visitor_data`` answers a data-access request, ``erase_visitor`` an erasure request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from django_livechat import signals
from django_livechat.models import Message, Room, Visitor
from django_livechat.wire import format_ts


class AlreadyDone(Exception):
    """The object is already in the requested state (hidden, visible, blocked, unblocked)."""


def log_action(user: Any, obj: models.Model, flag: int, message: str) -> None:
    """Write ``message`` to the admin log of ``obj`` as done by ``user`` (nothing if no user)."""
    if user is None or not getattr(user, "pk", None):
        return
    LogEntry.objects.log_actions(user.pk, [obj], flag, message, single_object=True)


def log_addition(user: Any, obj: models.Model, message: str) -> None:
    log_action(user, obj, ADDITION, message)


def _locked_message(message: Message) -> Message:
    # By public id: messages returned by the intake have no pk (one executemany INSERT).
    return Message.objects.select_for_update().get(public_id=message.public_id)


def hide_message(message: Message, *, by: Any, reason: str) -> Message:
    """Hide ``message`` (soft): record who, when and why; the text stays as it was."""
    reason = reason.strip()
    if not reason:
        raise ValueError(_("A reason is required to hide a message."))
    with transaction.atomic():
        locked = _locked_message(message)
        if locked.is_hidden:
            raise AlreadyDone(_("The message is already hidden."))
        locked.hidden_at = timezone.now()
        locked.hidden_by = by
        locked.hidden_reason = reason
        locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        text = _("Hid the message. Reason: %(reason)s") % {"reason": reason}
        log_action(by, locked, CHANGE, text)
        signals.emit("message_hidden", Message, message=locked, hidden_by=by, reason=reason)
    return locked


def unhide_message(message: Message, *, by: Any, reason: str = "") -> Message:
    """Show a hidden message again; the admin log keeps who hid it and why."""
    reason = reason.strip()
    with transaction.atomic():
        locked = _locked_message(message)
        if not locked.is_hidden:
            raise AlreadyDone(_("The message is not hidden."))
        log_message = _("Unhid the message (hidden by %(user)s, reason: %(hidden_reason)s).") % {
            "user": locked.hidden_by or "-",
            "hidden_reason": locked.hidden_reason,
        }
        if reason:
            log_message += " " + _("Reason: %(reason)s") % {"reason": reason}
        locked.hidden_at = None
        locked.hidden_by = None
        locked.hidden_reason = ""
        locked.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        log_action(by, locked, CHANGE, log_message)
    return locked


def block_visitor(visitor: Visitor, *, by: Any = None, reason: str = "") -> Visitor:
    """Block ``visitor``: the API refuses their posts from now on (403 error-visitor-blocked)."""
    return _set_blocked(visitor, True, by=by, reason=reason)


def unblock_visitor(visitor: Visitor, *, by: Any = None, reason: str = "") -> Visitor:
    return _set_blocked(visitor, False, by=by, reason=reason)


def _set_blocked(visitor: Visitor, blocked: bool, *, by: Any, reason: str) -> Visitor:
    with transaction.atomic():
        locked = Visitor.objects.select_for_update().get(pk=visitor.pk)
        if locked.is_blocked == blocked:
            raise AlreadyDone(
                _("The visitor is already blocked.")
                if blocked
                else _("The visitor is not blocked.")
            )
        locked.is_blocked = blocked
        locked.save(update_fields=["is_blocked", "updated_at"])
        text = _("Blocked the visitor.") if blocked else _("Unblocked the visitor.")
        if reason.strip():
            text += " " + _("Reason: %(reason)s") % {"reason": reason.strip()}
        log_action(by, locked, CHANGE, text)
    return locked


# ------------------------------------------------------------------------------------------------
# Data-protection requests
# ------------------------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return format_ts(value) if value is not None else None


def message_data(message: Message) -> dict[str, Any]:
    """One message as exported: Rocket.Chat's ``_id``, ``msg`` and ``ts`` plus our fields."""
    return {
        "_id": message.public_id,
        "author": message.author_kind,
        "msg": message.msg,
        "ts": format_ts(message.ts),
        "hidden": message.is_hidden,
    }


def export_visitor_data(visitor: Visitor) -> dict[str, Any]:
    """Everything stored about ``visitor``, as JSON-ready data (a data-access request).

    Hidden messages are included (they are the visitor's data), marked ``hidden``; the identity
    of staff members is not (it is not the visitor's data).
    """
    rooms: list[dict[str, Any]] = []
    by_room: dict[int, list[dict[str, Any]]] = {}
    for room in Room.objects.filter(visitor=visitor).order_by("opened_at", "pk"):
        messages: list[dict[str, Any]] = []
        by_room[room.pk] = messages
        rooms.append(
            {
                "rid": room.rid,
                "status": room.status,
                "source": room.source,
                "openedAt": _iso(room.opened_at),
                "closedAt": _iso(room.closed_at),
                "closeComment": room.close_comment,
                "messages": messages,
            }
        )
    messages_qs = Message.objects.filter(room__visitor=visitor).order_by("room_id", "ts", "pk")
    for message in messages_qs.iterator(chunk_size=2000):
        by_room[message.room_id].append(message_data(message))
    return {
        "visitor": {
            "token": visitor.token,
            "username": visitor.username,
            "name": visitor.name,
            "email": visitor.email,
            "phone": visitor.phone,
            "blocked": visitor.is_blocked,
            "createdAt": _iso(visitor.created_at),
            "updatedAt": _iso(visitor.updated_at),
            "lastActivityAt": _iso(visitor.last_activity_at),
        },
        "rooms": rooms,
    }


def export_visitor_json(visitor: Visitor) -> str:
    return json.dumps(export_visitor_data(visitor), ensure_ascii=False, indent=2)


@dataclass
class ErasureCounts:
    rooms: int
    messages: int


def erasure_counts(visitor: Visitor) -> ErasureCounts:
    """What erasing ``visitor`` would delete (two counting queries, whatever the sizes)."""
    stats = Room.objects.filter(visitor=visitor).aggregate(
        rooms=models.Count("pk"), messages=models.Sum("message_count")
    )
    return ErasureCounts(rooms=stats["rooms"] or 0, messages=stats["messages"] or 0)


def erase_visitor(visitor: Visitor, *, by: Any = None) -> ErasureCounts:
    """Delete ``visitor`` with all their rooms and messages (an erasure request).

    The admin log records the deletion under the visitor's ``guest-N`` username only: no personal
    data is kept in it.
    """
    with transaction.atomic():
        locked = Visitor.objects.select_for_update().get(pk=visitor.pk)
        messages = Message.objects.filter(room__visitor=locked).count()
        rooms = Room.objects.filter(visitor=locked).count()
        pk, username = locked.pk, locked.username
        # One DELETE for the messages (no signals, no cascades from them), then rooms and visitor.
        locked.delete()
        if by is not None and getattr(by, "pk", None):
            LogEntry.objects.create(
                user_id=by.pk,
                content_type=ContentType.objects.get_for_model(Visitor),
                object_id=str(pk),
                object_repr=username,
                action_flag=DELETION,
                change_message=_(
                    "Erased the visitor with %(rooms)d conversation(s) and %(messages)d message(s)."
                )
                % {"rooms": rooms, "messages": messages},
            )
    return ErasureCounts(rooms=rooms, messages=messages)
