from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_livechat.models import AuthToken


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print the X-User-Id and X-Auth-Token headers. "
        "The token is shown once and stored only as a hash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell tokens apart.")
        parser.add_argument(
            "--expires-in", type=int, default=None, metavar="SECONDS", help="Lifetime in seconds."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_user_model()
        try:
            user = model._default_manager.get_by_natural_key(options["username"])
        except model.DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        expires_at = None
        if options["expires_in"] is not None:
            expires_at = timezone.now() + timedelta(seconds=options["expires_in"])
        _token, raw = AuthToken.objects.create_token(
            user, name=options["name"], expires_at=expires_at
        )
        self.stdout.write(f"X-User-Id: {user.pk}")
        self.stdout.write(f"X-Auth-Token: {raw}")
