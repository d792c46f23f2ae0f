"""SPEC §1.3 under real concurrency: many requests race for the same new visitor token.

PostgreSQL only (marker ``postgres``): SQLite serializes writers, so there is no race to lose.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from django_livechat.models import AuthToken, Message, Room, Visitor
from tests.factories import AgentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16
ROUNDS = 3


def test_concurrent_first_posts_for_one_new_token() -> None:
    assert connection.vendor == "postgresql"
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    barrier = threading.Barrier(THREADS)

    def post(i: int) -> list[tuple[int, Any]]:
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
        replies = []
        try:
            for r in range(ROUNDS):
                if r == 0:
                    barrier.wait(timeout=30)
                body = {
                    "visitor": {"token": "racing-token"},
                    "messages": [{"msg": f"t{i}-r{r}-m{k}"} for k in range(5)],
                }
                response = client.post("/api/v1/livechat/messages", body, format="json")
                replies.append((response.status_code, response.json()))
        finally:
            connections.close_all()
        return replies

    with ThreadPoolExecutor(THREADS) as pool:
        results = [reply for replies in pool.map(post, range(THREADS)) for reply in replies]

    assert [status for status, _ in results] == [200] * THREADS * ROUNDS, results
    assert Visitor.objects.count() == 1
    assert Room.objects.count() == 1
    room = Room.objects.get()
    expected = {f"t{i}-r{r}-m{k}" for i in range(THREADS) for r in range(ROUNDS) for k in range(5)}
    stored = list(Message.objects.filter(room=room).order_by("ts").values_list("msg", "ts"))
    assert {m for m, _ in stored} == expected
    assert len(stored) == len(expected) == room.message_count
    timestamps = [ts for _, ts in stored]
    assert all(a < b for a, b in zip(timestamps, timestamps[1:], strict=False))
    # each request's messages are contiguous and in input order
    for _, data in results:
        texts = [m["msg"] for m in data["messages"]]
        positions = [[m for m, _ in stored].index(t) for t in texts]
        assert positions == list(range(positions[0], positions[0] + 5))
    assert {m["username"] for _, d in results for m in d["messages"]} == {
        Visitor.objects.get().username
    }


def test_concurrent_new_tokens_get_unique_guest_numbers() -> None:
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    barrier = threading.Barrier(THREADS)

    def post(i: int) -> int:
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
        try:
            barrier.wait(timeout=30)
            body = {"visitor": {"token": f"tok-{i}"}, "messages": [{"msg": "hi"}]}
            return client.post("/api/v1/livechat/messages", body, format="json").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(post, range(THREADS)))
    assert statuses == [200] * THREADS
    names = list(Visitor.objects.values_list("username", flat=True))
    assert len(names) == len(set(names)) == THREADS
    assert Room.objects.filter(status=Room.Status.OPEN).count() == THREADS
