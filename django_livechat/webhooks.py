"""Webhooks: every event becomes a signed HTTP POST to the endpoints that subscribe to it.

- :func:`record_deliveries` writes one :class:`~django_livechat.models.WebhookDelivery` per event
  and endpoint *inside* the transaction that made the change (so a rolled-back change sends
  nothing and a committed one is never lost);
- after commit, :func:`enqueue_deliveries` hands each delivery to Django's Tasks framework
  (``django_livechat.tasks.deliver_webhook``);
- :func:`attempt_delivery` makes one attempt: ``POST`` with ``urllib.request`` (a timeout, no
  redirects followed), signed with HMAC-SHA256 (:func:`signature_header`); on failure the next
  attempt is due after an exponential backoff, until ``WEBHOOK_MAX_ATTEMPTS``;
- the delivery id (``X-Livechat-Delivery``) is the same for every attempt of one delivery.

Payloads follow Rocket.Chat's Omnichannel webhooks (types ``Message``, ``LivechatSession``,
``LivechatSessionStart``) where Rocket.Chat has an equivalent; ``LivechatVisitor`` and
``MessageHidden`` are ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from django_livechat.conf import app_settings
from django_livechat.models import Message, Room, Visitor, WebhookDelivery, WebhookEndpoint
from django_livechat.wire import format_ts

if TYPE_CHECKING:
    from django_livechat.signals import Event

logger = logging.getLogger("django_livechat")

SIGNATURE_HEADER = "X-Livechat-Signature"
DELIVERY_HEADER = "X-Livechat-Delivery"
EVENT_HEADER = "X-Livechat-Event"
ATTEMPT_HEADER = "X-Livechat-Attempt"
USER_AGENT = "django-livechat-api webhooks"
RESPONSE_KEPT = 2000  # characters of the receiver's answer kept on the delivery

# Rocket.Chat's payload ``type`` for each of our events (ours where Rocket.Chat has none).
PAYLOAD_TYPES = {
    "visitor_registered": "LivechatVisitor",
    "room_opened": "LivechatSessionStart",
    "room_closed": "LivechatSession",
    "messages_received": "Message",
    "agent_replied": "Message",
    "message_hidden": "MessageHidden",
}


# ------------------------------------------------------------------------------------------------
# Payloads (Rocket.Chat's Omnichannel webhook shapes)
# ------------------------------------------------------------------------------------------------


def _ts(value: datetime | None) -> str | None:
    return format_ts(value) if value is not None else None


def _user_name(user: Any) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return str(full_name or user.get_username())


def user_data(user: Any) -> dict[str, Any]:
    return {"_id": str(user.pk), "username": user.get_username(), "name": _user_name(user)}


def agent_data(user: Any) -> dict[str, Any]:
    return {**user_data(user), "email": getattr(user, "email", "") or ""}


def visitor_data(visitor: Visitor) -> dict[str, Any]:
    return {
        "_id": str(visitor.pk),
        "token": visitor.token,
        "name": visitor.name or visitor.username,
        "username": visitor.username,
        "email": [{"address": visitor.email}] if visitor.email else [],
        "phone": [{"phoneNumber": visitor.phone}] if visitor.phone else None,
    }


def message_data(message: Message, visitor: Visitor) -> dict[str, Any]:
    """A message as Rocket.Chat's webhooks send it: ``u``, ``_id``, ``msg``, ``ts``."""
    if message.author_kind == Message.Author.AGENT and message.agent is not None:
        author = user_data(message.agent)
    else:
        author = {
            "_id": str(visitor.pk),
            "username": visitor.username,
            "name": visitor.name or visitor.username,
        }
    data: dict[str, Any] = {
        "u": author,
        "_id": message.public_id,
        "username": author["username"],
        "msg": message.msg,
        "ts": format_ts(message.ts),
    }
    if message.author_kind == Message.Author.AGENT and message.agent_id is not None:
        data["agentId"] = str(message.agent_id)
    return data


