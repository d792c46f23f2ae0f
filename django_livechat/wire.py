"""Rocket.Chat's wire format: error shapes, compact JSON, JavaScript number strings, ``ts``.

This is the one layer that knows how Rocket.Chat spells things; the rest of the app is plain
Django. Every error any view of this app returns goes through :func:`exception_handler`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.signals import got_request_exception
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from django_livechat.conf import app_settings

logger = logging.getLogger("django_livechat")

# What Rocket.Chat 6.x-7.x answers for every authentication failure, byte for byte.
UNAUTHORIZED_BODY = {
    "success": False,
    "error": "You must be logged in to do this.",
    "status": "error",
    "message": "You must be logged in to do this.",
}


def js_number_to_string(value: float) -> str:
    """Format a number exactly as JavaScript's ``String(x)`` does (ECMAScript Number::toString)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # also for -0
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # the shortest digits that round-trip, as JavaScript chooses them
    mantissa, _e, exponent = text.partition("e")
    whole, _dot, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    # n: position of the decimal point relative to the first significant digit (ECMAScript's n)
    n = len(whole) + int(exponent or 0) - (len(all_digits) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        e_text = ("+" if e >= 0 else "-") + str(abs(e))
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + e_text
    return sign + out


def format_ts(value: datetime) -> str:
    """ISO-8601 UTC with exactly three fraction digits and ``Z``, as Rocket.Chat sends ``ts``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def error_body(message: str, error_type: str | None = None) -> dict[str, Any]:
    """Rocket.Chat's error shape: ``{"success":false,"error":"<message> [<type>]","errorType"}``."""
    if error_type is None:
        return {"success": False, "error": message}
    # A Meteor.Error without a reason reads "[type]" (GET livechat/visitor/<unknown token>).
    text = f"{message} [{error_type}]" if message else f"[{error_type}]"
    return {"success": False, "error": text, "errorType": error_type}


class LivechatError(exceptions.APIException):
    """An API error with Rocket.Chat's shape; ``error_type`` None gives ``{"success","error"}``."""

    def __init__(
        self,
        message: str,
        error_type: str | None = "invalid-params",
        status_code: int = status.HTTP_400_BAD_REQUEST,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status_code = status_code


class PayloadTooLarge(LivechatError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            _("Request body is larger than %(limit)d bytes") % {"limit": limit},
            "error-payload-too-large",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Parse a body as JavaScript's ``JSON.parse`` would: every number is read as a double."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LivechatError(_("Invalid JSON: the body is not valid UTF-8")) from exc
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise LivechatError(_("Invalid JSON: nested too deeply")) from exc
    except ValueError as exc:
        raise LivechatError(_("Invalid JSON: %(problem)s") % {"problem": exc}) from exc


class RocketChatJSONParser(BaseParser):
    """JSON bodies, size-limited (413), with JavaScript number semantics and clear 400s."""

    media_type = "application/json"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = app_settings.MAX_BODY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise PayloadTooLarge(limit)
        except ValueError:
            pass
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(limit)
        if not raw.strip():
            return {}
        return parse_json(raw)


class RocketChatJSONRenderer(JSONRenderer):
    """Compact JSON, keys in insertion order, ``Content-Type: application/json`` exactly."""

    media_type = "application/json"
    charset = None
    ensure_ascii = False
    compact = True
    strict = True


class FirstRendererNegotiation(BaseContentNegotiation):
    """Rocket.Chat answers JSON whatever ``Accept`` says; so do we (never 406)."""

    def select_parser(self, request: Any, parsers: Iterable[BaseParser]) -> BaseParser | None:
        for parser in parsers:
            if request.content_type.split(";")[0].strip().lower() == parser.media_type:
                return parser
        return None

    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


def first_message(detail: Any) -> str:
    """The first leaf message of a DRF error detail (a string, list or dict), without its path."""
    while isinstance(detail, list | dict):
        if not detail:
            return ""
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Turn any exception raised in this app's views into Rocket.Chat's error shape."""
    headers: dict[str, str] = {}
    code: int
    body: dict[str, Any]
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, body = status.HTTP_401_UNAUTHORIZED, dict(UNAUTHORIZED_BODY)
        auth_header = getattr(exc, "auth_header", None)  # set by APIView.handle_exception
        if auth_header:
            headers["WWW-Authenticate"] = str(auth_header)
    elif isinstance(exc, LivechatError):
        code, body = exc.status_code, error_body(exc.message, exc.error_type)
    elif isinstance(exc, exceptions.PermissionDenied):
        code = status.HTTP_403_FORBIDDEN
        body = error_body(
            "User does not have the permissions required for this action", "error-unauthorized"
        )
    elif isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        code = status.HTTP_400_BAD_REQUEST
        body = error_body(first_message(exc.detail), "invalid-params")
    elif isinstance(exc, exceptions.Throttled):
        wait = math.ceil(getattr(exc, "wait", None) or 1)
        headers["Retry-After"] = str(wait)
        code = status.HTTP_429_TOO_MANY_REQUESTS
        body = error_body(
            _(
                "Error, too many requests. Please slow down. You must wait %(wait)d seconds "
                "before trying this endpoint again."
            )
            % {"wait": wait},
            "error-too-many-requests",
        )
    elif isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        if view is not None:
            headers["Allow"] = ", ".join(view.allowed_methods)
        code = status.HTTP_405_METHOD_NOT_ALLOWED
        body = error_body(first_message(exc.detail), "error-method-not-allowed")
    elif isinstance(exc, exceptions.NotFound):
        code, body = (
            status.HTTP_404_NOT_FOUND,
            error_body(_("API endpoint does not exist"), "error-not-found"),
        )
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        body = error_body(first_message(exc.detail), "error-unsupported-media-type")
    elif isinstance(exc, exceptions.APIException):
        code = exc.status_code
        body = error_body(first_message(exc.detail), str(exc.default_code).replace("_", "-"))
    else:
        request = context.get("request")
        logger.error("Unhandled error in %s", context.get("view"), exc_info=exc)
        got_request_exception.send(sender=None, request=getattr(request, "_request", request))
        code, body = (
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            error_body(_("Internal server error"), "error-internal"),
        )
    set_rollback()
    return Response(body, status=code, headers=headers)
