"""The filters of the agent list routes, declared explicitly (django-filter).

Parameter names are Rocket.Chat's (``open``, ``agents``, ``createdAt``, ``closedAt``,
``roomName``, ``departmentId``...) plus ours (``token``, ``lastMessageAt``, and the message
list's). A value that does not parse is an error (400), never silently ignored; no filter takes
a regular expression or a lookup from the request.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from django_livechat.models import Message, Room
from django_livechat.paging import parse_date
from django_livechat.wire import LivechatError

CUSTOM_FIELDS_FILTER_MAX = 10


class DateRangeField(forms.Field):
    """Rocket.Chat's date range parameter: JSON ``{"start": "<ISO date>", "end": "<ISO date>"}``.

    Either bound may be left out. Cleans to ``(start, end)``.
    """

    def __init__(self, *, param: str, **kwargs: Any) -> None:
        self.param = param
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> tuple[datetime | None, datetime | None] | None:
        if value in (None, ""):
            return None
        try:
            data = json.loads(value)
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict) or set(data) - {"start", "end"}:
            raise forms.ValidationError(
                _('The "%(name)s" query parameter must be a JSON object {"start", "end"}.')
                % {"name": self.param}
            )
        bounds: list[datetime | None] = []
        for key in ("start", "end"):
            raw = data.get(key)
            if raw in (None, ""):
                bounds.append(None)
                continue
            name = f"{self.param}.{key}"
            if not isinstance(raw, str):
                raise forms.ValidationError(
                    _('The "%(name)s" query parameter must be a valid date.') % {"name": name}
                )
            try:
                bounds.append(parse_date(raw, name))
            except LivechatError as exc:
                raise forms.ValidationError(exc.message) from None
        return bounds[0], bounds[1]


class DateRangeFilter(django_filters.Filter):
    """``field >= start`` and ``field <= end`` (as Rocket.Chat's ``$gte``/``$lte``)."""

    field_class = DateRangeField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        start, end = value
        if start is not None:
            qs = qs.filter(**{f"{self.field_name}__gte": start})
        if end is not None:
            qs = qs.filter(**{f"{self.field_name}__lte": end})
        return qs


class TrueFalseField(forms.Field):
    """``"true"`` or ``"false"`` (Rocket.Chat's boolean query parameters)."""

    def __init__(self, *, param: str, **kwargs: Any) -> None:
        self.param = param
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return bool(value == "true")
        raise forms.ValidationError(
            _('The "%(name)s" query parameter must be "true" or "false".') % {"name": self.param}
        )


class StringListField(forms.Field):
    """A list of strings (``key[]=a&key[]=b``, ``key=a&key=b`` or ``key=a``)."""

    widget = forms.SelectMultiple

    def to_python(self, value: Any) -> list[str] | None:
        if value in (None, "", []):
            return None
        if isinstance(value, str):
            return [value]
        return [str(item) for item in value]


class UserIdsField(StringListField):
    """User ids (the ``_id`` this API gives users: their primary key as a string)."""

    def __init__(self, *, param: str, **kwargs: Any) -> None:
        self.param = param
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str] | None:
        ids = super().to_python(value)
        if ids and not all(item.isascii() and item.isdigit() and len(item) < 19 for item in ids):
            raise forms.ValidationError(
                _('The "%(name)s" query parameter must hold user ids.') % {"name": self.param}
            )
        return ids


class JSONObjectField(forms.Field):
    """A JSON object of string keys to string values (Rocket.Chat's ``customFields``)."""

    def __init__(self, *, param: str, **kwargs: Any) -> None:
        self.param = param
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict[str, str] | None:
        if value in (None, ""):
            return None
        try:
            data = json.loads(value)
        except (TypeError, ValueError):
            data = None
        if (
            not isinstance(data, dict)
            or len(data) > CUSTOM_FIELDS_FILTER_MAX
            or not all(isinstance(v, str) for v in data.values())
        ):
            raise forms.ValidationError(
                _('The "%(name)s" query parameter must be a valid JSON.') % {"name": self.param}
            )
        return data


