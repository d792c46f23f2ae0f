"""The database floor: the same rows as ``POST livechat/messages``, with no framework.

A bare WSGI application served by the same gunicorn: stdlib ``json`` parses the body, one
indexed ``SELECT ... FOR UPDATE`` finds the visitor's open room, one ``executemany`` writes the
messages and one ``UPDATE`` the room's counters, in one transaction; stdlib ``json`` writes the
same reply. No authentication, no validation: what any implementation must at least spend.
Django is imported once at start-up only to read the table's columns and database settings.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection as django_connection  # noqa: E402

from django_livechat.models import Message, Room, Visitor  # noqa: E402

DB = settings.DATABASES["default"]
POSTGRES = DB["ENGINE"] == "django.db.backends.postgresql"
FIELDS = [f for f in Message._meta.concrete_fields if not f.primary_key]
COLUMNS = [f.column for f in FIELDS]
DEFAULTS = [f.get_db_prep_save(f.get_default(), django_connection) for f in FIELDS]
SLOT = {name: COLUMNS.index(name) for name in ("public_id", "room_id", "msg", "ts", "author_kind")}
PARAM = "%s" if POSTGRES else "?"
INSERT = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
    Message._meta.db_table, ", ".join(COLUMNS), ", ".join([PARAM] * len(COLUMNS))
)
ROOM_TABLE, VISITOR_TABLE = Room._meta.db_table, Visitor._meta.db_table
# Only table names from the models' metadata go into the SQL; values are parameters.
FIND_ROOM = (
    f"SELECT r.id, v.username, r.last_message_at FROM {ROOM_TABLE} r "  # noqa: S608
    f"JOIN {VISITOR_TABLE} v ON v.id = r.visitor_id "
    f"WHERE v.token = {PARAM} AND r.status = 'open'" + (" FOR UPDATE OF r" if POSTGRES else "")
)
UPDATE_ROOM = (
    f"UPDATE {ROOM_TABLE} SET last_message_at = {PARAM}, "  # noqa: S608
    f"message_count = message_count + {PARAM} WHERE id = {PARAM}"
)
ONE_MS = timedelta(milliseconds=1)
local = threading.local()


def connect() -> Any:
    conn = getattr(local, "conn", None)
    if conn is None:
        if POSTGRES:
            import psycopg

            conn = psycopg.connect(
                host=DB["HOST"],
                port=DB["PORT"] or 5432,
                user=DB["USER"],
                password=DB["PASSWORD"],
                dbname=DB["NAME"],
            )
        else:
            conn = sqlite3.connect(DB["NAME"], isolation_level=None, timeout=60)
            conn.executescript(settings.SQLITE_PRAGMAS)
        local.conn = conn
    return conn


def ids(count: int) -> list[str]:
    raw = base64.b32encode(os.urandom(count * 11)).decode()
    return [raw[i * 17 : i * 17 + 17] for i in range(count)]


def write(token: str, texts: list[str]) -> tuple[str, list[datetime]]:
    conn = connect()
    if POSTGRES:
        with conn.transaction(), conn.cursor() as cur:
            return _write(cur, token, texts)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = _write(conn.cursor(), token, texts)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _write(cur: Any, token: str, texts: list[str]) -> tuple[str, list[datetime]]:
    cur.execute(FIND_ROOM, (token,))
    room_id, username, last = cur.fetchone()
    now = datetime.now(UTC)
    start = now.replace(microsecond=now.microsecond - now.microsecond % 1000)
    if isinstance(last, str):
        last = datetime.fromisoformat(last).replace(tzinfo=UTC)
    if last is not None and start <= last:
        start = last + ONE_MS
    stamps = [start + i * ONE_MS for i in range(len(texts))]
    rows = []
    for public_id, text, ts in zip(ids(len(texts)), texts, stamps, strict=True):
        row = list(DEFAULTS)
        row[SLOT["public_id"]] = public_id
        row[SLOT["room_id"]] = room_id
        row[SLOT["msg"]] = text
        row[SLOT["ts"]] = ts if POSTGRES else ts.strftime("%Y-%m-%d %H:%M:%S.%f")
        row[SLOT["author_kind"]] = "visitor"
        rows.append(row)
    cur.executemany(INSERT, rows)
    last_ts = rows[-1][SLOT["ts"]]
    cur.execute(UPDATE_ROOM, (last_ts, len(rows), room_id))
    return username, stamps


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(size))
    texts = [item["msg"] for item in data["messages"]]
    username, stamps = write(data["visitor"]["token"], texts)
    body = json.dumps(
        {
            "messages": [
                {
                    "username": username,
                    "msg": text,
                    "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                }
                for text, ts in zip(texts, stamps, strict=True)
            ],
            "success": True,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