def room_data(room: Room, visitor: Visitor, payload_type: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_id": room.rid,
        "label": visitor.name or visitor.username,
        "createdAt": _ts(room.opened_at),
        "lastMessageAt": _ts(room.last_message_at),
        "tags": [],
        "visitor": visitor_data(visitor),
    }
    agent = room.serving_agent if room.serving_agent_id is not None else None
    if agent is not None:
        data["agent"] = agent_data(agent)
    data["type"] = payload_type
    return data


def build_payload(event: Event) -> dict[str, Any]:
    """The JSON body sent for ``event`` (built inside the transaction, so it is a snapshot)."""
    kwargs = event.kwargs
    payload_type = PAYLOAD_TYPES[event.name]
    if event.name == "visitor_registered":
        return {"type": payload_type, "visitor": visitor_data(kwargs["visitor"])}
    if event.name == "message_hidden":
        message: Message = kwargs["message"]
        room = message.room
        data = room_data(room, room.visitor, payload_type)
        hidden_by = kwargs.get("hidden_by")
        data["messages"] = [{"_id": message.public_id, "ts": format_ts(message.ts), "hidden": True}]
        data["hiddenAt"] = _ts(message.hidden_at)
        data["hiddenBy"] = (
            {"_id": str(hidden_by.pk), "username": hidden_by.get_username()} if hidden_by else None
        )
        return data
    room = kwargs["room"]
    visitor = room.visitor
    data = room_data(room, visitor, payload_type)
    if event.name == "room_opened":
        data["messages"] = []
    elif event.name == "messages_received":
        data["messages"] = [message_data(m, visitor) for m in kwargs["messages"]]
    elif event.name == "agent_replied":
        data["messages"] = [message_data(kwargs["message"], visitor)]
    elif event.name == "room_closed":
        messages = (
            Message.objects.filter(room=room, hidden_at__isnull=True)
            .select_related("agent")
            .order_by("ts", "pk")
        )
        data["messages"] = [message_data(m, visitor) for m in messages]
        if room.serving_agent_id is not None and room.serving_agent is not None:
            data["servedBy"] = {
                "_id": str(room.serving_agent.pk),
                "username": room.serving_agent.get_username(),
            }
        closed_by = kwargs.get("closed_by")
        data["closedAt"] = _ts(room.closed_at)
        data["closedBy"] = (
            {"_id": str(closed_by.pk), "username": closed_by.get_username()} if closed_by else None
        )
        data["closer"] = "user" if closed_by is not None else "visitor"
    return data


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------------------------------------
# Recording (inside the transaction) and enqueuing (after commit)
# ------------------------------------------------------------------------------------------------


def record_deliveries(events: Sequence[Event]) -> list[int]:
    """One delivery per event and subscribed active endpoint; their ids, in event order.

    One query when no endpoint is configured; two (endpoints, one INSERT) otherwise.
    """
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).order_by("pk"))
    if not endpoints:
        return []
    deliveries: list[WebhookDelivery] = []
    for event in events:
        targets = [ep for ep in endpoints if event.name in (ep.events or [])]
        if not targets:
            continue
        body = encode(build_payload(event))
        deliveries.extend(
            WebhookDelivery(endpoint=ep, event=event.name, payload=body) for ep in targets
        )
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries)
    return [d.pk for d in deliveries]


def enqueue_deliveries(delivery_ids: Iterable[int]) -> None:
    """Hand each delivery to the Tasks framework (after commit). A failure to enqueue is logged;
    the delivery stays pending for ``manage.py livechat_send_webhooks``."""
    from django_livechat import tasks

    for delivery_id in delivery_ids:
        try:
            tasks.enqueue_delivery(delivery_id)
        except Exception:
            logger.exception("Could not enqueue webhook delivery %s", delivery_id)


def resend(deliveries: Iterable[WebhookDelivery]) -> int:
    """Make deliveries pending again with a fresh attempt budget; send them after commit."""
    ids = [d.pk for d in deliveries]
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=None
    )
    transaction.on_commit(lambda: enqueue_deliveries(ids), robust=True)
    return len(ids)


