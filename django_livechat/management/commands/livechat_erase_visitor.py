"""``manage.py livechat_erase_visitor <token> [--yes]``: erase a visitor with all their data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from django_livechat import moderation
from django_livechat.models import Visitor


class Command(BaseCommand):
    help = (
        "Delete the visitor with this token and all their conversations and messages, for an "
        "erasure request. Asks for confirmation unless --yes is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="The visitor's token.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, token: str, yes: bool, **options: Any) -> None:
        visitor = Visitor.objects.filter(token=token).first()
        if visitor is None:
            raise CommandError(_("No visitor with this token."))
        counts = moderation.erasure_counts(visitor)
        summary = (
            f"{visitor.username}: {counts.rooms} conversation(s), {counts.messages} message(s)"
        )
        if not yes:
            answer = input(f"Erase {summary}? This cannot be undone. Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                raise CommandError(_("Cancelled: nothing was erased."))
        done = moderation.erase_visitor(visitor)
        self.stdout.write(
            f"Erased {visitor.username} with {done.rooms} conversation(s) "
            f"and {done.messages} message(s)."
        )
