"""``X-Auth-Token`` + ``X-User-Id`` authentication, as Rocket.Chat's REST API does it."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from django_livechat.conf import app_settings
from django_livechat.models import AuthToken, hash_token


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


class RocketChatTokenAuthentication(BaseAuthentication):
    """Authenticate by ``X-Auth-Token`` and ``X-User-Id``.

    Follows DRF's contract: ``None`` when neither header is sent (not our scheme),
    ``AuthenticationFailed`` when they are and they are wrong; ``authenticate_header`` makes
    every failure a 401. Tokens are stored as SHA-256 digests; the digest and the user id are
    compared in constant time, and every failure looks the same.
    """

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        raw = request.META.get("HTTP_X_AUTH_TOKEN")
        user_id = request.META.get("HTTP_X_USER_ID")
        if raw is None and user_id is None:
            return None
        if not raw or not user_id:
            raise AuthenticationFailed()
        digest = hash_token(raw)
        token = AuthToken.objects.select_related("user").filter(digest=digest).first()
        # Compare both, always: a wrong token and a wrong user id take the same path.
        digest_ok = _same(token.digest if token else "", digest)
        user_ok = _same(str(token.user_id) if token else "", user_id)
        if token is None or not (digest_ok and user_ok):
            raise AuthenticationFailed()
        now = timezone.now()
        if token.is_expired(now) or not token.user.is_active:
            raise AuthenticationFailed()
        interval = timedelta(seconds=app_settings.TOKEN_LAST_USED_INTERVAL)
        if token.last_used_at is None or now - token.last_used_at >= interval:
            AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'X-Auth-Token realm="api"'
