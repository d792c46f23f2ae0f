"""System checks for ``settings.DJANGO_LIVECHAT`` (ids ``django_livechat.E001``-``E003``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from django_livechat.conf import SETTINGS


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    user = getattr(settings, "DJANGO_LIVECHAT", {})
    if not isinstance(user, dict):
        return [
            Error(
                "DJANGO_LIVECHAT must be a dict.",
                hint="Set DJANGO_LIVECHAT = {...} in your settings.",
                id="django_livechat.E001",
            )
        ]
    errors: list[CheckMessage] = []
    for key, value in user.items():
        if key not in SETTINGS:
            errors.append(
                Error(
                    f"DJANGO_LIVECHAT has an unknown key {key!r}.",
                    hint="Known keys: " + ", ".join(sorted(SETTINGS)) + ".",
                    id="django_livechat.E002",
                )
            )
            continue
        spec = SETTINGS[key]
        wrong_type = not isinstance(value, spec.types) or (
            isinstance(value, bool) and bool not in spec.types
        )
        if wrong_type or (isinstance(value, int) and not isinstance(value, bool) and value < 1):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in spec.types)
            errors.append(
                Error(
                    f"DJANGO_LIVECHAT[{key!r}] must be {names}"
                    + (" greater than 0" if int in spec.types else "")
                    + f", not {value!r}.",
                    id="django_livechat.E003",
                )
            )
        elif key == "THROTTLE_RATES":
            errors.extend(_check_throttle_rates(value))
        elif key == "PERMISSION_CLASSES":
            for path in value:
                try:
                    import_string(path)
                except ImportError:
                    errors.append(
                        Error(
                            f"DJANGO_LIVECHAT['PERMISSION_CLASSES'] names {path!r}, "
                            "which cannot be imported.",
                            id="django_livechat.E003",
                        )
                    )
    return errors


def _check_throttle_rates(rates: dict[Any, Any]) -> list[CheckMessage]:
    from django_livechat.throttling import SCOPES, parse_rate

    errors: list[CheckMessage] = []
    for scope, rate in rates.items():
        if scope not in SCOPES:
            errors.append(
                Error(
                    f"DJANGO_LIVECHAT['THROTTLE_RATES'] has an unknown scope {scope!r}.",
                    hint="Known scopes: " + ", ".join(SCOPES) + ".",
                    id="django_livechat.E003",
                )
            )
            continue
        try:
            parse_rate(rate)
        except ValueError as exc:
            errors.append(
                Error(
                    f"DJANGO_LIVECHAT['THROTTLE_RATES'][{scope!r}]: {exc}.",
                    id="django_livechat.E003",
                )
            )
    return errors


@register(deploy=False)
def check_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not settings.USE_TZ:
        messages.append(
            Error(
                "django_livechat stores times in UTC and needs USE_TZ = True.",
                id="django_livechat.E004",
            )
        )
    messages.extend(sqlite_warnings(settings.DATABASES))
    return messages


def sqlite_warnings(databases: dict[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias, db in databases.items():
        if db.get("ENGINE") == "django.db.backends.sqlite3" and (
            str(db.get("OPTIONS", {}).get("transaction_mode", "")).upper() != "IMMEDIATE"
        ):
            messages.append(
                Warning(
                    f"Database {alias!r} is SQLite without IMMEDIATE transactions: concurrent "
                    "posts may fail with 'database is locked' or race for a room.",
                    hint='Add "OPTIONS": {"transaction_mode": "IMMEDIATE"} to it.',
                    id="django_livechat.W001",
                )
            )
    return messages
