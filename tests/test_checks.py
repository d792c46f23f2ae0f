from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from django_livechat.checks import check_database, check_settings


def ids(**settings: object) -> list[str]:
    with override_settings(**settings):
        return [m.id for m in [*check_settings(), *check_database()] if m.id]


@pytest.mark.django_db
def test_the_checks_are_registered() -> None:
    with override_settings(DJANGO_LIVECHAT={"NOPE": 1}):
        assert "django_livechat.E002" in [m.id for m in run_checks()]


def test_defaults_are_clean() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], ["django_livechat.E001"]),
        ({"MAX_MESAGES": 10}, ["django_livechat.E002"]),
        ({"MAX_MESSAGES": "10"}, ["django_livechat.E003"]),
        ({"MAX_MESSAGES": True}, ["django_livechat.E003"]),
        ({"MAX_MESSAGES": 0}, ["django_livechat.E003"]),
        ({"MAX_MESSAGE_LENGTH": 1.5}, ["django_livechat.E003"]),
        ({"TOKEN_LIFETIME": "1d"}, ["django_livechat.E003"]),
        ({"PERMISSION_CLASSES": "a.b"}, ["django_livechat.E003"]),
        ({"PERMISSION_CLASSES": ["no.such.Class"]}, ["django_livechat.E003"]),
        ({"MAX_MESSAGES": 10, "TOKEN_LIFETIME": None}, []),
    ],
)
def test_settings_check(value: object, expected: list[str]) -> None:
    assert ids(DJANGO_LIVECHAT=value) == expected


def test_sqlite_without_immediate_transactions_warns() -> None:
    from django_livechat.checks import sqlite_warnings

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    immediate = {**sqlite, "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}
    found = sqlite_warnings({"a": sqlite, "b": immediate, "c": postgres})
    assert [m.id for m in found] == ["django_livechat.W001"]
    assert "'a'" in found[0].msg


def test_use_tz_is_required() -> None:
    with override_settings(USE_TZ=False):
        assert "django_livechat.E004" in [m.id for m in check_database()]
