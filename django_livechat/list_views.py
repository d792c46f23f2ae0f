"""The agent list routes: ``GET livechat/rooms`` and ``GET livechat/messages.list``.

Authenticated by ``X-Auth-Token``/``X-User-Id`` like ``livechat/messages``. Who may list:

- rooms: a user holding ``django_livechat.view_room``; or, as Rocket.Chat lets an agent list
  the rooms they serve, a user allowed to post (``django_livechat.add_message``) who asks for
  ``agents=<their own id>`` and no one else's;
- messages: a user holding ``django_livechat.view_message``. Hidden (moderated) messages are
  included for staff, marked ``"hidden": true``; ``hidden=false`` leaves them out.

Parameters are validated first as Rocket.Chat's published validator does (unknown parameter ->
``must NOT have additional properties [invalid-params]``), then by the explicit FilterSets of
:mod:`django_livechat.filters` (a value that does not parse -> 400). Paging is Rocket.Chat's:
``offset``, ``count`` (capped at ``MAX_PAGE_SIZE``), ``sort`` as JSON, and a reply carrying
``count``, ``offset`` and ``total``. Each page costs the same few queries whatever its size.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import FilterSet
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from django_livechat.filters import MessageFilterSet, RoomFilterSet
from django_livechat.models import Message, Room
from django_livechat.paging import page_bounds, parse_sort
from django_livechat.serializers import TOKEN_MAX_LENGTH
from django_livechat.shapes import message_shape, room_shape
from django_livechat.throttling import UserRateThrottle
from django_livechat.validation import Array, Nullable, Number, Object, String, query_params
from django_livechat.views import LivechatAPIView
from django_livechat.visitor_views import validated
from django_livechat.wire import LivechatError, first_message

_PAGING = {
    "count": Nullable(Number(minimum=0)),
    "offset": Nullable(Number(minimum=0)),
    "sort": Nullable(String()),
}
_TEXT = Nullable(String(max_length=1000))
_STRINGS = Nullable(Array(items=String(max_length=255), max_items=100))

# Rocket.Chat's isGETLivechatRoomsParams, plus ``token`` and ``lastMessageAt`` (ours).
ROOMS_QUERY = Object(
    properties={
        **_PAGING,
        "fields": _TEXT,
        "createdAt": _TEXT,
        "customFields": _TEXT,
        "closedAt": _TEXT,
        "lastMessageAt": _TEXT,
        "agents": _STRINGS,
        "roomName": _TEXT,
        "departmentId": _STRINGS,
        "open": _TEXT,
        "onhold": _TEXT,
        "queued": _TEXT,
        "tags": _STRINGS,
        "units": _STRINGS,
        "token": Nullable(String(max_length=TOKEN_MAX_LENGTH)),
    }
)
ROOMS_SORT_FIELDS = {
    "ts": "opened_at",
    "closedAt": "closed_at",
    "lm": "last_message_at",
    "msgs": "message_count",
}

MESSAGES_QUERY = Object(
    properties={
        **_PAGING,
        "roomId": _TEXT,
        "token": Nullable(String(max_length=TOKEN_MAX_LENGTH)),
        "author": _TEXT,
        "agents": _STRINGS,
        "ts": _TEXT,
        "searchText": _TEXT,
        "hidden": _TEXT,
    }
)
MESSAGES_SORT_FIELDS = {"ts": "ts"}


def filtered(filterset_class: type[FilterSet], data: dict[str, Any], qs: QuerySet[Any]) -> Any:
    """``qs`` filtered; a value the FilterSet rejects is 400 ``{"success":false,"error":...}``."""
    filterset = filterset_class(data=data, queryset=qs)
    if not filterset.is_valid():
        raise LivechatError(first_message(filterset.errors), None)
    return filterset.qs


class ListAPIView(LivechatAPIView):
    """Base of the agent list routes."""

    def get_throttles(self) -> list[BaseThrottle]:
        return [UserRateThrottle()]

    @staticmethod
    def page(
        qs: QuerySet[Any], query: dict[str, Any], fields: dict[str, str]
    ) -> tuple[list[Any], int, int, int]:
        """One page of ``qs``: ``(items, offset, count, total)``; two queries."""
        order = parse_sort(query.get("sort"), fields, {"ts": -1})
        offset, count = page_bounds(query.get("offset"), query.get("count"))
        total = qs.count()
        items = list(qs.order_by(*order)[offset : offset + count])
        return items, offset, count, total


class RoomsListView(ListAPIView):
    """``GET livechat/rooms``: conversations, filtered and paged."""

    def get(self, request: Request) -> Response:
        query = validated(ROOMS_QUERY, query_params(request.query_params))
        user = request.user
        own = query.get("agents") == [str(user.pk)]
        if not (
            user.has_perm("django_livechat.view_room")
            or (own and user.has_perm("django_livechat.add_message"))
        ):
            raise PermissionDenied()
        rooms = filtered(
            RoomFilterSet,
            query,
            Room.objects.select_related("visitor", "serving_agent", "closed_by"),
        )
        page, offset, _count, total = self.page(rooms, query, ROOMS_SORT_FIELDS)
        return Response(
            {
                "rooms": [room_shape(room) for room in page],
                "count": len(page),
                "offset": offset,
                "total": total,
                "success": True,
            }
        )


class MessagesListView(ListAPIView):
    """``GET livechat/messages.list``: messages of every room, filtered and paged."""

    def get(self, request: Request) -> Response:
        query = validated(MESSAGES_QUERY, query_params(request.query_params))
        if not request.user.has_perm("django_livechat.view_message"):
            raise PermissionDenied()
        messages = filtered(
            MessageFilterSet,
            query,
            Message.objects.select_related("room__visitor", "agent"),
        )
        page, offset, _count, total = self.page(messages, query, MESSAGES_SORT_FIELDS)
        return Response(
            {
                "messages": [message_shape(m, m.room, for_visitor=False) for m in page],
                "count": len(page),
                "offset": offset,
                "total": total,
                "success": True,
            }
        )
