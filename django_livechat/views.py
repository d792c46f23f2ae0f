"""The API views: thin. Authenticate, validate with a serializer, call the service, render."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, NotFound
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from django_livechat import services
from django_livechat.authentication import RocketChatTokenAuthentication
from django_livechat.conf import app_settings
from django_livechat.idempotency import idempotent, user_scope
from django_livechat.models import AuthToken
from django_livechat.permissions import posting_permissions
from django_livechat.serializers import MessagesRequestSerializer, PostedMessageSerializer
from django_livechat.throttling import AuthFailureGuard, UserRateThrottle, VisitorRateThrottle
from django_livechat.wire import (
    FirstRendererNegotiation,
    LivechatError,
    RocketChatJSONParser,
    RocketChatJSONRenderer,
    exception_handler,
)


class LivechatAPIView(APIView):
    """Base of every view of the app: it never depends on the host's ``REST_FRAMEWORK``."""

    authentication_classes = [RocketChatTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [RocketChatJSONParser]
    renderer_classes = [RocketChatJSONRenderer]
    content_negotiation_class = FirstRendererNegotiation
    throttle_classes: list[Any] = []
    versioning_class = None
    # Failed authentications are counted per client IP; too many -> 429 (AuthFailureGuard).
    counts_auth_failures = True

    def get_exception_handler(self) -> Any:
        return exception_handler

    def get_throttles(self) -> list[BaseThrottle]:
        """Our throttles, rates from ``DJANGO_LIVECHAT["THROTTLE_RATES"]`` (never DRF's)."""
        return [UserRateThrottle()]

    def perform_authentication(self, request: Request) -> None:
        if not self.counts_auth_failures:
            return
        guard = AuthFailureGuard()
        guard.check(request)
        try:
            request.user  # noqa: B018 - authenticates
        except (AuthenticationFailed, NotAuthenticated):
            guard.record(request)
            raise


class MessagesView(LivechatAPIView):
    """``POST /api/v1/livechat/messages``: messages posted on behalf of a visitor."""

    def get_permissions(self) -> list[BasePermission]:
        return posting_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        return [UserRateThrottle(), VisitorRateThrottle()]

    @idempotent(lambda request: user_scope(request.user))
    def post(self, request: Request) -> Response:
        serializer = MessagesRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = serializer.validated_data
        try:
            posted = services.post_messages(
                token=body["visitor"]["token"],
                texts=[item["msg"] for item in body["messages"]],
                posted_by=request.user,
            )
        except services.VisitorBlocked as exc:
            raise LivechatError(
                str(exc), "error-visitor-blocked", status.HTTP_403_FORBIDDEN
            ) from exc
        messages = PostedMessageSerializer(
            posted.messages, many=True, context={"username": posted.visitor.username}
        ).data
        return Response({"messages": messages, "success": True})


def user_payload(user: Any) -> dict[str, Any]:
    """The ``me`` object Rocket.Chat returns for a user."""
    roles = ["user"]
    if user.is_superuser:
        roles.append("admin")
    if user.has_perm("django_livechat.add_message"):
        roles.append("livechat-agent")
    email = getattr(user, "email", "")
    return {
        "_id": str(user.pk),
        "username": user.get_username(),
        "name": user.get_full_name() if hasattr(user, "get_full_name") else "",
        "emails": [{"address": email, "verified": False}] if email else [],
        "status": "online",
        "active": user.is_active,
        "roles": roles,
    }


class LoginView(LivechatAPIView):
    """``POST /api/v1/login`` with ``user`` (username or email), ``username`` or ``email``."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        login = next(
            (data[k] for k in ("user", "username", "email") if isinstance(data.get(k), str)), None
        )
        password = data.get("password")
        user = None
        if login and isinstance(password, str):
            user = authenticate(request._request, username=login, password=password)
            if user is None and "@" in login:
                model = get_user_model()
                email_field = model.get_email_field_name()
                match = model._default_manager.filter(**{f"{email_field}__iexact": login}).first()
                if match is not None:
                    user = authenticate(
                        request._request, username=match.get_username(), password=password
                    )
        if user is None or not user.is_active:
            AuthFailureGuard().record(request)
            return Response(
                {
                    "status": "error",
                    "message": "Unauthorized",
                    "success": False,
                    "error": "Unauthorized",
                },
                status=status.HTTP_401_UNAUTHORIZED,
            )
        _token, raw = AuthToken.objects.create_token(user, name=_("login"))
        return Response(
            {
                "status": "success",
                "data": {"userId": str(user.pk), "authToken": raw, "me": user_payload(user)},
            }
        )


class LogoutView(LivechatAPIView):
    """``POST /api/v1/logout``: revokes the token used for this request."""

    def post(self, request: Request) -> Response:
        AuthToken.objects.filter(pk=request.auth.pk).delete()
        return Response({"status": "success", "data": {"message": "You've been logged out!"}})


class MeView(LivechatAPIView):
    """``GET /api/v1/me``."""

    def get(self, request: Request) -> Response:
        return Response({**user_payload(request.user), "success": True})


class InfoView(LivechatAPIView):
    """``GET /api/info``: the server version, no authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    counts_auth_failures = False

    def get(self, request: Request) -> Response:
        return Response({"version": app_settings.SERVER_VERSION, "success": True})


class NotFoundView(LivechatAPIView):
    """Any other path under the app's prefix: 404 in the API's error shape, for every method."""

    authentication_classes = []
    permission_classes = [AllowAny]
    counts_auth_failures = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound()
