"""The visitor side of the Livechat API: the routes Rocket.Chat's widget and clients call.

They authenticate by the visitor token alone (no ``X-Auth-Token``): whoever holds a token is
that visitor, and reaches only that visitor's rooms and messages. Moderated (hidden) messages
are never returned here. Validation and errors follow Rocket.Chat's routes:

- ``livechat/visitor`` and ``GET livechat/room`` use Meteor's ``check()``
  (``{"success":false,"error":"Match error: ..."}``);
- the others use the published ajv validators (``... [invalid-params]``);
- lookups fail as Rocket.Chat's do: ``{"success":false,"error":"invalid-token"}``,
  ``invalid-room``, ``room-closed``, ``invalid-message``; ``GET``/``DELETE
  livechat/visitor/<token>`` for an unknown token: ``[invalid-token]`` with ``errorType``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from django_livechat import services
from django_livechat.conf import app_settings
from django_livechat.idempotency import idempotent, request_visitor_scope
from django_livechat.models import ID_LENGTH, Visitor
from django_livechat.paging import page_bounds, parse_date, parse_sort
from django_livechat.serializers import TOKEN_MAX_LENGTH
from django_livechat.shapes import CLOSED_BY_VISITOR, message_shape, room_shape, visitor_shape
from django_livechat.throttling import VisitorRateThrottle
from django_livechat.validation import (
    Match,
    MatchError,
    Nullable,
    Number,
    Object,
    Schema,
    SchemaError,
    String,
    query_params,
)
from django_livechat.views import LivechatAPIView
from django_livechat.wire import LivechatError, format_ts

HISTORY_DEFAULT_LIMIT = 20  # Rocket.Chat's default page of livechat/messages.history
NAME_MAX_LENGTH: int = Visitor._meta.get_field("name").max_length or 255
PHONE_MAX_LENGTH: int = Visitor._meta.get_field("phone").max_length or 64
DEPARTMENT_MAX_LENGTH: int = Visitor._meta.get_field("department").max_length or 255
EMAIL_MAX_LENGTH: int = Visitor._meta.get_field("email").max_length or 254
CUSTOM_FIELDS_MAX = 100
CUSTOM_KEY_MAX_LENGTH = 100
CUSTOM_VALUE_MAX_LENGTH = 1000

_MAYBE_STRING = Match("string", optional=True)

# Rocket.Chat's check() of POST livechat/visitor.
VISITOR_REQUEST = Match(
    "object",
    fields={
        "visitor": Match(
            "object",
            including=True,
            fields={
                "token": Match("string"),
                "name": _MAYBE_STRING,
                "email": _MAYBE_STRING,
                "department": _MAYBE_STRING,
                "phone": _MAYBE_STRING,
                "username": _MAYBE_STRING,
                "customFields": Match(
                    "array",
                    optional=True,
                    items=Match(
                        "object",
                        including=True,
                        fields={
                            "key": Match("string"),
                            "value": Match("string"),
                            "overwrite": Match("boolean"),
                        },
                    ),
                ),
            },
        )
    },
)

# Rocket.Chat's check() of GET livechat/room's query.
ROOM_QUERY = Match(
    "object", fields={"token": Match("string"), "rid": _MAYBE_STRING, "agentId": _MAYBE_STRING}
)


def _token() -> String:
    return String(max_length=TOKEN_MAX_LENGTH)


def _msg() -> String:
    return String(max_length=lambda: app_settings.MAX_MESSAGE_LENGTH)


# Rocket.Chat's published validators (@rocket.chat/rest-typings), with our size limits.
ROOM_CLOSE_REQUEST = Object(
    properties={"token": _token(), "rid": String()}, required=("token", "rid")
)
MESSAGE_REQUEST = Object(
    properties={
        "token": _token(),
        "rid": String(),
        "msg": _msg(),
        "_id": Nullable(String(max_length=ID_LENGTH)),
        "agent": Object(
            properties={"agentId": String(), "username": String()},
            required=("agentId", "username"),
        ),
    },
    required=("token", "rid", "msg"),
)
MESSAGE_ID_QUERY = Object(
    properties={"token": _token(), "rid": String()}, required=("token", "rid")
)
MESSAGE_UPDATE_REQUEST = Object(
    properties={"token": _token(), "rid": String(), "msg": _msg()},
    required=("token", "rid", "msg"),
)
MESSAGE_DELETE_REQUEST = Object(
    properties={
        "token": _token(),
        "rid": String(),
        "count": Nullable(Number()),
        "offset": Nullable(Number()),
        "sort": Nullable(String()),
    },
    required=("token", "rid"),
)
HISTORY_QUERY = Object(
    properties={
        "searchText": Nullable(String(max_length=1000)),
        "token": _token(),
        "count": Nullable(Number(minimum=0)),
        "offset": Nullable(Number(minimum=0)),
        "sort": Nullable(String()),
        "ls": Nullable(String()),
        "end": Nullable(String()),
        "limit": Nullable(Number(minimum=0)),
    },
    required=("token",),
)

HISTORY_SORT_FIELDS = {"ts": "ts"}


def validated(schema: Schema, data: Any) -> Any:
    """``data`` checked (and coerced) by an ajv-like ``schema``; the first failure is 400
    ``invalid-params``."""
    try:
        return schema.validate(data)
    except SchemaError as exc:
        raise LivechatError(exc.message, "invalid-params") from exc


def checked(pattern: Match, data: Any) -> dict[str, Any]:
    """``data`` checked by a Meteor pattern; failure is 400 ``{"error": "Match error: ..."}``."""
    try:
        result: dict[str, Any] = pattern.check(data)
    except MatchError as exc:
        raise LivechatError(exc.message, None) from exc
    return result


@contextmanager
def rocketchat_errors() -> Iterator[None]:
    """The service's lookup failures as Rocket.Chat's plain errors (400 ``{"error": "..."}``)."""
    try:
        yield
    except services.VisitorNotFound as exc:
        raise LivechatError("invalid-token", None) from exc
    except services.RoomNotFound as exc:
        raise LivechatError("invalid-room", None) from exc
    except services.RoomClosed as exc:
        raise LivechatError("room-closed", None) from exc
    except services.MessageNotFound as exc:
        raise LivechatError("invalid-message", None) from exc
    except services.MessageIdTaken as exc:
        raise LivechatError("invalid-message-id", None) from exc
    except services.VisitorBlocked as exc:
        raise LivechatError(str(exc), "error-visitor-blocked", status.HTTP_403_FORBIDDEN) from exc


class VisitorAPIView(LivechatAPIView):
    """Base of the visitor-token routes: no user authentication, throttled per visitor token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    counts_auth_failures = False

    def get_throttles(self) -> list[BaseThrottle]:
        return [VisitorRateThrottle()]

    def throttle_visitor_token(self, request: Request) -> str | None:
        """The visitor token of this request, wherever the route carries it."""
        token = self.kwargs.get("token") or request.query_params.get("token")
        if token is None and request.method in ("POST", "PUT", "DELETE"):
            data = request.data
            if isinstance(data, dict):
                token = data.get("token")
                if token is None and isinstance(data.get("visitor"), dict):
                    token = data["visitor"].get("token")
        return token if isinstance(token, str) else None


