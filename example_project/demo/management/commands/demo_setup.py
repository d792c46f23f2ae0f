"""``manage.py demo_setup``: make the example project ready to try, and print a curl to try it.

Idempotent: it (re)creates the admin superuser ``admin``/``admin`` and the integration user
``demo-agent`` with the permission ``django_livechat.add_message``, then issues a new API token
for ``demo-agent`` and prints a ready-to-run ``curl`` posting two messages for a visitor.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from django_livechat.models import AuthToken

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
AGENT_USERNAME = "demo-agent"
AGENT_PASSWORD = "demo-agent"
DEMO_BODY = (
    '{"visitor":{"token":"demo-visitor-1"},"messages":[{"msg":"Hello"},{"msg":"Is anyone there?"}]}'
)


class Command(BaseCommand):
    help = (
        "Create the demo users (admin/admin and demo-agent), issue an API token for demo-agent "
        "and print a curl command that posts messages with it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="Port of the demo server, used in the printed curl (default: $PORT or 8000).",
        )

    def handle(self, *args: Any, port: int, **options: Any) -> None:
        User = get_user_model()
        with transaction.atomic():
            admin_lookup: dict[str, Any] = {User.USERNAME_FIELD: ADMIN_USERNAME}
            admin, _ = User._default_manager.get_or_create(**admin_lookup)
            admin.is_staff = True
            admin.is_superuser = True
            admin.is_active = True
            admin.set_password(ADMIN_PASSWORD)
            admin.save()

            agent_lookup: dict[str, Any] = {User.USERNAME_FIELD: AGENT_USERNAME}
            agent, _ = User._default_manager.get_or_create(**agent_lookup)
            agent.is_active = True
            agent.set_password(AGENT_PASSWORD)
            agent.save()
            permission = Permission.objects.get(
                content_type__app_label="django_livechat", codename="add_message"
            )
            agent.user_permissions.add(permission)

            _token, raw = AuthToken.objects.create_token(agent, name="demo")

        base = f"http://127.0.0.1:{port}"
        curl = " ".join(
            [
                "curl -sS -X POST",
                f"{base}/api/v1/livechat/messages",
                "-H 'Content-Type: application/json'",
                f"-H {shlex.quote('X-Auth-Token: ' + raw)}",
                f"-H {shlex.quote(f'X-User-Id: {agent.pk}')}",
                f"-d {shlex.quote(DEMO_BODY)}",
            ]
        )
        out = self.stdout
        out.write(
            f"Admin panel: {base}/admin/  (user {ADMIN_USERNAME!r}, password {ADMIN_PASSWORD!r})"
        )
        out.write(
            f"API user:    {AGENT_USERNAME!r} (id {agent.pk}, password {AGENT_PASSWORD!r}), "
            "permission django_livechat.add_message"
        )
        out.write("New API token for demo-agent (shown once). Post two messages for a visitor:")
        out.write("")
        out.write(f"  {curl}")
        out.write("")
