"""Visitors, their rooms (conversations), messages, and the API's access tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_livechat.conf import app_settings

# Rocket.Chat's Random.id() alphabet: 17 characters from it make a public id.
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
ID_LENGTH = 17


# Random bytes below 220 (4 x 55) map uniformly onto the alphabet; the others are dropped.
_ID_USABLE = 4 * len(ID_ALPHABET)
_ID_TABLE = bytes.maketrans(bytes(range(_ID_USABLE)), (ID_ALPHABET * 4).encode("ascii"))
_ID_DROP = bytes(range(_ID_USABLE, 256))


def random_ids(count: int) -> list[str]:
    """``count`` Rocket.Chat-style public ids (17 characters, about 98 bits each).

    Unbiased (rejection sampling) and fast: the bytes are mapped in C by ``bytes.translate``.
    """
    needed = count * ID_LENGTH
    chars = b""
    while len(chars) < needed:
        raw = secrets.token_bytes((needed - len(chars)) * 5 // 4 + 16)
        chars += raw.translate(_ID_TABLE, _ID_DROP)
    text = chars[:needed].decode("ascii")
    return [text[k : k + ID_LENGTH] for k in range(0, needed, ID_LENGTH)]


def random_id() -> str:
    return random_ids(1)[0]


class GuestNumber(models.Model):
    """One row per registered visitor; its auto-increment key is the N of ``guest-N``.

    An insert is atomic and never hands out the same key twice, on SQLite (AUTOINCREMENT)
    and PostgreSQL (a sequence) alike, so concurrent registrations never collide.
    """

    id = models.BigAutoField(primary_key=True)

    class Meta:
        verbose_name = _("guest number")
        verbose_name_plural = _("guest numbers")

    def __str__(self) -> str:
        return f"guest-{self.pk}"


class Visitor(models.Model):
    token = models.CharField(_("token"), max_length=255, unique=True)
    username = models.CharField(_("username"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    department = models.CharField(_("department"), max_length=255, blank=True)
    livechat_data = models.JSONField(
        _("custom fields"),
        default=dict,
        blank=True,
        help_text=_("The visitor's custom fields (Rocket.Chat's livechatData), key to value."),
    )
    is_blocked = models.BooleanField(_("blocked"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="livechat_visitor_created"),
            # The admin's "blocked" filters: few visitors are blocked, a partial index finds them.
            models.Index(
                fields=["id"], condition=Q(is_blocked=True), name="livechat_visitor_blocked"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.username


class Room(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    class Source(models.TextChoices):
        API = "api", _("API")
        WIDGET = "widget", _("widget")

    rid = models.CharField(_("room id"), max_length=ID_LENGTH, unique=True, default=random_id)
    visitor = models.ForeignKey(
        Visitor, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("visitor")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.API
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="livechat_rooms_closed",
        verbose_name=_("closed by"),
    )
    close_comment = models.TextField(_("closing comment"), blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    message_count = models.PositiveIntegerField(_("messages"), default=0)
    serving_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="livechat_rooms_served",
        verbose_name=_("serving agent"),
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["visitor"],
                condition=Q(status="open"),
                name="livechat_one_open_room_per_visitor",
            ),
        ]
        indexes = [
            models.Index(fields=["-opened_at", "-id"], name="livechat_room_opened"),
            models.Index(fields=["status", "-opened_at"], name="livechat_room_status_opened"),
            models.Index(fields=["-last_message_at"], name="livechat_room_last_message"),
            # The admin's "messages" column is sortable.
            models.Index(fields=["-message_count", "-id"], name="livechat_room_msg_count"),
        ]

    def __str__(self) -> str:
        return f"{self.rid} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Message(models.Model):
    class Author(models.TextChoices):
        VISITOR = "visitor", _("visitor")
        AGENT = "agent", _("agent")
        SYSTEM = "system", _("system")

    public_id = models.CharField(_("id"), max_length=ID_LENGTH, unique=True, default=random_id)
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    author_kind = models.CharField(
        _("author"), max_length=8, choices=Author.choices, default=Author.VISITOR
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="livechat_replies",
        verbose_name=_("agent"),
        help_text=_("The staff member who wrote an agent message."),
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="livechat_messages_posted",
        verbose_name=_("posted by"),
        help_text=_("The API user (integration) that posted the message."),
    )
    msg = models.TextField(_("text"))
    ts = models.DateTimeField(_("time"))
    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="livechat_messages_hidden",
        verbose_name=_("hidden by"),
    )
    hidden_reason = models.TextField(_("reason for hiding"), blank=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["ts", "pk"]
        permissions = [("moderate_message", _("Can hide and unhide messages"))]
        constraints = [
            # ``ts`` is strictly increasing within a room, so it is also unique there.
            models.UniqueConstraint(fields=["room", "ts"], name="livechat_message_room_ts"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


def delete_in_batches(queryset: models.QuerySet[Any], batch_size: int = 1000) -> int:
    """Delete the rows of ``queryset`` ``batch_size`` at a time (short locks); return the count."""
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += queryset.model._default_manager.filter(pk__in=ids).delete()[0]


def hash_token(raw: str) -> str:
    """SHA-256 hex digest of a raw token: what is stored and looked up."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class AuthTokenManager(models.Manager["AuthToken"]):
    def create_token(
        self,
        user: Any,  # an instance of settings.AUTH_USER_MODEL
        name: str = "",
        expires_at: Any = None,
    ) -> tuple[AuthToken, str]:
        """Create a token for ``user``; return it and the raw secret, which is not stored."""
        raw = secrets.token_urlsafe(32)  # 256 bits
        if expires_at is None and app_settings.TOKEN_LIFETIME:
            expires_at = timezone.now() + timedelta(seconds=app_settings.TOKEN_LIFETIME)
        token = self.create(user=user, digest=hash_token(raw), name=name, expires_at=expires_at)
        return token, raw


class AuthToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="livechat_tokens",
        verbose_name=_("user"),
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = AuthTokenManager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name or _("token %(id)s") % {"id": self.pk}

    def is_expired(self, now: Any = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


# ------------------------------------------------------------------------------------------------
# Two-way integration: idempotency keys, webhook endpoints and deliveries
# ------------------------------------------------------------------------------------------------


class IdempotencyKey(models.Model):
    """The stored reply of a request sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the request's own writes, so a key exists exactly when the
    request's work was committed. ``scope`` is whose key it is (an API user, a visitor token).
    """

    scope = models.CharField(_("scope"), max_length=100)
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="livechat_idempotency_scope_key"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="livechat_idempotency_expires")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class WebhookEvent(models.TextChoices):
    VISITOR_REGISTERED = "visitor_registered", _("visitor registered")
    ROOM_OPENED = "room_opened", _("conversation opened")
    ROOM_CLOSED = "room_closed", _("conversation closed")
    MESSAGES_RECEIVED = "messages_received", _("visitor messages received")
    AGENT_REPLIED = "agent_replied", _("agent replied")
    MESSAGE_HIDDEN = "message_hidden", _("message hidden")


def all_webhook_events() -> list[str]:
    return list(WebhookEvent.values)


class WebhookEndpoint(models.Model):
    """A URL that receives signed webhook requests for the events it subscribes to."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("secret"),
        max_length=255,
        help_text=_("Shared secret for the X-Livechat-Signature HMAC-SHA256 header."),
    )
    events = models.JSONField(
        _("events"),
        default=all_webhook_events,
        blank=True,
        help_text=_("The events sent to this endpoint."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: sent after commit, retried until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    delivery_id = models.UUIDField(
        _("delivery id"), unique=True, default=uuid.uuid4, editable=False
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.CharField(_("event"), max_length=32, choices=WebhookEvent.choices)
    payload = models.TextField(_("payload"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_response = models.TextField(_("last response"), blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="livechat_delivery_due"),
            models.Index(fields=["-created_at", "-id"], name="livechat_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
