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

import math
import re
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
        text: str = value if isinstance(value, str) else self.coerce(value)
        limit = _limit(self.max_length)
        if limit is not None and len(text) > limit:
            raise SchemaError(_("must NOT have more than %(limit)d characters") % {"limit": limit})
        if has_unstorable_characters(text):
            raise SchemaError(_("must NOT contain NUL characters or unpaired surrogates"))
        return text

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
                raise SchemaError(_("must have required property '%(name)s'") % {"name": name})
        if not self.additional_properties and not self._known.issuperset(value):
            raise SchemaError(_("must NOT have additional properties"))
        result = dict(value)
        for name, schema in self.properties.items():
            if name in value:
                result[name] = schema.validate(value[name])
        return result


@dataclass
class Nullable(Schema):
    """ajv's ``nullable: true``: ``null`` passes as ``None``; anything else goes to ``schema``."""

    schema: Schema

    def validate(self, value: Any) -> Any:
        if value is None:
            return None
        return self.schema.validate(value)


_JS_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass
class Number(Schema):
    """ajv's ``type: number`` with ``coerceTypes: "array"``, plus an optional ``minimum``.

    A numeric string (``"20"``), a boolean (1/0) or ``null`` (0) becomes a number; a one-element
    array holding one of those is unwrapped first. Integral values come back as ``int``.
    """

    minimum: float | None = None

    def validate(self, value: Any) -> int | float:
        number = self.coerce(value)
        if self.minimum is not None and number < self.minimum:
            limit = js_number_to_string(self.minimum)
            raise SchemaError(_("must be >= %(limit)s") % {"limit": limit})
        return number

    @staticmethod
    def coerce(value: Any) -> int | float:
        if isinstance(value, list) and len(value) == 1 and _is_scalar(value[0]):
            value = value[0]
        if isinstance(value, bool):
            return int(value)
        if value is None:
            return 0
        if isinstance(value, str) and _JS_NUMBER.match(value):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            return int(value) if float(value).is_integer() else float(value)
        raise SchemaError(_("must be number"))


def query_params(query: Any) -> dict[str, Any]:
    """A ``QueryDict`` as Rocket.Chat's query parser (``qs``) reads it.

    ``key[]=a&key[]=b`` and repeated ``key=a&key=b`` become lists; a key given once is a string.
    """
    result: dict[str, Any] = {}
    for key in query:
        values = list(query.getlist(key))
        name, is_list = (key[:-2], True) if key.endswith("[]") and len(key) > 2 else (key, False)
        if name in result:
            previous = result[name]
            result[name] = (previous if isinstance(previous, list) else [previous]) + values
        elif is_list or len(values) > 1:
            result[name] = values
        else:
            result[name] = values[0]
    return result


# ---------------------------------------------------------------------------------------------
# Meteor's ``check()``: the older routes (``livechat/visitor``, ``livechat/room``) validate with
# it, and answer ``{"success": false, "error": "Match error: <message>[ in field <path>]"}``.
# ---------------------------------------------------------------------------------------------


class MatchError(Exception):
    """A failed Meteor ``check()``; ``str()`` is Meteor's whole message."""

    def __init__(self, message: str, path: str = "") -> None:
        self.reason = message
        self.path = path
        text = f"Match error: {message}" + (f" in field {path}" if path else "")
        super().__init__(text)
        self.message = text


def _typeof(value: Any) -> str:
    """JavaScript's ``typeof`` of a parsed JSON value (``null`` named as Meteor names it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass
class Match:
    """A Meteor pattern: ``kind`` is ``"string"``, ``"boolean"``, ``"object"`` or ``"array"``.

    ``optional`` is ``Match.Maybe`` (``null`` or absent allowed); ``fields`` the object's keys;
    ``including`` is ``Match.ObjectIncluding`` (unknown keys allowed); ``items`` an array's pattern.
    """

    kind: str
    optional: bool = False
    fields: Mapping[str, Match] | None = None
    including: bool = False
    items: Match | None = None

    def check(self, value: Any, path: str = "") -> Any:
        if value is None and self.optional:
            return None
        if self.kind in ("string", "boolean"):
            if _typeof(value) != self.kind:
                raise MatchError(f"Expected {self.kind}, got {_typeof(value)}", path)
            return value
        if self.kind == "array":
            if not isinstance(value, list):
                raise MatchError(f"Expected array, got {_typeof(value)}", path)
            items = self.items or Match("object", including=True)
            return [items.check(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise MatchError("Expected plain object", path)
            raise MatchError(f"Expected object, got {_typeof(value)}", path)
        fields = self.fields or {}
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in fields:
                result[key] = fields[key].check(item, _join(path, key))
            elif not self.including:
                raise MatchError("Unknown key", _join(path, key))
        for key, pattern in fields.items():
            if key not in value and not pattern.optional:
                raise MatchError(f"Missing key '{key}'", path)
        return result
