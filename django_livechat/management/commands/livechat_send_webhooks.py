from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_livechat import webhooks
from django_livechat.models import WebhookDelivery


class Command(BaseCommand):
    help = (
        "Attempt the webhook deliveries that are due now: retries (with a Tasks backend that "
        "cannot defer, such as the immediate one) and deliveries never enqueued. Run it from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="Most deliveries per run.")
        parser.add_argument(
            "--grace",
            type=float,
            default=60,
            help="Seconds a new delivery is left to its task before this command sends it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = webhooks.send_due(limit=options["limit"], grace=timedelta(seconds=options["grace"]))
        delivered = sum(d.status == WebhookDelivery.Status.DELIVERED for d in sent)
        failed = sum(d.status == WebhookDelivery.Status.FAILED for d in sent)
        self.stdout.write(
            f"Attempted {len(sent)} delivery(ies): {delivered} delivered, {failed} failed for "
            f"good, {len(sent) - delivered - failed} to retry."
        )
