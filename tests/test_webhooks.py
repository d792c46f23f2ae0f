"""Webhooks end to end: a real HTTP receiver on 127.0.0.1 checks signatures, order, retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from django_livechat import moderation, services, webhooks
from django_livechat.models import (
    AuthToken,
    Message,
    Room,
    Visitor,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.factories import AgentFactory, RoomFactory, UserFactory

SECRET = "whsec-test-secret"
URL = "/api/v1/livechat/messages"


def body(token: str, *texts: str) -> dict[str, Any]:
    return {"visitor": {"token": token}, "messages": [{"msg": t} for t in texts]}


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST; answers ``failures`` 500s first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "body": raw,
                            "time": time.monotonic(),
                        }
                    )
                    fail = receiver.failures > 0
                    if fail:
                        receiver.failures -= 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://other-host.invalid/hook")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, text = (500, b"receiver is down") if fail else (200, b"ok")
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass  # the sender timed out and hung up

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def events(self) -> list[str]:
        return [r["headers"]["X-Livechat-Event"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def endpoint(db: Any, receiver: Receiver) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="gateway", url=receiver.url, secret=SECRET)


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.DJANGO_LIVECHAT = {
        "WEBHOOK_RETRY_DELAY": 0.05,
        "WEBHOOK_MAX_ATTEMPTS": 5,
        "WEBHOOK_TIMEOUT": 2,
    }


def assert_signed(request: dict[str, Any], secret: str = SECRET) -> None:
    header = request["headers"]["X-Livechat-Signature"]
    assert webhooks.verify_signature(secret, header, request["body"])
    timestamp, signature = (part.split("=", 1)[1] for part in header.split(","))
    assert signature == webhooks.compute_signature(secret, int(timestamp), request["body"])


def send_until_settled(rounds: int = 80) -> None:
    """Run ``livechat_send_webhooks`` until no delivery is pending (bounded)."""
    for _ in range(rounds):
        if not WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).exists():
            return
        call_command("livechat_send_webhooks", grace=0, stdout=StringIO())
        time.sleep(0.03)
    raise AssertionError("deliveries still pending")


# ------------------------------------------------------------------------------------------------
# The whole way: API post, agent reply, signed webhooks at the receiver
# ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_and_reply_reach_the_receiver_signed_in_order(
    post_messages: Any,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = AgentFactory(first_name="Ada", last_name="Agent", email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_messages(body("sms:+15550100", "Hi", "I need help")).status_code == 200
    room = Room.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_agent(room=room, agent=agent, text="How can I help?")

    assert receiver.events() == [
        "visitor_registered",
        "room_opened",
        "messages_received",
        "agent_replied",
    ]
    for request in receiver.requests:
        assert_signed(request)
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["X-Livechat-Attempt"] == "1"
    delivery_ids = [r["headers"]["X-Livechat-Delivery"] for r in receiver.requests]
    assert len(set(delivery_ids)) == 4
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [str(d.delivery_id) for d in deliveries] == delivery_ids
    assert {(d.status, d.attempts, d.last_status_code) for d in deliveries} == {
        (WebhookDelivery.Status.DELIVERED, 1, 200)
    }

    visitor = Visitor.objects.get()
    stored = list(Message.objects.order_by("ts"))
    registered, opened, received, replied = receiver.payloads()
    assert registered["type"] == "LivechatVisitor"
    assert registered["visitor"]["token"] == "sms:+15550100"
    assert opened["type"] == "LivechatSessionStart" and opened["_id"] == room.rid
    # Rocket.Chat's "Message" webhook: the room, the visitor, the new messages.
    assert received == {
        "_id": room.rid,
        "label": visitor.username,
        "createdAt": received["createdAt"],
        "lastMessageAt": webhooks.format_ts(stored[1].ts),
        "tags": [],
        "visitor": {
            "_id": str(visitor.pk),
            "token": "sms:+15550100",
            "name": visitor.username,
            "username": visitor.username,
            "email": [],
            "phone": None,
        },
        "type": "Message",
        "messages": [
            {
                "u": {
                    "_id": str(visitor.pk),
                    "username": visitor.username,
                    "name": visitor.username,
                },
                "_id": m.public_id,
                "username": visitor.username,
                "msg": m.msg,
                "ts": webhooks.format_ts(m.ts),
            }
            for m in stored[:2]
        ],
    }
    assert replied["type"] == "Message"
    assert replied["agent"] == {
        "_id": str(agent.pk),
        "username": agent.get_username(),
        "name": "Ada Agent",
        "email": "ada@example.com",
    }
    assert replied["messages"] == [
        {
            "u": {"_id": str(agent.pk), "username": agent.get_username(), "name": "Ada Agent"},
            "_id": stored[2].public_id,
            "username": agent.get_username(),
            "msg": "How can I help?",
            "ts": webhooks.format_ts(stored[2].ts),
            "agentId": str(agent.pk),
        }
    ]


@pytest.mark.django_db
def test_one_delivery_per_event_and_endpoint_subscribed(
    post_messages: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    only_replies = WebhookEndpoint.objects.create(
        url=receiver.url + "?only=replies", secret=SECRET, events=["agent_replied"]
    )
    WebhookEndpoint.objects.create(url=receiver.url + "?off", secret=SECRET, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        post_messages(body("tok", "x"))
        services.reply_as_agent(room=Room.objects.get(), agent=AgentFactory(), text="y")
    assert [(d.endpoint_id, d.event) for d in WebhookDelivery.objects.all()] == [
        (only_replies.pk, "agent_replied")
    ]
    assert [r["path"] for r in receiver.requests] == ["/hook?only=replies"]


@pytest.mark.django_db
def test_no_endpoint_no_delivery(
    post_messages: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_messages(body("tok", "x"))
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_rolled_back_change_records_and_sends_nothing(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    room = RoomFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.reply_as_agent(room=room, agent=AgentFactory(), text="never")
            assert WebhookDelivery.objects.count() == 1  # written in the same transaction
            raise RuntimeError("rollback")
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


# ------------------------------------------------------------------------------------------------
# Retries
# ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retries_with_exponential_backoff_and_one_delivery_id(
    post_messages: Any,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    fast_retries: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    endpoint.events = ["messages_received"]
    endpoint.save()
    receiver.failures = 3
    with django_capture_on_commit_callbacks(execute=True):
        post_messages(body("tok", "retry me"))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.last_response == "receiver is down"
    send_until_settled()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (4, 200)
    assert len(receiver.requests) == 4
    assert {r["headers"]["X-Livechat-Delivery"] for r in receiver.requests} == {
        str(delivery.delivery_id)
    }
    assert [r["headers"]["X-Livechat-Attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
    assert len({r["body"] for r in receiver.requests}) == 1  # the same payload every time
    for request in receiver.requests:
        assert_signed(request)
    times = [r["time"] for r in receiver.requests]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # 0.05 s, then 0.1 s, then 0.2 s at least: doubled after each failure
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2, gaps


@pytest.mark.django_db
def test_gives_up_after_the_attempt_limit(
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DJANGO_LIVECHAT = {"WEBHOOK_RETRY_DELAY": 0.01, "WEBHOOK_MAX_ATTEMPTS": 3}
    receiver.failures = 100
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_agent(room=RoomFactory(), agent=AgentFactory(), text="x")
    send_until_settled()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3 and delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    # nothing more is sent for a failed delivery
    call_command("livechat_send_webhooks", grace=0, stdout=StringIO())
    assert len(receiver.requests) == 3


def test_backoff_doubles_up_to_the_maximum(settings: Any) -> None:
    settings.DJANGO_LIVECHAT = {"WEBHOOK_RETRY_DELAY": 10, "WEBHOOK_RETRY_MAX_DELAY": 60}
    seconds = [webhooks.retry_delay(n).total_seconds() for n in range(1, 6)]
    assert seconds == [10, 20, 40, 60, 60]


@pytest.mark.django_db
def test_a_delivery_is_not_sent_twice_by_concurrent_workers(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        services.reply_as_agent(room=RoomFactory(), agent=AgentFactory(), text="x")
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt_delivery(delivery.pk) is not None
    assert webhooks.attempt_delivery(delivery.pk) is None  # delivered: a second task does nothing
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_database_backend_and_db_worker_retry_with_run_after(
    receiver: Receiver, settings: Any
) -> None:
    """The example project's set-up: django-tasks-db's DatabaseBackend and ``db_worker``."""
    settings.DJANGO_LIVECHAT = {
        "WEBHOOK_TASK_BACKEND": "database",
        "WEBHOOK_RETRY_DELAY": 0.1,
        "WEBHOOK_TIMEOUT": 2,
    }
    from django_tasks_db.models import DBTaskResult

    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, events=["messages_received"])
    agent = AgentFactory()
    _t, raw = AuthToken.objects.create_token(agent)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=raw, HTTP_X_USER_ID=str(agent.pk))
    receiver.failures = 2
    assert client.post(URL, body("tok", "queued"), format="json").status_code == 200
    assert receiver.requests == []  # nothing is sent in the request: the worker sends it
    assert DBTaskResult.objects.count() == 1

    for _ in range(60):
        call_command(
            "db_worker",
            "--backend=database",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            verbosity=0,
            stdout=StringIO(),
        )
        if WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).exists():
            break
        time.sleep(0.05)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    assert DBTaskResult.objects.count() == 3  # the first attempt and two deferred retries
    deferred = [
        (r.run_after - r.enqueued_at).total_seconds()
        for r in DBTaskResult.objects.order_by("enqueued_at")
        if r.run_after is not None
    ]
    assert len([s for s in deferred if 0.05 <= s < 60]) == 2, deferred  # retries: run_after
    times = [r["time"] for r in receiver.requests]
    assert times[1] - times[0] >= 0.1 and times[2] - times[1] >= 0.2


# ------------------------------------------------------------------------------------------------
# Sending safely
# ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redirects_are_not_followed(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    WebhookEndpoint.objects.create(
        url=receiver.url.replace("/hook", "/redirect"), secret=SECRET, events=["agent_replied"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_agent(room=RoomFactory(), agent=AgentFactory(), text="x")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert "http://other-host.invalid/hook not followed" in delivery.last_response
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_slow_receiver_times_out(
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DJANGO_LIVECHAT = {"WEBHOOK_TIMEOUT": 0.2}
    receiver.delay = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        services.close_room(room=RoomFactory())
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "timed out" in delivery.last_response


@pytest.mark.django_db
def test_only_http_urls_are_sent_to(django_capture_on_commit_callbacks: Any) -> None:
    WebhookEndpoint.objects.create(url="file:///etc/passwd", secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        services.close_room(room=RoomFactory())
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_response.startswith("refused: not an http(s) URL")


def test_verify_signature_rejects_tampering_wrong_secret_and_old_timestamps() -> None:
    payload = b'{"type":"Message"}'
    now = 1_700_000_000
    header = webhooks.signature_header(SECRET, payload, timestamp=now)
    assert webhooks.verify_signature(SECRET, header, payload, now=now + 10)
    assert not webhooks.verify_signature(SECRET, header, payload + b" ", now=now)
    assert not webhooks.verify_signature("other", header, payload, now=now)
    assert not webhooks.verify_signature(SECRET, header, payload, now=now + 301)
    assert not webhooks.verify_signature(SECRET, "garbage", payload, now=now)


# ------------------------------------------------------------------------------------------------
# Payloads for closing and hiding
# ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_room_closed_payload_is_the_session_without_hidden_messages(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint.events = ["room_closed", "message_hidden"]
    endpoint.save()
    room = RoomFactory()
    agent = AgentFactory()
    services.append_messages(room, ["hello", "rude words"])
    services.reply_as_agent(room=room, agent=agent, text="Bye")
    rude = Message.objects.get(msg="rude words")
    with django_capture_on_commit_callbacks(execute=True):
        moderation.hide_message(rude, by=agent, reason="abuse")
        services.close_room(room=room, closed_by=agent, comment="done")
    hidden, closed = receiver.payloads()
    assert hidden["type"] == "MessageHidden"
    assert hidden["messages"] == [
        {"_id": rude.public_id, "ts": hidden["messages"][0]["ts"], "hidden": True}
    ]
    assert hidden["hiddenBy"] == {"_id": str(agent.pk), "username": agent.get_username()}
    assert "rude words" not in json.dumps(hidden)
    assert closed["type"] == "LivechatSession"
    assert [m["msg"] for m in closed["messages"]] == ["hello", "Bye"]
    assert closed["closedBy"] == {"_id": str(agent.pk), "username": agent.get_username()}
    assert closed["servedBy"]["_id"] == str(agent.pk)
    assert closed["closer"] == "user" and closed["closedAt"]


# ------------------------------------------------------------------------------------------------
# Admin
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_logged(db: Any) -> Any:
    from django.test import Client

    user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_creates_an_endpoint_with_events(
    admin_client_logged: Any, receiver: Receiver
) -> None:
    url = reverse("admin:django_livechat_webhookendpoint_add")
    page = admin_client_logged.get(url)
    assert page.status_code == 200
    assert b'name="events"' in page.content
    response = admin_client_logged.post(
        url,
        {
            "name": "SMS",
            "url": receiver.url,
            "secret": "s3cret",
            "events": ["messages_received", "agent_replied"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["messages_received", "agent_replied"]
    bad = admin_client_logged.post(url, {"name": "x", "url": "ftp://example.com/", "secret": "s"})
    assert bad.status_code == 200 and WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db
def test_admin_lists_deliveries_and_resends(
    admin_client_logged: Any,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DJANGO_LIVECHAT = {"WEBHOOK_MAX_ATTEMPTS": 1}
    receiver.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_agent(room=RoomFactory(), agent=AgentFactory(), text="x")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    changelist = reverse("admin:django_livechat_webhookdelivery_changelist")
    page = admin_client_logged.get(changelist)
    assert page.status_code == 200
    assert str(delivery.delivery_id)[:8].encode() in page.content
    assert b"receiver is down" in page.content
    detail = admin_client_logged.get(
        reverse("admin:django_livechat_webhookdelivery_change", args=[delivery.pk])
    )
    assert detail.status_code == 200 and b"&quot;type&quot;: &quot;Message&quot;" in detail.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged.post(
            changelist, {"action": "resend", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [r["headers"]["X-Livechat-Delivery"] for r in receiver.requests] == [
        str(delivery.delivery_id)
    ] * 2
    assert LogEntry.objects.filter(object_id=str(delivery.pk)).count() == 1
    endpoints = admin_client_logged.get(reverse("admin:django_livechat_webhookendpoint_changelist"))
    assert endpoints.status_code == 200


@pytest.mark.django_db
def test_resend_needs_the_change_permission(
    endpoint: WebhookEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client = Client()
    client.force_login(viewer)
    page = client.get(reverse("admin:django_livechat_webhookdelivery_changelist"))
    assert page.status_code == 200
    assert b"resend" not in page.content


def test_event_choices_match_the_signals() -> None:
    from django_livechat.signals import SIGNALS

    assert set(WebhookEvent.values) == set(SIGNALS) == set(webhooks.PAYLOAD_TYPES)


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ({"WEBHOOK_TIMEOUT": 0.5, "WEBHOOK_RETRY_DELAY": 2, "WEBHOOK_MAX_ATTEMPTS": 3}, []),
        ({"IDEMPOTENCY_KEY_LIFETIME": 3600, "WEBHOOK_TASK_BACKEND": "database"}, []),
        ({"WEBHOOK_MAX_ATTEMPTS": 0}, ["django_livechat.E003"]),
        ({"WEBHOOK_TIMEOUT": "10"}, ["django_livechat.E003"]),
        ({"IDEMPOTENCY_KEY_LIFETIME": None}, ["django_livechat.E003"]),
    ],
)
def test_settings_are_checked(settings: Any, value: dict[str, Any], errors: list[str]) -> None:
    from django_livechat.checks import check_settings

    settings.DJANGO_LIVECHAT = value
    assert [m.id for m in check_settings()] == errors


@pytest.mark.django_db
def test_a_reply_written_in_the_admin_inbox_reaches_the_receiver(
    admin_client_logged: Any,
    post_messages: Any,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    endpoint.events = ["messages_received", "agent_replied"]
    endpoint.save()
    with django_capture_on_commit_callbacks(execute=True):
        post_messages(body("sms:+15550100", "Where is my order?"))
    room = Room.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged.post(
            reverse("admin:django_livechat_room_reply", args=[room.pk]),
            {"text": "It ships today."},
        )
    assert response.status_code == 302
    assert receiver.events() == ["messages_received", "agent_replied"]
    for request in receiver.requests:
        assert_signed(request)
    reply = receiver.payloads()[1]
    assert reply["_id"] == room.rid
    assert reply["visitor"]["token"] == "sms:+15550100"
    assert [m["msg"] for m in reply["messages"]] == ["It ships today."]


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
def test_recording_deliveries_costs_one_insert_whatever_the_events(
    post_messages: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any, count: int
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    texts = [f"m{i}" for i in range(count)]
    post_messages(body("warm", "x"))
    with CaptureQueriesContext(connection) as without:
        post_messages(body("new-1", *texts))
    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET)
    WebhookEndpoint.objects.create(url=receiver.url + "?2", secret=SECRET)
    with (
        django_capture_on_commit_callbacks(execute=False),
        CaptureQueriesContext(connection) as with_endpoints,
    ):
        post_messages(body("new-2", *texts))
    # three events (visitor, room, messages) for two endpoints: six rows in one INSERT
    assert WebhookDelivery.objects.count() == 6
    inserts = [q["sql"] for q in with_endpoints.captured_queries if "webhookdelivery" in q["sql"]]
    assert len(inserts) == 1
    assert len(with_endpoints) == len(without) + 1