def _limited(value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise LivechatError(
            _("must NOT have more than %(limit)d characters") % {"limit": limit},
            "invalid-params",
        )
    return value


class VisitorView(VisitorAPIView):
    """``POST livechat/visitor``: register a visitor, or update the one with this token."""

    def post(self, request: Request) -> Response:
        data = checked(VISITOR_REQUEST, request.data)["visitor"]
        token = validated(_token(), data["token"])
        if not token.strip():
            raise LivechatError(_("Token cannot be empty"), "error-invalid-token")
        email = data.get("email")
        if email:
            email = email.strip().lower()
            try:
                validate_email(email)
            except DjangoValidationError:
                raise LivechatError(_("Invalid email"), "error-invalid-email") from None
        custom = data.get("customFields") or []
        if len(custom) > CUSTOM_FIELDS_MAX:
            raise LivechatError(
                _("must NOT have more than %(limit)d items") % {"limit": CUSTOM_FIELDS_MAX},
                "invalid-params",
            )
        custom_fields = [
            services.CustomField(
                key=validated(String(max_length=CUSTOM_KEY_MAX_LENGTH), item["key"]),
                value=validated(String(max_length=CUSTOM_VALUE_MAX_LENGTH), item["value"]),
                overwrite=item["overwrite"],
            )
            for item in custom
        ]
        fields = {
            "name": _limited(data.get("name"), NAME_MAX_LENGTH),
            "email": _limited(email, EMAIL_MAX_LENGTH),
            "phone": _limited(data.get("phone"), PHONE_MAX_LENGTH),
            "department": _limited(data.get("department"), DEPARTMENT_MAX_LENGTH),
        }
        for value in fields.values():
            if value is not None:
                validated(String(), value)  # no NUL characters, no lone surrogates
        visitor, _created = services.update_visitor(token, custom_fields=custom_fields, **fields)
        return Response({"visitor": visitor_shape(visitor), "success": True})


class VisitorDetailView(VisitorAPIView):
    """``GET`` and ``DELETE livechat/visitor/<token>``."""

    def get(self, request: Request, token: str) -> Response:
        try:
            visitor = services.get_visitor(token)
        except services.VisitorNotFound as exc:
            raise LivechatError("", "invalid-token") from exc
        return Response({"visitor": visitor_shape(visitor), "success": True})

    def delete(self, request: Request, token: str) -> Response:
        try:
            visitor = services.erase_visitor_by_token(token)
        except services.VisitorNotFound as exc:
            raise LivechatError("", "invalid-token") from exc
        return Response(
            {
                "visitor": {"_id": str(visitor.pk), "ts": format_ts(timezone.now())},
                "success": True,
            }
        )


class RoomView(VisitorAPIView):
    """``GET livechat/room?token=[&rid=]``: the visitor's open room, or a new one."""

    def get(self, request: Request) -> Response:
        query = checked(ROOM_QUERY, query_params(request.query_params))
        token = validated(_token(), query["token"])
        with rocketchat_errors():
            room, new = services.visitor_room(token, query.get("rid"))
        return Response({"room": room_shape(room), "newRoom": new, "success": True})


class RoomCloseView(VisitorAPIView):
    """``POST livechat/room.close`` ``{"token", "rid"}``: the visitor closes their room."""

    def post(self, request: Request) -> Response:
        body = validated(ROOM_CLOSE_REQUEST, request.data)
        with rocketchat_errors():
            services.close_room_by_visitor(body["token"], body["rid"], CLOSED_BY_VISITOR)
        return Response({"rid": body["rid"], "comment": CLOSED_BY_VISITOR, "success": True})


class MessageView(VisitorAPIView):
    """``POST livechat/message`` ``{"token", "rid", "msg", "_id"?}``.

    Posting an ``_id`` that this visitor already stored in this room returns that message and
    stores nothing (our deliberate difference: Rocket.Chat answers 400). An ``Idempotency-Key``
    header makes any retry safe, keyed by the visitor token (``idempotency``).
    """

    @idempotent(request_visitor_scope)
    def post(self, request: Request) -> Response:
        body = validated(MESSAGE_REQUEST, request.data)
        with rocketchat_errors():
            message, _new = services.post_visitor_message(
                body["token"], body["rid"], body["msg"], body.get("_id") or None
            )
        return Response({"message": message_shape(message, message.room), "success": True})


class MessageDetailView(VisitorAPIView):
    """``GET``, ``PUT`` and ``DELETE livechat/message/<_id>``: one message of the visitor's room."""

    def get(self, request: Request, message_id: str) -> Response:
        query = validated(MESSAGE_ID_QUERY, query_params(request.query_params))
        with rocketchat_errors():
            message = services.get_visitor_message(query["token"], query["rid"], message_id)
        return Response({"message": message_shape(message, message.room), "success": True})

    def put(self, request: Request, message_id: str) -> Response:
        body = validated(MESSAGE_UPDATE_REQUEST, request.data)
        with rocketchat_errors():
            try:
                message = services.edit_visitor_message(
                    body["token"], body["rid"], message_id, body["msg"]
                )
            except services.NotAllowed as exc:
                raise LivechatError(
                    _("Message editing not allowed"), "error-action-not-allowed"
                ) from exc
        return Response({"message": message_shape(message, message.room), "success": True})

    def delete(self, request: Request, message_id: str) -> Response:
        # Rocket.Chat's handler reads the body; its validator the query: take whichever is sent.
        data = request.data if request.data else query_params(request.query_params)
        body = validated(MESSAGE_DELETE_REQUEST, data)
        with rocketchat_errors():
            try:
                services.delete_visitor_message(body["token"], body["rid"], message_id)
            except services.NotAllowed as exc:
                raise LivechatError(
                    _("Message deleting not allowed"), "error-action-not-allowed"
                ) from exc
        return Response(
            {"message": {"_id": message_id, "ts": format_ts(timezone.now())}, "success": True}
        )


class MessagesHistoryView(VisitorAPIView):
    """``GET livechat/messages.history/<rid>?token=``: the room's messages, newest first.

    Paged by ``offset`` and ``limit`` (Rocket.Chat; default 20) or ``count`` (what
    ``rocketchat-API`` sends), capped at ``MAX_PAGE_SIZE``; ``end``: only messages before that
    time; ``searchText``: only messages containing it; ``sort``: ``{"ts": 1}`` for oldest first.
    """

    def get(self, request: Request, rid: str) -> Response:
        query = validated(HISTORY_QUERY, query_params(request.query_params))
        if not query["token"]:
            raise LivechatError("error-token-param-not-provided", None)
        order = parse_sort(query.get("sort"), HISTORY_SORT_FIELDS, {"ts": -1})
        end = parse_date(query["end"], "end") if query.get("end") else None
        if query.get("ls"):
            parse_date(query["ls"], "ls")  # Rocket.Chat reads it only for unread counts
        size = query.get("limit") or query.get("count") or HISTORY_DEFAULT_LIMIT
        offset, count = page_bounds(query.get("offset"), size)
        with rocketchat_errors():
            room, messages = services.visitor_history(query["token"], rid)
        if end is not None:
            messages = messages.filter(ts__lt=end)
        if query.get("searchText"):
            messages = messages.filter(msg__icontains=query["searchText"])
        page = list(messages.order_by(*order)[offset : offset + count])
        return Response({"messages": [message_shape(m, room) for m in page], "success": True})
