"""Soak: many clients post while others close rooms; then the database must be exactly right.

gunicorn with several workers on the test's PostgreSQL database. Posting clients use a mix of
existing and brand-new visitor tokens; closing clients close rooms through
``POST livechat/room.close``. Afterwards, from the database:

- every message of every 200 reply is stored exactly once, in the visitor's room, in order;
- no message of a failed request is stored; no 5xx at all;
- at most one open room per visitor; ``guest-N`` numbers unique;
- ``ts`` strictly increasing within each room (in insertion order), room counters exact.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection

from django_livechat.models import Message, Room, Visitor
from tests.reliability.conftest import LiveServer, gunicorn_server, report

pytestmark = [pytest.mark.reliability, pytest.mark.live, pytest.mark.postgres]

POSTERS = 24
CLOSERS = 4
DURATION = 15.0  # seconds of load
SHARED_TOKENS = [f"soak-shared-{i}" for i in range(30)]
BLOCKED_TOKENS = [f"soak-blocked-{i}" for i in range(3)]  # blocked by staff: 403, nothing stored
TOO_LONG = "x" * 5001  # over MAX_MESSAGE_LENGTH: the whole request is rejected (400)


@dataclass
class Sent:
    token: str
    texts: list[str]
    status: int | str
    reply: Any = None


@dataclass
class Figures:
    sent: list[Sent] = field(default_factory=list)
    closes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def poster(server: LiveServer, number: int, deadline: float, figures: Figures) -> None:
    rng = random.Random(number)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    request = 0
    while time.monotonic() < deadline:
        request += 1
        dice = rng.random()
        if dice < 0.25:
            token = f"soak-new-{number}-{request}"
        elif dice < 0.30:
            token = rng.choice(BLOCKED_TOKENS)
        else:
            token = rng.choice(SHARED_TOKENS)
        texts = [f"p{number}-r{request}-m{i}" for i in range(rng.choice((1, 1, 2, 5, 20, 100)))]
        messages = [{"msg": t} for t in texts]
        if rng.random() < 0.03:
            messages.append({"msg": TOO_LONG})
        body = json.dumps({"visitor": {"token": token}, "messages": messages})
        try:
            conn.request("POST", "/api/v1/livechat/messages", body=body, headers=server.headers)
            response = conn.getresponse()
            data = response.read()
            sent = Sent(token, texts, response.status, json.loads(data))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            sent = Sent(token, texts, type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        with figures.lock:
            figures.sent.append(sent)
    conn.close()


def closer(server: LiveServer, number: int, deadline: float, figures: Figures) -> None:
    rng = random.Random(1000 + number)
    try:
        while time.monotonic() < deadline:
            token = rng.choice(SHARED_TOKENS)
            rid = (
                Room.objects.filter(visitor__token=token, status=Room.Status.OPEN)
                .values_list("rid", flat=True)
                .first()
            )
            if rid is None:
                time.sleep(0.01)
                continue
            try:
                reply = server.request(
                    "POST", "/api/v1/livechat/room.close", {"token": token, "rid": rid}
                )
                kind = str(reply.status)
                if reply.status != 200:
                    kind += " " + str(reply.json().get("error"))
            except (OSError, http.client.HTTPException) as exc:
                kind = type(exc).__name__
            with figures.lock:
                figures.closes[kind] += 1
            time.sleep(rng.uniform(0.02, 0.1))
    finally:
        connection.close()  # this thread's database connection


def test_soak(postgres: None) -> None:
    figures = Figures()
    with gunicorn_server(workers=4, threads=2) as server:
        for token in SHARED_TOKENS[:10]:  # some visitors exist before the load starts
            assert (
                server.request(
                    "POST",
                    "/api/v1/livechat/messages",
                    {"visitor": {"token": token}, "messages": [{"msg": f"warm-{token}"}]},
                ).status
                == 200
            )
        for token in BLOCKED_TOKENS:
            assert (
                server.request(
                    "POST",
                    "/api/v1/livechat/messages",
                    {"visitor": {"token": token}, "messages": [{"msg": f"warm-{token}"}]},
                ).status
                == 200
            )
        Visitor.objects.filter(token__in=BLOCKED_TOKENS).update(is_blocked=True)
        deadline = time.monotonic() + DURATION
        threads = [
            threading.Thread(target=poster, args=(server, n, deadline, figures))
            for n in range(POSTERS)
        ] + [
            threading.Thread(target=closer, args=(server, n, deadline, figures))
            for n in range(CLOSERS)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION + 120)
        assert not any(thread.is_alive() for thread in threads), "clients did not stop"
        elapsed = time.monotonic() - started
        server_log = server.log_tail()

    statuses = Counter(str(s.status) for s in figures.sent)
    ok = [s for s in figures.sent if s.status == 200]
    failed = [s for s in figures.sent if s.status != 200]
    stored_messages = sum(len(s.texts) for s in ok)
    report(
        f"soak: {len(figures.sent)} posts in {elapsed:.1f} s ({len(figures.sent) / elapsed:.0f}/s) "
        f"by {POSTERS} clients on 4 workers x 2 threads, {stored_messages} messages "
        f"acknowledged, {len({s.token for s in figures.sent})} visitors; posts by status "
        f"{dict(statuses)}; room closes by outcome {dict(figures.closes)}"
    )

    # No 5xx, no dropped connection, for posts and for closes; the failures are the planned
    # ones: blocked visitors (403) and too-long messages (400).
    assert set(statuses) <= {"200", "400", "403"}, (statuses, server_log)
    for s in failed:
        too_long = s.reply.get("errorType") == "invalid-params"
        assert (s.status, too_long) in ((400, True), (403, False)), s.reply
        assert s.status == 400 or s.token in BLOCKED_TOKENS
    assert statuses["403"] > 0 and statuses["200"] > 100
    assert all(kind.startswith(("200", "400")) for kind in figures.closes), figures.closes
    assert figures.closes["200"] > 10, "the closers closed too few rooms to mean anything"

    # Every message of every 200 reply stored exactly once, in that visitor's room, in order.
    stored = {
        msg: (room_id, token, ts, pk)
        for msg, room_id, token, ts, pk in Message.objects.filter(msg__startswith="p").values_list(
            "msg", "room_id", "room__visitor__token", "ts", "pk"
        )
    }
    counts = Counter(Message.objects.filter(msg__startswith="p").values_list("msg", flat=True))
    assert max(counts.values()) == 1, "a message was stored twice"
    acknowledged = {text for s in ok for text in s.texts}
    assert set(stored) == acknowledged, "stored messages differ from the acknowledged ones"
    assert not {text for s in failed for text in s.texts} & set(stored)
    assert not Message.objects.filter(msg=TOO_LONG).exists()
    for s in ok:
        rows = [stored[text] for text in s.texts]
        assert {row[0] for row in rows} == {rows[0][0]}, "one request's messages in two rooms"
        assert {row[1] for row in rows} == {s.token}
        assert [row[2] for row in rows] == sorted({row[2] for row in rows}), "order or ts broken"
        assert [m["msg"] for m in s.reply["messages"]] == s.texts

    # At most one open room per visitor; guest numbers unique.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT visitor_id FROM django_livechat_room WHERE status = 'open' "
            "GROUP BY visitor_id HAVING count(*) > 1"
        )
        assert cursor.fetchall() == []
        # ts strictly increasing within each room, in insertion (primary key) order.
        cursor.execute(
            "SELECT count(*) FROM (SELECT ts, lag(ts) OVER (PARTITION BY room_id ORDER BY id) "
            "AS previous FROM django_livechat_message) t WHERE previous >= ts"
        )
        assert cursor.fetchone() == (0,)
        # The counters on each room match its messages.
        cursor.execute(
            "SELECT count(*) FROM django_livechat_room r LEFT JOIN (SELECT room_id, count(*) n, "
            "max(ts) last FROM django_livechat_message GROUP BY room_id) m ON m.room_id = r.id "
            "WHERE r.message_count <> coalesce(m.n, 0) OR r.last_message_at IS DISTINCT FROM m.last"
        )
        assert cursor.fetchone() == (0,)
    usernames = list(Visitor.objects.values_list("username", flat=True))
    assert len(usernames) == len(set(usernames))
    assert all(name.startswith("guest-") for name in usernames)
    # A visitor for every token of a stored request, none for a token only ever rejected.
    tokens_stored = {s.token for s in ok} | set(BLOCKED_TOKENS) | set(SHARED_TOKENS[:10])
    assert set(Visitor.objects.values_list("token", flat=True)) == tokens_stored
    # Each successful close closed a room of its own (a concurrent second close is a 400).
    assert Room.objects.filter(status=Room.Status.CLOSED).count() == figures.closes["200"]
    report(
        f"soak verified: {len(stored)} messages stored exactly once, 0 of the "
        f"{sum(len(s.texts) for s in failed)} messages of failed requests stored, "
        f"{Room.objects.count()} rooms, 0 visitors with two open rooms, "
        f"{len(usernames)} unique guest numbers, ts strictly increasing in every room"
    )