class TrueFalseFilter(django_filters.Filter):
    field_class = TrueFalseField


class StringListFilter(django_filters.Filter):
    field_class = StringListField


class UserIdsFilter(django_filters.Filter):
    field_class = UserIdsField


class JSONObjectFilter(django_filters.Filter):
    field_class = JSONObjectField


class RoomFilterSet(django_filters.FilterSet):
    """``GET livechat/rooms``."""

    open = TrueFalseFilter(method="filter_open", param="open")
    token = django_filters.CharFilter(field_name="visitor__token")
    agents = UserIdsFilter(field_name="serving_agent_id", lookup_expr="in", param="agents")
    departmentId = StringListFilter(  # noqa: N815 - Rocket.Chat's parameter name
        field_name="visitor__department", lookup_expr="in"
    )
    createdAt = DateRangeFilter(field_name="opened_at", param="createdAt")  # noqa: N815
    closedAt = DateRangeFilter(field_name="closed_at", param="closedAt")  # noqa: N815
    lastMessageAt = DateRangeFilter(  # noqa: N815
        field_name="last_message_at", param="lastMessageAt"
    )
    roomName = django_filters.CharFilter(method="filter_room_name")  # noqa: N815
    customFields = JSONObjectFilter(  # noqa: N815
        method="filter_custom_fields", param="customFields"
    )
    # Rocket.Chat's on-hold and queued rooms, tags and units: we have none of them, so asking
    # for them finds nothing, and asking for their absence filters nothing.
    onhold = TrueFalseFilter(method="filter_none", param="onhold")
    queued = TrueFalseFilter(method="filter_none", param="queued")
    tags = StringListFilter(method="filter_none")
    units = StringListFilter(method="filter_none")

    class Meta:
        model = Room
        fields: list[str] = []

    def filter_open(self, qs: QuerySet[Room], name: str, value: bool | None) -> QuerySet[Room]:
        if value is None:
            return qs
        return qs.filter(status=Room.Status.OPEN if value else Room.Status.CLOSED)

    def filter_room_name(self, qs: QuerySet[Room], name: str, value: str) -> QuerySet[Room]:
        if not value:
            return qs
        return qs.filter(Q(visitor__name__icontains=value) | Q(visitor__username__icontains=value))

    def filter_custom_fields(
        self, qs: QuerySet[Room], name: str, value: dict[str, str] | None
    ) -> QuerySet[Room]:
        for i, (key, wanted) in enumerate((value or {}).items()):
            alias = f"custom_field_{i}"
            value_text = Cast(KeyTextTransform(key, "visitor__livechat_data"), TextField())
            qs = qs.alias(**{alias: value_text}).filter(**{alias: wanted})
        return qs

    def filter_none(self, qs: QuerySet[Room], name: str, value: Any) -> QuerySet[Room]:
        return qs.none() if value else qs


class MessageFilterSet(django_filters.FilterSet):
    """``GET livechat/messages.list``."""

    roomId = django_filters.CharFilter(field_name="room__rid")  # noqa: N815
    token = django_filters.CharFilter(field_name="room__visitor__token")
    author = django_filters.ChoiceFilter(
        field_name="author_kind",
        choices=Message.Author.choices,
        error_messages={
            "invalid_choice": 'The "author" query parameter must be one of visitor, agent, system.'
        },
    )
    agents = UserIdsFilter(field_name="agent_id", lookup_expr="in", param="agents")
    ts = DateRangeFilter(field_name="ts", param="ts")
    searchText = django_filters.CharFilter(  # noqa: N815
        field_name="msg", lookup_expr="icontains"
    )
    hidden = TrueFalseFilter(
        field_name="hidden_at",
        lookup_expr="isnull",
        exclude=True,
        param="hidden",
    )

    class Meta:
        model = Message
        fields: list[str] = []
