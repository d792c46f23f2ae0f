from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from django_livechat.models import IdempotencyKey, delete_in_batches


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records (IDEMPOTENCY_KEY_LIFETIME), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        expired = IdempotencyKey.objects.filter(expires_at__lte=timezone.now())
        total = delete_in_batches(expired, options["batch_size"])
        self.stdout.write(f"Deleted {total} expired idempotency key(s).")
