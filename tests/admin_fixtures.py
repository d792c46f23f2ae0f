"""Users, clients and conversations for the admin and moderation tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client

from django_livechat import services
from django_livechat.models import Message
from tests.factories import UserFactory


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