# ------------------------------------------------------------------------------------------------
# Signing and sending
# ------------------------------------------------------------------------------------------------


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix seconds>,v1=<hex>``: the value of ``X-Livechat-Signature``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={compute_signature(secret, ts, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether ``header`` (``X-Livechat-Signature``) signs ``body`` with ``secret`` and is at most
    ``tolerance`` seconds old. For receivers written in Python."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = compute_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: a 3xx answer is a failed attempt (it may point at another host)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _NoRedirects(),
    ):
        opener.add_handler(handler)
    return opener


@dataclass
class HTTPResult:
    status: int | None
    text: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HTTPResult:
    """POST ``body`` to ``url`` (http or https only); never raises for network errors."""
    if not url.lower().startswith(("http://", "https://")):
        return HTTPResult(None, f"refused: not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener().open(request, timeout=timeout) as response:
            text = response.read(RESPONSE_KEPT).decode("utf-8", "replace")
            return HTTPResult(response.status, text)
    except urllib.error.HTTPError as exc:
        try:
            text = exc.read(RESPONSE_KEPT).decode("utf-8", "replace")
        except Exception:
            text = ""
        finally:
            exc.close()
        if 300 <= exc.code < 400:
            text = f"redirect to {exc.headers.get('Location', '?')} not followed. {text}"
        return HTTPResult(exc.code, text)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return HTTPResult(None, f"{type(exc).__name__}: {reason}")


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``WEBHOOK_RETRY_DELAY * 2**(attempts-1)``,
    at most ``WEBHOOK_RETRY_MAX_DELAY``."""
    base = float(app_settings.WEBHOOK_RETRY_DELAY)
    seconds = min(base * 2 ** max(attempts - 1, 0), float(app_settings.WEBHOOK_RETRY_MAX_DELAY))
    return timedelta(seconds=seconds)


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery for one attempt, or None if it is not pending and due.

    A conditional UPDATE: two workers holding the same delivery never both send it. The lease
    (``next_attempt_at`` moved past the timeout) expires if this worker dies mid-attempt.
    """
    lease = now + timedelta(seconds=float(app_settings.WEBHOOK_TIMEOUT) + 60)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=lease)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def attempt_delivery(delivery_id: int) -> WebhookDelivery | None:
    """One attempt to send the delivery; its new state, or None if it was not due.

    A failed attempt leaves it pending with ``next_attempt_at`` after the backoff, or marks it
    failed after ``WEBHOOK_MAX_ATTEMPTS`` attempts. Never holds a transaction over the network.
    """
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    body = delivery.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.delivery_id),
        ATTEMPT_HEADER: str(delivery.attempts),
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
    }
    if not endpoint.is_active:
        result = HTTPResult(None, "endpoint inactive: not sent")
    else:
        result = post(endpoint.url, body, headers, float(app_settings.WEBHOOK_TIMEOUT))
    now = timezone.now()
    delivery.last_status_code = result.status
    delivery.last_response = result.text[:RESPONSE_KEPT]
    if result.ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= app_settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.is_active:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_response",
        ]
    )
    if result.ok:
        logger.info("Webhook %s delivered to %s", delivery.delivery_id, endpoint.url)
    else:
        logger.warning(
            "Webhook %s to %s failed (attempt %d): %s %s",
            delivery.delivery_id,
            endpoint.url,
            delivery.attempts,
            result.status,
            result.text[:200],
        )
    return delivery


def due_deliveries(now: datetime | None = None, grace: timedelta = timedelta(minutes=1)) -> Any:
    """Pending deliveries whose next attempt is due (never enqueued ones after ``grace``)."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - grace)
    )


def send_due(limit: int = 100, grace: timedelta = timedelta(minutes=1)) -> list[WebhookDelivery]:
    """Attempt the due deliveries now, oldest first (for cron or backends without deferral)."""
    ids = list(due_deliveries(grace=grace).order_by("pk").values_list("pk", flat=True)[:limit])
    results = [attempt_delivery(pk) for pk in ids]
    return [d for d in results if d is not None]
