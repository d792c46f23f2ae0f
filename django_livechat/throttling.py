"""Throttling: per API user, per visitor token, and failed authentications per client IP.

The rates are the setting ``DJANGO_LIVECHAT["THROTTLE_RATES"]`` (DRF's ``"<count>/<period>"``
format, period ``s``, ``m``, ``h`` or ``d``; ``None`` disables one), read on every request, so
the host's ``REST_FRAMEWORK`` settings are never needed. Counts live in the Django cache named
by ``THROTTLE_CACHE``: with several server processes use a shared cache (Redis, Memcached,
database); the default in-process ``LocMemCache`` counts per process.

Each throttle is a fixed-window counter (``cache.add`` + ``cache.incr``): one cache round trip
per request whatever the rate, and atomic in the shared cache backends, unlike DRF's
``SimpleRateThrottle``, which rewrites a list of every request's time on every request.

A throttled request is answered 429 in the API's error shape with ``Retry-After``
(:func:`django_livechat.wire.exception_handler` formats DRF's ``Throttled``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.core.cache import BaseCache, caches
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from django_livechat.conf import SETTINGS, app_settings
from django_livechat.validation import SchemaError, String

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The scopes of THROTTLE_RATES.
USER = "user"
VISITOR = "visitor"
AUTH_FAILURE = "auth_failure"
SCOPES = (USER, VISITOR, AUTH_FAILURE)


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"100/min"`` -> ``(100, 60)``; ``None`` -> ``None`` (no limit). Raises ``ValueError``."""
    if rate is None:
        return None
    count, _slash, period = str(rate).partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip()[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate like '100/min' (periods: s, m, h, d)")
    return int(count), PERIODS[period.strip()[0]]


def rate_for(scope: str) -> tuple[int, int] | None:
    rates = {**SETTINGS["THROTTLE_RATES"].default, **(app_settings.THROTTLE_RATES or {})}
    return parse_rate(rates.get(scope))


def client_ip(request: Request) -> str:
    """The client's address: ``REMOTE_ADDR``, or, behind ``NUM_PROXIES`` trusted proxies, the
    address those proxies put in ``X-Forwarded-For`` (never a value the client chose)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = app_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
        if hops:
            return str(hops[-min(proxies, len(hops))])
    return remote


def _now() -> float:
    return time.time()


def _cache() -> BaseCache:
    return caches[app_settings.THROTTLE_CACHE]


class Window:
    """A fixed-window counter for one scope and one identity."""

    def __init__(self, scope: str, ident: str, rate: tuple[int, int]) -> None:
        self.limit, self.duration = rate
        now = _now()
        start = int(now // self.duration) * self.duration
        self.remaining = start + self.duration - now
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.key = f"django_livechat:throttle:{scope}:{digest}:{start}"

    def count(self) -> int:
        return int(_cache().get(self.key, 0))

    def hit(self) -> int:
        """Count one more request in this window; return the new count."""
        cache = _cache()
        # +1 s: the key outlives its window a little, so a slow cache never resets it early.
        cache.add(self.key, 0, timeout=self.duration + 1)
        try:
            return int(cache.incr(self.key))
        except ValueError:  # evicted between add() and incr()
            cache.set(self.key, 1, timeout=self.duration + 1)
            return 1


class WindowThrottle(BaseThrottle):
    """A DRF throttle counting requests per identity in fixed windows of the scope's rate."""

    scope: str = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request, view: Any) -> str | None:  # pragma: no cover
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = rate_for(self.scope)
        if rate is None:
            return True
        ident = self.identity(request, view)
        if ident is None:
            return True
        window = Window(self.scope, ident, rate)
        if window.hit() > window.limit:
            self._wait = window.remaining
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class UserRateThrottle(WindowThrottle):
    """Requests per API user (all the user's tokens together): scope ``user``."""

    scope = USER

    def identity(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return str(user.pk)


_TOKEN = String()


def visitor_token_in_body(request: Request) -> str | None:
    """``visitor.token`` of a ``livechat/messages``-shaped body, coerced as validation would;
    ``None`` if the body has none (validation then rejects it)."""
    data = request.data
    visitor = data.get("visitor") if isinstance(data, dict) else None
    if not isinstance(visitor, dict) or "token" not in visitor:
        return None
    try:
        return _TOKEN.validate(visitor["token"])
    except SchemaError:
        return None


class VisitorRateThrottle(WindowThrottle):
    """Requests per visitor token: scope ``visitor``.

    The token is read by the view's ``throttle_visitor_token(request)`` if it has one (routes
    that carry the token elsewhere), else from the body's ``visitor.token``.
    """

    scope = VISITOR

    def identity(self, request: Request, view: Any) -> str | None:
        reader = getattr(view, "throttle_visitor_token", None)
        return reader(request) if callable(reader) else visitor_token_in_body(request)


class AuthFailureGuard:
    """Failed authentications per client IP: scope ``auth_failure``.

    :meth:`check` runs before authenticating and raises ``Throttled`` once the address has
    failed too often in the current window (whatever the credentials it sends now: guessing
    stops); :meth:`record` counts one failure. Every authentication failure itself keeps the
    one 401 body, so a guesser learns nothing from the answer.
    """

    scope = AUTH_FAILURE

    def _window(self, request: Request) -> Window | None:
        rate = rate_for(self.scope)
        return None if rate is None else Window(self.scope, client_ip(request), rate)

    def check(self, request: Request) -> None:
        window = self._window(request)
        if window is not None and window.count() >= window.limit:
            raise Throttled(wait=window.remaining)

    def record(self, request: Request) -> None:
        window = self._window(request)
        if window is not None:
            window.hit()
