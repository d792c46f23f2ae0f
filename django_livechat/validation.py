"""Strict request validation with the semantics of Rocket.Chat's validators.

Rocket.Chat validates request bodies with ajv (``coerceTypes: "array"``, ``allErrors: false``,
``additionalProperties: false``). This module reproduces what matters of it: the order in which
keywords are checked, the first error only, ajv's messages without a path, and its coercions:

- number or boolean -> string as JavaScript's ``String(x)``; ``null`` -> ``""``;
- a one-element array holding a scalar, where a scalar is expected, is unwrapped first;
- a scalar (or ``null``) where an array is expected is wrapped in an array;
- objects and arrays never become strings, nothing becomes an object.

Limits may be callables so that they are read from the settings on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from django_livechat.wire import js_number_to_string

Limit = int | Callable[[], int] | None


class SchemaError(Exception):
    """The first validation failure, with ajv's message (no path)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _limit(value: Limit) -> int | None:
    return value() if callable(value) else value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class Schema:
    def validate(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def has_unstorable_characters(text: str) -> bool:
    """NUL and unpaired surrogates: valid JSON, but neither PostgreSQL nor UTF-8 can store them."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass
class String(Schema):
    max_length: Limit = None

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            value = self.coerce(value)
        limit = _limit(self.max_length)
        if limit is not None and len(value) > limit:
            raise SchemaError(
                _("must NOT have more than %(limit)d characters") % {"limit": limit}
            )
        if has_unstorable_characters(value):
            raise SchemaError(_("must NOT contain NUL characters or unpaired surrogates"))
        return value

    @staticmethod
    def coerce(value: Any) -> str:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
            if isinstance(value, str):
                return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return js_number_to_string(value)
        if value is None:
            return ""
        raise SchemaError(_("must be string"))


@dataclass
class Array(Schema):
    items: Schema
    min_items: Limit = None
    max_items: Limit = None

    def validate(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            if not _is_scalar(value):
                raise SchemaError(_("must be array"))
            value = [value]
        low, high = _limit(self.min_items), _limit(self.max_items)
        if high is not None and len(value) > high:
            raise SchemaError(_("must NOT have more than %(limit)d items") % {"limit": high})
        if low is not None and len(value) < low:
            raise SchemaError(_("must NOT have fewer than %(limit)d items") % {"limit": low})
        return [self.items.validate(item) for item in value]


@dataclass
class Object(Schema):
    properties: Mapping[str, Schema]
    required: tuple[str, ...] = ()
    additional_properties: bool = False
    _known: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._known = frozenset(self.properties)

    def validate(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaError(_("must be object"))
        for name in self.required:
            if name not in value:
                raise SchemaError(
                    _("must have required property '%(name)s'") % {"name": name}
                )
        if not self.additional_properties and not self._known.issuperset(value):
            raise SchemaError(_("must NOT have additional properties"))
        result = dict(value)
        for name, schema in self.properties.items():
            if name in value:
                result[name] = schema.validate(value[name])
        return result
