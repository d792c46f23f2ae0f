"""Rocket.Chat's JSON shapes of a visitor, a room and a message, built from our models.

Field names and formats follow Rocket.Chat's ``ILivechatVisitor``, ``IOmnichannelRoom`` and
``IMessage`` as its REST API sends them: ids are strings, dates are ISO-8601 UTC with
milliseconds (``format_ts``), and optional fields are left out when empty, as Rocket.Chat does.
"""

from __future__ import annotations

from typing import Any

from django_livechat.models import Message, Room, Visitor
from django_livechat.wire import format_ts

# What Rocket.Chat's closing comment says when the visitor closes the room.
CLOSED_BY_VISITOR = "Closed by visitor"


def visitor_id(visitor: Visitor) -> str:
    """A visitor's ``_id``: the primary key, as a string (``guest-N`` already tells the order)."""
    return str(visitor.pk)


def user_ref(user: Any) -> dict[str, Any]:
    """``{"_id", "username", "name"?}`` of a staff user (``servedBy``, ``u``, ``closedBy``...)."""
    ref: dict[str, Any] = {"_id": str(user.pk), "username": user.get_username()}
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    if name:
        ref["name"] = name
    return ref


def visitor_shape(visitor: Visitor) -> dict[str, Any]:
    """``ILivechatVisitor``: what ``livechat/visitor`` replies."""
    shape: dict[str, Any] = {
        "_id": visitor_id(visitor),
        "username": visitor.username,
        "ts": format_ts(visitor.created_at),
        "_updatedAt": format_ts(visitor.updated_at or visitor.created_at),
        "token": visitor.token,
    }
    if visitor.name:
        shape["name"] = visitor.name
    if visitor.email:
        shape["visitorEmails"] = [{"address": visitor.email}]
    if visitor.phone:
        shape["phone"] = [{"phoneNumber": visitor.phone}]
    if visitor.department:
        shape["department"] = visitor.department
    if visitor.livechat_data:
        shape["livechatData"] = dict(visitor.livechat_data)
    if visitor.last_activity_at:
        shape["lastChat"] = {"ts": format_ts(visitor.last_activity_at)}
    shape["status"] = "online"
    return shape


def room_shape(room: Room) -> dict[str, Any]:
    """``IOmnichannelRoom``: ``room`` of ``livechat/room``, items of ``livechat/rooms``.

    Needs ``visitor``, ``serving_agent`` and ``closed_by`` loaded (``select_related``).
    """
    visitor = room.visitor
    shape: dict[str, Any] = {
        "_id": room.rid,
        "t": "l",
        "fname": visitor.name or visitor.username,
        "msgs": room.message_count,
        "ts": format_ts(room.opened_at),
        "v": {
            "_id": visitor_id(visitor),
            "username": visitor.username,
            "token": visitor.token,
            "status": "online",
        },
        "source": {"type": room.source},
    }
    if room.is_open:
        shape["open"] = True
    if room.last_message_at:
        shape["lm"] = format_ts(room.last_message_at)
    if visitor.department:
        shape["departmentId"] = visitor.department
    if room.serving_agent_id is not None and room.serving_agent is not None:
        shape["servedBy"] = {**user_ref(room.serving_agent), "ts": format_ts(room.opened_at)}
    if room.closed_at:
        shape["closedAt"] = format_ts(room.closed_at)
        shape["closer"] = "user" if room.closed_by_id else "visitor"
        if room.closed_by_id is not None and room.closed_by is not None:
            shape["closedBy"] = user_ref(room.closed_by)
        if room.close_comment:
            shape["comment"] = room.close_comment
    updated = max(d for d in (room.opened_at, room.last_message_at, room.closed_at) if d)
    shape["_updatedAt"] = format_ts(updated)
    return shape


def message_author(message: Message, visitor: Visitor) -> dict[str, Any]:
    if message.author_kind == Message.Author.VISITOR:
        ref = {"_id": visitor_id(visitor), "username": visitor.username}
        if visitor.name:
            ref["name"] = visitor.name
        return ref
    if message.author_kind == Message.Author.AGENT and message.agent is not None:
        return user_ref(message.agent)
    return {"_id": "rocket.cat", "username": "rocket.cat"}


def message_shape(message: Message, room: Room, *, for_visitor: bool = True) -> dict[str, Any]:
    """``IMessage``: what ``livechat/message`` and ``livechat/messages.history`` reply.

    ``room`` must have its ``visitor`` loaded; agent messages need ``agent`` loaded.
    Visitor-authored messages carry the visitor ``token`` only in replies to the visitor.
    """
    visitor = room.visitor
    shape: dict[str, Any] = {
        "_id": message.public_id,
        "rid": room.rid,
        "msg": message.msg,
        "ts": format_ts(message.ts),
        "u": message_author(message, visitor),
        "_updatedAt": format_ts(message.edited_at or message.ts),
    }
    if message.author_kind == Message.Author.VISITOR and for_visitor:
        shape["token"] = visitor.token
    if message.author_kind == Message.Author.SYSTEM:
        shape["t"] = "livechat-system"
    if message.edited_at:
        shape["editedAt"] = format_ts(message.edited_at)
        shape["editedBy"] = message_author(message, visitor)
    if not for_visitor:
        shape["hidden"] = message.hidden_at is not None
    return shape
