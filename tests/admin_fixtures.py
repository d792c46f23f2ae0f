"""Users, clients and conversations for the admin and moderation tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client

from django_livechat import services
from django_livechat.models import Message
from tests.factories import UserFactory

# What a moderator and a view-only staff member hold in the tests.
MODERATOR_PERMS = (
    "view_room",
    "change_room",
    "view_message",
    "add_message",
    "moderate_message",
    "view_visitor",
    "change_visitor",
    "delete_visitor",
)
VIEWER_PERMS = ("view_room", "view_message", "view_visitor", "view_authtoken")


def staff(*codenames: str, **fields: Any) -> Any:
    """A staff user holding the given ``django_livechat`` permissions."""
    user = UserFactory(is_staff=True, **fields)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_livechat", codename__in=codenames
        )
    )
    return user


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(token: str, *texts: str) -> services.Posted:
    """Post through the intake; reload the messages (the intake does not read their pks back)."""
    posted = services.post_messages(token=token, texts=list(texts))
    ids = [m.public_id for m in posted.messages]
    posted.messages = list(Message.objects.filter(public_id__in=ids).order_by("ts"))
    return posted
