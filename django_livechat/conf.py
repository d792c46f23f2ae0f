"""The app's settings: one namespaced dict, ``settings.DJANGO_LIVECHAT``, read on every access.

Reading at call time means ``override_settings(DJANGO_LIVECHAT=...)`` just works in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Setting:
    default: Any
    types: tuple[type, ...]
    help: str


# Every key users may set, with its default, accepted types and meaning (the README's table).
SETTINGS: dict[str, Setting] = {
    "MAX_MESSAGES": Setting(1000, (int,), "Most messages one request may carry."),
    "MAX_MESSAGE_LENGTH": Setting(5000, (int,), "Most characters in one message."),
    "MAX_BODY_SIZE": Setting(
        10 * 1024 * 1024, (int,), "Largest request body in bytes; larger ones get 413."
    ),
    "PERMISSION_CLASSES": Setting(
        ("django_livechat.permissions.CanPostMessages",),
        (list, tuple),
        "Dotted paths of the DRF permission classes that guard posting.",
    ),
    "TOKEN_LIFETIME": Setting(
        None, (int, type(None)), "Seconds a new API token lives; None means no expiry."
    ),
    "TOKEN_LAST_USED_INTERVAL": Setting(
        300, (int,), "Seconds between writes of a token's last-used time."
    ),
    "SERVER_VERSION": Setting("7.0", (str,), "Version reported by GET /api/info."),
    "DEFAULT_PAGE_SIZE": Setting(
        50, (int,), "Items per page of livechat/rooms and livechat/messages.list without count."
    ),
    "MAX_PAGE_SIZE": Setting(
        100, (int,), "Most items one page of any list route returns; a larger count is capped."
    ),
    "THROTTLE_RATES": Setting(
        {"user": "1200/min", "visitor": "120/min", "auth_failure": "20/min"},
        (dict,),
        "Request rates ('<count>/<s|m|h|d>', None disables): 'user' per API user, 'visitor' "
        "per visitor token, 'auth_failure' failed authentications per client IP. Keys left "
        "out keep their default.",
    ),
    "THROTTLE_CACHE": Setting(
        "default", (str,), "Alias of the Django cache holding the throttles' counts."
    ),
    "NUM_PROXIES": Setting(
        None,
        (int, type(None)),
        "Trusted reverse proxies in front of the site: the client IP is read from "
        "X-Forwarded-For that many hops back; None uses REMOTE_ADDR.",
    ),
    "IDEMPOTENCY_KEY_LIFETIME": Setting(
        24 * 60 * 60,
        (int,),
        "Seconds an Idempotency-Key's stored reply is kept; after that the key may be reused.",
    ),
    "WEBHOOK_TIMEOUT": Setting(10, (int, float), "Seconds to wait for a webhook receiver."),
    "WEBHOOK_MAX_ATTEMPTS": Setting(
        8, (int,), "Attempts to deliver one webhook before it is marked failed."
    ),
    "WEBHOOK_RETRY_DELAY": Setting(
        10, (int, float), "Seconds before the first webhook retry; doubled after each attempt."
    ),
    "WEBHOOK_RETRY_MAX_DELAY": Setting(
        3600, (int, float), "Longest wait in seconds between two webhook attempts."
    ),
    "WEBHOOK_TASK_BACKEND": Setting(
        "default", (str,), "Alias of the Tasks backend (settings.TASKS) that sends webhooks."
    ),
}


class LivechatSettings:
    """Attribute access to ``settings.DJANGO_LIVECHAT`` with defaults, read on every access."""

    def __getattr__(self, name: str) -> Any:
        if name not in SETTINGS:
            raise AttributeError(name)
        user = getattr(settings, "DJANGO_LIVECHAT", {}) or {}
        return user.get(name, SETTINGS[name].default)


app_settings = LivechatSettings()
