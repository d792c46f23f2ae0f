"""A room's transcript as plain text, CSV or JSON, streamed in constant memory.

Text is written as text: nothing is interpreted as HTML. In CSV, a cell that a spreadsheet would
read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed
with an apostrophe (OWASP's advice against CSV injection); TXT and JSON keep the text exactly.

Hidden messages appear marked as hidden; their text and the reason are included only for readers
allowed to moderate (``include_hidden=True``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from django_livechat.models import Message, Room
from django_livechat.wire import format_ts

CHUNK_SIZE = 1000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def transcript_messages(room: Room) -> QuerySet[Message]:
    """The room's messages in order, with what a transcript shows (no per-message queries)."""
    return (
        Message.objects.filter(room=room).select_related("agent", "hidden_by").order_by("ts", "pk")
    )


def author_name(message: Message, room: Room) -> str:
    """Who wrote ``message``: the visitor's name, the agent's name, or "System"."""
    if message.author_kind == Message.Author.VISITOR:
        return str(room.visitor)
    if message.author_kind == Message.Author.AGENT:
        if message.agent is None:
            return _("Agent")
        full_name = getattr(message.agent, "get_full_name", lambda: "")()
        return str(full_name or message.agent.get_username())
    return _("System")


def visible_text(message: Message, include_hidden: bool) -> str:
    if message.is_hidden and not include_hidden:
        return _("[hidden by a moderator]")
    return message.msg


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def iter_txt(room: Room, *, include_hidden: bool) -> Iterator[str]:
    yield _("Conversation %(rid)s with %(visitor)s") % {"rid": room.rid, "visitor": room.visitor}
    yield "\n"
    yield _("Opened: %(time)s") % {"time": _local(room.opened_at)} + "\n"
    if room.closed_at:
        yield _("Closed: %(time)s") % {"time": _local(room.closed_at)} + "\n"
    yield "\n"
    for message in transcript_messages(room).iterator(chunk_size=CHUNK_SIZE):
        text = visible_text(message, include_hidden)
        mark = ""
        if message.is_hidden and include_hidden:
            mark = " " + _("[hidden: %(reason)s]") % {"reason": message.hidden_reason}
        yield f"[{_local(message.ts)}] {author_name(message, room)}:{mark} {text}\n"


class _Echo:
    """A file-like object whose ``write`` returns the line (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def iter_csv(room: Room, *, include_hidden: bool) -> Iterator[str]:
    writer = csv.writer(_Echo())
    header = ["_id", "ts", "author", "name", "msg", "hidden"]
    if include_hidden:
        header.append("hidden_reason")
    yield writer.writerow(header)
    for message in transcript_messages(room).iterator(chunk_size=CHUNK_SIZE):
        row = [
            message.public_id,
            format_ts(message.ts),
            message.author_kind,
            _cell(author_name(message, room)),
            _cell(visible_text(message, include_hidden)),
            "true" if message.is_hidden else "false",
        ]
        if include_hidden:
            row.append(_cell(message.hidden_reason))
        yield writer.writerow(row)


def iter_json(room: Room, *, include_hidden: bool) -> Iterator[str]:
    head = {
        "rid": room.rid,
        "status": room.status,
        "source": room.source,
        "visitor": {"username": room.visitor.username, "name": room.visitor.name},
        "openedAt": format_ts(room.opened_at),
        "closedAt": format_ts(room.closed_at) if room.closed_at else None,
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "messages": ['
    first = True
    for message in transcript_messages(room).iterator(chunk_size=CHUNK_SIZE):
        item: dict[str, Any] = {
            "_id": message.public_id,
            "author": message.author_kind,
            "name": author_name(message, room),
            "msg": visible_text(message, include_hidden),
            "ts": format_ts(message.ts),
            "hidden": message.is_hidden,
        }
        if include_hidden and message.is_hidden:
            item["hiddenReason"] = message.hidden_reason
        yield ("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]}\n"
