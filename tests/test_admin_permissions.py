"""Permission matrix: every custom admin view and action for four kinds of users.

- superuser: everything;
- moderator (view/change rooms, add_message, moderate_message, view/change/delete visitors);
- view-only staff (view_room, view_message, view_visitor, view_authtoken): reads, never changes;
- non-staff (holding the moderator's permissions): sent to the login page, nothing changes.

Refused POSTs are checked to leave the database as it was: permissions are enforced by the
views, not only by hiding buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_livechat import moderation, services
from django_livechat.models import AuthToken, Message, Room, Visitor
from tests.admin_fixtures import MODERATOR_PERMS, VIEWER_PERMS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def user_with(*codenames: str, **fields: Any) -> Any:
    user = UserFactory(**fields)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_livechat", codename__in=codenames
        )
    )
    return user


ROLES: dict[str, Callable[[], Any]] = {
    "superuser": lambda: UserFactory(username="su", is_staff=True, is_superuser=True),
    "moderator": lambda: user_with(*MODERATOR_PERMS, username="mod", is_staff=True),
    "viewer": lambda: user_with(*VIEWER_PERMS, username="viewer", is_staff=True),
    "nonstaff": lambda: user_with(*MODERATOR_PERMS, username="outsider", is_staff=False),
}


@dataclass
class World:
    room: Room
    visible: Message
    hidden: Message
    visitor: Visitor
    blocked: Visitor
    token: AuthToken
    owner: Any


@pytest.fixture
def world() -> World:
    posted = services.post_messages(token="tok", texts=["hello", "rude"])
    visible, hidden = Message.objects.filter(room=posted.room).order_by("ts")
    someone = UserFactory(username="someone", is_staff=True)
    moderation.hide_message(hidden, by=someone, reason="rude")
    blocked = services.post_messages(token="blocked", texts=["spam"]).visitor
    moderation.block_visitor(blocked)
    owner = UserFactory(username="integration")
    token, _raw = AuthToken.objects.create_token(owner, name="gateway")
    return World(posted.room, visible, hidden, posted.visitor, blocked, token, owner)


def state(w: World) -> tuple[Any, ...]:
    """Everything the custom actions may change."""
    return (
        Message.objects.count(),
        tuple(Room.objects.order_by("pk").values_list("status", "close_comment")),
        tuple(Message.objects.order_by("pk").values_list("hidden_at", "hidden_reason")),
        tuple(Visitor.objects.order_by("pk").values_list("is_blocked", flat=True)),
        AuthToken.objects.count(),
    )


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:django_livechat_{name}", args=args)


@dataclass
class Case:
    method: str
    path: Callable[[World], str]
    data: Callable[[World], dict[str, Any]]
    allowed: frozenset[str]
    changes: bool  # an allowed request changes the database


def case(
    method: str,
    path: Callable[[World], str],
    allowed: str,
    data: Callable[[World], dict[str, Any]] = lambda w: {},
) -> Case:
    return Case(method, path, data, frozenset(allowed.split()), changes=method == "POST")


ALL_STAFF = "superuser moderator viewer"
MODERATORS = "superuser moderator"

CASES: dict[str, Case] = {
    "conversation list": case("GET", lambda w: url("room_changelist"), ALL_STAFF),
    "conversation page": case("GET", lambda w: url("room_change", w.room.pk), ALL_STAFF),
    "transcript": case("GET", lambda w: url("room_transcript", w.room.pk), ALL_STAFF),
    "export txt": case("GET", lambda w: url("room_transcript_export", w.room.pk, "txt"), ALL_STAFF),
    "export csv": case("GET", lambda w: url("room_transcript_export", w.room.pk, "csv"), ALL_STAFF),
    "export json": case(
        "GET", lambda w: url("room_transcript_export", w.room.pk, "json"), ALL_STAFF
    ),
    "reply": case(
        "POST", lambda w: url("room_reply", w.room.pk), MODERATORS, lambda w: {"text": "hi"}
    ),
    "close": case(
        "POST", lambda w: url("room_close", w.room.pk), MODERATORS, lambda w: {"comment": "done"}
    ),
    "hide": case(
        "POST",
        lambda w: url("room_hide", w.room.pk, w.visible.pk),
        MODERATORS,
        lambda w: {"reason": "spam"},
    ),
    "unhide": case("POST", lambda w: url("room_unhide", w.room.pk, w.hidden.pk), MODERATORS),
    "message history": case("GET", lambda w: url("message_history", w.hidden.pk), ALL_STAFF),
    "visitor list": case("GET", lambda w: url("visitor_changelist"), ALL_STAFF),
    "visitor page": case("GET", lambda w: url("visitor_change", w.visitor.pk), ALL_STAFF),
    "block": case("POST", lambda w: url("visitor_block", w.visitor.pk), MODERATORS),
    "unblock": case("POST", lambda w: url("visitor_unblock", w.blocked.pk), MODERATORS),
    "block action": case(
        "POST",
        lambda w: url("visitor_changelist"),
        MODERATORS,
        lambda w: {"action": "block_visitors", "_selected_action": [w.visitor.pk]},
    ),
    "visitor export": case("GET", lambda w: url("visitor_export", w.visitor.pk), ALL_STAFF),
    "erase page": case("GET", lambda w: url("visitor_erase", w.visitor.pk), MODERATORS),
    "erase": case(
        "POST",
        lambda w: url("visitor_erase", w.visitor.pk),
        MODERATORS,
        lambda w: {"confirm": "yes"},
    ),
    "token list": case("GET", lambda w: url("authtoken_changelist"), "superuser viewer"),
    "token add page": case("GET", lambda w: url("authtoken_add"), "superuser"),
    "token add": case(
        "POST", lambda w: url("authtoken_add"), "superuser", lambda w: {"user": w.owner.pk}
    ),
    "token revoke": case(
        "POST",
        lambda w: url("authtoken_delete", w.token.pk),
        "superuser",
        lambda w: {"post": "yes"},
    ),
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("name", list(CASES))
def test_permission_matrix(world: World, role: str, name: str) -> None:
    spec = CASES[name]
    client = Client()
    client.force_login(ROLES[role]())
    before = state(world)
    path = spec.path(world)
    if spec.method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, spec.data(world))
    after = state(world)

    if role == "nonstaff":
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        assert after == before
    elif role in spec.allowed:
        assert response.status_code in (200, 302), response.content[:500]
        if response.status_code == 302:
            assert not response["Location"].startswith("/admin/login/")
        assert (after != before) == spec.changes, "an allowed POST changes the database"
    else:
        # Refused: 403. Django's changelist answers an action the user lacks by ignoring it.
        refused = (200, 302) if name == "block action" else (403,)
        assert response.status_code in refused
        assert after == before


def test_matrix_covers_every_custom_url() -> None:
    from django.contrib import admin

    custom = set()
    for model in (Room, Visitor):
        model_admin = admin.site._registry[model]
        default = {p.name for p in admin.ModelAdmin(model, admin.site).get_urls()}
        custom |= {p.name for p in model_admin.get_urls()} - default
    covered = {
        "django_livechat_room_transcript",
        "django_livechat_room_transcript_export",
        "django_livechat_room_reply",
        "django_livechat_room_close",
        "django_livechat_room_hide",
        "django_livechat_room_unhide",
        "django_livechat_visitor_block",
        "django_livechat_visitor_unblock",
        "django_livechat_visitor_export",
        "django_livechat_visitor_erase",
    }
    assert custom == covered


def test_staff_without_livechat_permissions_sees_nothing(world: World) -> None:
    client = Client()
    client.force_login(UserFactory(username="other-staff", is_staff=True))
    for name in ("transcript", "export json", "visitor export", "message history"):
        assert client.get(CASES[name].path(world)).status_code == 403, name
    for name in ("reply", "hide", "block"):
        spec = CASES[name]
        assert client.post(spec.path(world), spec.data(world)).status_code == 403, name
