"""Grow the messages table to ``--target`` rows fast (COPY on PostgreSQL, executemany on SQLite).

Rows are added as conversations of 100 messages each (one visitor per conversation); the first
load also makes one big conversation of 5000 messages, whose transcript the benchmark reads.
Prints JSON: the row count, the number of rooms, the big room's primary key.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from django_livechat.models import Message, Room, Visitor

PER_ROOM = 100
BIG_ROOM = 5000
BIG_TOKEN = "bench-big-room"  # noqa: S105 - a visitor token, not a secret
CHUNK = 50_000


class Command(BaseCommand):
    help = "Bulk-load messages until the table holds --target rows."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--target", type=int, required=True)

    def handle(self, *args: Any, target: int, **options: Any) -> None:
        started = time.monotonic()
        big = Room.objects.filter(visitor__token=BIG_TOKEN).first()
        if big is None:
            big = self.make_rooms([BIG_ROOM], prefix="big")[0]
        count = Message.objects.count()
        missing = max(0, target - count)
        rooms = (missing + PER_ROOM - 1) // PER_ROOM
        batch = 2000
        for start in range(0, rooms, batch):
            self.make_rooms([PER_ROOM] * min(batch, rooms - start), prefix=f"r{count}-{start}")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            json.dumps(
                {
                    "messages": Message.objects.count(),
                    "rooms": Room.objects.count(),
                    "big_room": big.pk,
                    "load_seconds": round(time.monotonic() - started, 1),
                }
            )
        )

    def make_rooms(self, sizes: list[int], prefix: str) -> list[Room]:
        now = timezone.now() - timedelta(days=30)
        with transaction.atomic():
            visitors = Visitor.objects.bulk_create(
                Visitor(
                    token=f"bench-{prefix}-{i}" if prefix != "big" else BIG_TOKEN,
                    username=f"bench-{prefix}-{i}",
                )
                for i in range(len(sizes))
            )
            rooms = Room.objects.bulk_create(
                Room(
                    visitor=v,
                    status=Room.Status.CLOSED if prefix != "big" else Room.Status.OPEN,
                    opened_at=now + timedelta(seconds=i),
                    closed_at=now + timedelta(seconds=i + 60) if prefix != "big" else None,
                    message_count=size,
                    last_message_at=now + timedelta(seconds=i, milliseconds=size),
                )
                for i, (v, size) in enumerate(zip(visitors, sizes, strict=True))
            )
            if connection.vendor != "postgresql":  # bulk_create sets pks on PostgreSQL only
                rooms = list(Room.objects.filter(visitor__in=visitors).order_by("visitor_id"))
            self.insert_messages(rooms, sizes, now)
        return rooms

    def insert_messages(self, rooms: list[Room], sizes: list[int], base: Any) -> None:
        fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
        columns = [f.column for f in fields]
        defaults = [f.get_db_prep_save(f.get_default(), connection) for f in fields]
        slot = {
            name: columns.index(name)
            for name in ("public_id", "room_id", "msg", "ts", "author_kind")
        }
        seq = Message.objects.count()
        adapt = connection.ops.adapt_datetimefield_value
        quote = connection.ops.quote_name
        table = quote(Message._meta.db_table)
        rows: list[list[Any]] = []

        def flush() -> None:
            if not rows:
                return
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    sql = f"COPY {table} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
                    with cursor.cursor.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
                        table,
                        ", ".join(quote(c) for c in columns),
                        ", ".join(["%s"] * len(columns)),
                    )
                    cursor.executemany(sql, rows)
            rows.clear()

        for index, (room, size) in enumerate(zip(rooms, sizes, strict=True)):
            start = base + timedelta(seconds=index)
            for i in range(size):
                seq += 1
                row = list(defaults)
                row[slot["public_id"]] = f"L{seq:016d}"
                row[slot["room_id"]] = room.pk
                row[slot["msg"]] = f"Bulk-loaded message {i} of conversation {room.pk}, some text."
                row[slot["ts"]] = adapt(start + timedelta(milliseconds=i))
                row[slot["author_kind"]] = "visitor" if i % 3 else "agent"
                rows.append(row)
                if len(rows) >= CHUNK:
                    flush()
        flush()
