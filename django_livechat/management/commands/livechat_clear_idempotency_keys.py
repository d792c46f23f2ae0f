from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from django_livechat.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records (IDEMPOTENCY_KEY_LIFETIME), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        total = 0
        while True:
            ids = list(
                IdempotencyKey.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[
                    : options["batch_size"]
                ]
            )
            if not ids:
                break
            total += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]
        self.stdout.write(f"Deleted {total} expired idempotency key(s).")
