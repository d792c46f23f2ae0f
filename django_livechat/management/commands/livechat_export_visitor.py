"""``manage.py livechat_export_visitor <token>``: a visitor's data as JSON (data-access request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from django_livechat import moderation
from django_livechat.models import Visitor


class Command(BaseCommand):
    help = (
        "Export all data of the visitor with this token (profile, conversations, messages) as "
        "JSON, for a data-access request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="The visitor's token.")
        parser.add_argument(
            "--output", "-o", default=None, metavar="FILE", help="Write to FILE, not stdout."
        )

    def handle(self, *args: Any, token: str, output: str | None, **options: Any) -> None:
        visitor = Visitor.objects.filter(token=token).first()
        if visitor is None:
            raise CommandError(_("No visitor with this token."))
        data = moderation.export_visitor_json(visitor)
        if output:
            Path(output).write_text(data + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote the data of {visitor.username} to {output}.")
        else:
            self.stdout.write(data)
