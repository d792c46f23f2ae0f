"""Create the benchmark's API user (with a token) and admin user; print them as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand

from django_livechat.models import AuthToken

ADMIN = ("bench-admin", "bench-admin-password")


class Command(BaseCommand):
    help = "Create the benchmark's users; print the API credentials as JSON."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        agent, _ = users.objects.get_or_create(username="bench-agent")
        agent.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="django_livechat", codename="add_message"
            )
        )
        _token, raw = AuthToken.objects.create_token(agent, name="bench")
        if not users.objects.filter(username=ADMIN[0]).exists():
            users.objects.create_superuser(ADMIN[0], "admin@example.com", ADMIN[1])
        self.stdout.write(
            json.dumps(
                {"user_id": str(agent.pk), "token": raw, "admin": ADMIN[0], "password": ADMIN[1]}
            )
        )
