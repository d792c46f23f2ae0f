"""``Idempotency-Key``: safe retries of POST requests.

A request sent with an ``Idempotency-Key`` header stores its reply (status and body) under
``(scope, key)`` in the same transaction as its own writes:

- a retry with the same key and the same body gets the stored reply again and writes nothing;
- the same key with another body (or on another route) is refused: 422
  ``error-idempotency-key-reused``;
- two concurrent requests with one key store once: the second waits for the first (the unique
  ``(scope, key)`` row it inserted is locked until its transaction ends) and then replays its
  reply; if the key is found without a reply (the first is still in flight), 409
  ``error-idempotency-key-in-use``;
- only successful (2xx) replies are stored: a request that fails writes nothing, not even its
  key, so it may be retried with the same key;
- keys are scoped (an API user: :func:`user_scope`; a visitor token: :func:`visitor_scope`) and
  expire after ``IDEMPOTENCY_KEY_LIFETIME`` seconds (``manage.py livechat_clear_idempotency_keys``
  deletes expired ones; an expired key is simply reused).

Without the header nothing changes. Use in a view::

    class MessagesView(LivechatAPIView):
        @idempotent(lambda request: user_scope(request.user))
        def post(self, request): ...
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from django_livechat.conf import app_settings
from django_livechat.models import IdempotencyKey
from django_livechat.wire import LivechatError

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"

V = TypeVar("V")


def user_scope(user: Any) -> str:
    """Keys of an API user."""
    return f"user:{user.pk}"


def visitor_scope(token: str) -> str:
    """Keys of a visitor (by a digest of their token: the token itself is not stored twice)."""
    return "visitor:" + hashlib.sha256(str(token).encode("utf-8", "surrogatepass")).hexdigest()


def request_visitor_scope(request: Request) -> str:
    """:func:`visitor_scope` of the ``token`` in the request's body (visitor-token routes)."""
    data = request.data
    token = data.get("token") if isinstance(data, dict) else None
    return visitor_scope("" if token is None else str(token))


def request_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (None without the header); 400 if it is malformed."""
    key = request.META.get(META_KEY)
    if key is None:
        return None
    key = str(key)
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not all(" " <= c <= "~" for c in key):
        raise LivechatError(
            _("The Idempotency-Key header must be 1 to %(max)d printable ASCII characters")
            % {"max": MAX_KEY_LENGTH},
            "error-invalid-idempotency-key",
        )
    return key


def request_hash(request: Request) -> str:
    """SHA-256 over the method, the path and the parsed body in a canonical JSON form (so
    whitespace and key order do not matter)."""
    body = json.dumps(request.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(record: IdempotencyKey, digest: str) -> Response:
    if record.request_hash != digest:
        raise LivechatError(
            _("This Idempotency-Key was already used with another request"),
            "error-idempotency-key-reused",
            status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record.status_code is None:
        raise LivechatError(
            _("A request with this Idempotency-Key is still in progress; retry later"),
            "error-idempotency-key-in-use",
            status.HTTP_409_CONFLICT,
        )
    response = Response(json.loads(record.response_body), status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def run_idempotent(request: Request, scope: str, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` once per ``(scope, Idempotency-Key)``; without the header, just run it.

    The key row, the handler's writes and the stored reply share one transaction.
    """
    key = request_key(request)
    if key is None:
        return handler()
    digest = request_hash(request)  # parses the body first: a malformed one is a 400, no key
    using = router.db_for_write(IdempotencyKey)
    with transaction.atomic(using=using):
        now = timezone.now()
        record = None
        for _attempt in range(3):
            existing = IdempotencyKey.objects.using(using).filter(scope=scope, key=key).first()
            if existing is not None and existing.expires_at > now:
                return _replay(existing, digest)
            try:
                with transaction.atomic(using=using):
                    if existing is not None:  # expired: the key may be used again
                        IdempotencyKey.objects.using(using).filter(pk=existing.pk).delete()
                    # On PostgreSQL this INSERT waits while a concurrent request holds the key.
                    record = IdempotencyKey.objects.using(using).create(
                        scope=scope,
                        key=key,
                        request_hash=digest,
                        created_at=now,
                        expires_at=now + timedelta(seconds=app_settings.IDEMPOTENCY_KEY_LIFETIME),
                    )
                break
            except IntegrityError:
                continue  # a concurrent request stored it first: read and replay its reply
        if record is None:
            raise LivechatError(
                _("A request with this Idempotency-Key is still in progress; retry later"),
                "error-idempotency-key-in-use",
                status.HTTP_409_CONFLICT,
            )
        response = handler()
        if 200 <= response.status_code < 300:
            record.status_code = response.status_code
            record.response_body = json.dumps(response.data, ensure_ascii=False)
            record.save(update_fields=["status_code", "response_body"])
        else:
            transaction.set_rollback(True, using=using)  # an error reply stores nothing
    return response


def idempotent(
    scope: Callable[[Request], str],
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate a view's handler method (``post``) with :func:`run_idempotent`.

    ``scope(request)`` names whose keys these are, e.g. ``lambda r: user_scope(r.user)``, or
    :func:`request_visitor_scope` for visitor-token routes.
    """

    def decorator(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            if request.META.get(META_KEY) is None:
                return method(view, request, *args, **kwargs)
            return run_idempotent(
                request, scope(request), lambda: method(view, request, *args, **kwargs)
            )

        return wrapper

    return decorator
