"""Rocket.Chat's paging and sorting of list routes: ``offset``, ``count``, ``sort={"ts":-1}``.

As Rocket.Chat's ``getPaginationItems``: ``count`` defaults to ``DEFAULT_PAGE_SIZE`` (also when
0) and is capped at ``MAX_PAGE_SIZE``; ``offset`` defaults to 0. As its ``parseJsonQuery``:
``sort`` is a JSON object of field -> 1 or -1; anything else is 400 ``error-invalid-sort``.
Only the fields a route lists may be sorted on, each mapped to a model field; the primary key
always breaks ties so pages never overlap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, OrderBy
from django.utils.translation import gettext as _

from django_livechat.conf import app_settings
from django_livechat.wire import LivechatError


def page_bounds(offset: int | float | None, count: int | float | None) -> tuple[int, int]:
    """``(offset, count)`` from validated numbers: defaults, the cap, integers."""
    size = int(count or 0) or app_settings.DEFAULT_PAGE_SIZE
    return int(offset or 0), min(size, app_settings.MAX_PAGE_SIZE)


def parse_sort(
    raw: str | None, fields: Mapping[str, str], default: Mapping[str, int]
) -> list[OrderBy]:
    """``ORDER BY`` expressions for Rocket.Chat's ``sort`` parameter, ``pk`` last.

    ``fields`` maps the wire names that may be sorted on to model fields.
    """
    order: Mapping[str, Any] = default
    if raw:
        try:
            order = json.loads(raw)
        except ValueError:
            order = {}
        if (
            not isinstance(order, dict)
            or not order
            or any(key not in fields or value not in (1, -1) for key, value in order.items())
            or any(isinstance(value, bool) for value in order.values())
        ):
            raise LivechatError(
                _('Invalid sort parameter provided: "%(sort)s"') % {"sort": raw},
                "error-invalid-sort",
            )
    expressions = []
    for key, direction in order.items():
        column = F(fields[key])
        expressions.append(
            column.desc(nulls_last=True) if direction == -1 else column.asc(nulls_last=True)
        )
    last = list(order.values())[-1]
    expressions.append(F("pk").desc() if last == -1 else F("pk").asc())
    return expressions


def parse_date(value: str, name: str) -> datetime:
    """A date as JavaScript's ``Date.parse`` reads ISO-8601; naive values are UTC.

    Invalid -> 400 ``The "<name>" query parameter must be a valid date.`` (Rocket.Chat's words).
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise LivechatError(
            _('The "%(name)s" query parameter must be a valid date.') % {"name": name}, None
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
