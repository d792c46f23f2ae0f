"""Faults during a 1000-message batch: nothing partial is stored, the client gets a clean error
(or no reply at all), and the next request succeeds.

The batch is made slow inside PostgreSQL by a test-only trigger on the messages table:
``pg_sleep`` for every row whose text starts with ``slow:`` (3 ms each, about 3 s for the
batch) and for ``stall:`` rows (5 s, one statement longer than the server's timeout).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from django_livechat.models import Message, Room
from tests.reliability.conftest import LiveServer, Reply, gunicorn_server, report, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.live, pytest.mark.postgres]

MESSAGES = "/api/v1/livechat/messages"
ERROR_500 = {
    "success": False,
    "error": "Internal server error [error-internal]",
    "errorType": "error-internal",
}


@pytest.fixture
def slow_inserts(postgres: None) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION reliability_slow_insert() RETURNS trigger AS $$
            BEGIN
                IF NEW.msg LIKE 'stall:%' THEN PERFORM pg_sleep(5);
                ELSE PERFORM pg_sleep(0.003);
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER reliability_slow BEFORE INSERT ON django_livechat_message
                FOR EACH ROW WHEN (NEW.msg LIKE 'slow:%' OR NEW.msg LIKE 'stall:%')
                EXECUTE FUNCTION reliability_slow_insert();
            """
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER IF EXISTS reliability_slow ON django_livechat_message;"
                "DROP FUNCTION IF EXISTS reliability_slow_insert();"
            )


def batch(token: str, texts: list[str]) -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": t} for t in texts]}


def slow_batch(token: str) -> dict[str, Any]:
    return batch(token, [f"slow:{i}" for i in range(1000)])


class InFlight:
    """A request sent from a thread; ``reply`` or ``error`` once it has finished."""

    def __init__(self, server: LiveServer, body: dict[str, Any]) -> None:
        self.reply: Reply | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self.run, args=(server, body))
        self.thread.start()

    def run(self, server: LiveServer, body: dict[str, Any]) -> None:
        try:
            self.reply = server.request("POST", MESSAGES, body, timeout=60)
        except (OSError, http.client.HTTPException) as exc:
            self.error = exc

    def join(self) -> None:
        self.thread.join(timeout=90)
        assert not self.thread.is_alive()


def sleeping_backends() -> list[int]:
    """The server's PostgreSQL backends busy in the trigger's pg_sleep."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'"
        )
        return [row[0] for row in cursor.fetchall()]


def busy_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle' AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def assert_nothing_partial(token: str, count_before: int) -> None:
    assert not Message.objects.filter(msg__regex=r"^(slow|stall):").exists()
    room = Room.objects.get(visitor__token=token, status=Room.Status.OPEN)
    assert room.message_count == count_before == room.messages.count()


def assert_clean_500(reply: Reply) -> None:
    assert reply.status == 500
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == ERROR_500
    assert b"Traceback" not in reply.body and b"psycopg" not in reply.body


def assert_next_requests_succeed(server: LiveServer, token: str, count: int = 4) -> None:
    for i in range(count):  # more requests than workers: every worker serves one
        reply = server.request("POST", MESSAGES, batch(token, [f"after-{i}"]))
        assert reply.status == 200, reply.body
        assert json.loads(reply.body)["messages"][0]["msg"] == f"after-{i}"


def start(server: LiveServer, token: str) -> int:
    reply = server.request("POST", MESSAGES, batch(token, ["before"]))
    assert reply.status == 200
    return 1


def test_database_connection_killed_mid_request(slow_inserts: None) -> None:
    with gunicorn_server(workers=2) as server:
        count = start(server, "fault-kill")
        flight = InFlight(server, slow_batch("fault-kill"))
        wait_until(lambda: bool(sleeping_backends()), 20, "the batch never reached the database")
        with connection.cursor() as cursor:
            for pid in sleeping_backends():
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        flight.join()
        assert flight.error is None, flight.error
        assert flight.reply is not None
        assert_clean_500(flight.reply)
        assert_nothing_partial("fault-kill", count)
        assert_next_requests_succeed(server, "fault-kill")
    report(
        "fault: database connection killed mid-batch -> HTTP 500 error-internal, "
        "0 of 1000 messages stored, the next 4 requests 200"
    )


def test_statement_timeout(slow_inserts: None) -> None:
    env = {"RELIABILITY_STATEMENT_TIMEOUT_MS": "1000"}
    with gunicorn_server(workers=2, env=env) as server:
        count = start(server, "fault-timeout")
        texts = [f"slow:{i}" for i in range(200)] + ["stall:200"] + ["x"] * 799
        started = time.monotonic()
        reply = server.request("POST", MESSAGES, batch("fault-timeout", texts))
        elapsed = time.monotonic() - started
        assert elapsed < 4.5, "the statement was not cancelled at 1 s"
        assert_clean_500(reply)
        assert not Message.objects.filter(room__visitor__token="fault-timeout", msg="x").exists()
        assert_nothing_partial("fault-timeout", count)
        assert_next_requests_succeed(server, "fault-timeout")
    report(
        f"fault: statement_timeout (1 s) on message 201 of 1000 -> HTTP 500 error-internal "
        f"after {elapsed:.1f} s, 0 of 1000 messages stored, the next 4 requests 200"
    )


def test_worker_killed_during_batch(slow_inserts: None) -> None:
    with gunicorn_server(workers=1) as server:
        count = start(server, "fault-sigkill")
        (worker,) = server.worker_pids()
        flight = InFlight(server, slow_batch("fault-sigkill"))
        wait_until(lambda: bool(sleeping_backends()), 20, "the batch never reached the database")
        os.kill(worker, signal.SIGKILL)
        flight.join()
        # No reply at all (the connection drops), or a clean error: never a 200.
        if flight.reply is not None:
            assert flight.reply.status >= 500 and b"Traceback" not in flight.reply.body
        # PostgreSQL rolls the orphaned transaction back once it sees its client gone.
        wait_until(lambda: not busy_backends(), 60, "the orphaned transaction never ended")
        assert_nothing_partial("fault-sigkill", count)
        wait_until(lambda: server.worker_pids() not in ([], [worker]), 30, "no new worker")
        assert_next_requests_succeed(server, "fault-sigkill")
    outcome = type(flight.error).__name__ if flight.error else f"HTTP {flight.reply.status}"
    report(
        f"fault: worker SIGKILLed mid-batch -> client got {outcome}, "
        "0 of 1000 messages stored, a new worker answers the next 4 requests with 200"
    )
