"""SPEC §1.1 and §3: authentication, permission, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from django_livechat.authentication import RocketChatTokenAuthentication
from django_livechat.models import AuthToken, Message, Visitor, hash_token
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/livechat/messages"
BODY = {"visitor": {"token": "t"}, "messages": [{"msg": "hi"}]}
UNAUTHORIZED = (
    b'{"success":false,"error":"You must be logged in to do this.","status":"error",'
    b'"message":"You must be logged in to do this."}'
)
FORBIDDEN = (
    b'{"success":false,"error":"User does not have the permissions required for this action '
    b'[error-unauthorized]","errorType":"error-unauthorized"}'
)


def post(headers: dict[str, str], body: Any = BODY) -> Any:
    return APIClient().post(URL, body, format="json", headers=headers)


def assert_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.content == UNAUTHORIZED
    assert response["Content-Type"] == "application/json"
    assert "WWW-Authenticate" in response
    assert not Visitor.objects.exists() and not Message.objects.exists()


def test_no_headers() -> None:
    assert_401(post({}))


def test_authentication_comes_before_validation() -> None:
    assert_401(post({}, body={"nonsense": True}))


def test_only_token(agent_token: str) -> None:
    assert_401(post({"X-Auth-Token": agent_token}))


def test_only_user_id(agent: Any) -> None:
    assert_401(post({"X-User-Id": str(agent.pk)}))


def test_wrong_token(agent: Any, agent_token: str) -> None:
    assert_401(post({"X-Auth-Token": agent_token + "x", "X-User-Id": str(agent.pk)}))


def test_another_users_id(agent_token: str) -> None:
    other = AgentFactory()
    assert_401(post({"X-Auth-Token": agent_token, "X-User-Id": str(other.pk)}))


@pytest.mark.parametrize(
    "user_id", ["abc", "1 OR 1=1", "-1", "1.0", "99999999999999999999999", "é", " "]
)
def test_malformed_user_id_is_401_never_500(agent_token: str, user_id: str) -> None:
    assert_401(post({"X-Auth-Token": agent_token, "X-User-Id": user_id}))


def test_expired_token(agent: Any) -> None:
    _t, raw = AuthToken.objects.create_token(
        agent, expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_401(post({"X-Auth-Token": raw, "X-User-Id": str(agent.pk)}))


def test_token_not_yet_expired_works(agent: Any) -> None:
    _t, raw = AuthToken.objects.create_token(agent, expires_at=timezone.now() + timedelta(hours=1))
    assert post({"X-Auth-Token": raw, "X-User-Id": str(agent.pk)}).status_code == 200


def test_revoked_token(agent: Any, agent_token: str) -> None:
    AuthToken.objects.filter(digest=hash_token(agent_token)).delete()
    assert_401(post({"X-Auth-Token": agent_token, "X-User-Id": str(agent.pk)}))


def test_inactive_user(agent: Any, agent_token: str) -> None:
    agent.is_active = False
    agent.save()
    assert_401(post({"X-Auth-Token": agent_token, "X-User-Id": str(agent.pk)}))


def test_valid_credentials(agent: Any, agent_token: str) -> None:
    response = post({"X-Auth-Token": agent_token, "X-User-Id": str(agent.pk)})
    assert response.status_code == 200


def test_tokens_are_stored_only_as_digests(agent: Any, agent_token: str) -> None:
    token = AuthToken.objects.get(user=agent)
    assert token.digest == hash_token(agent_token)
    assert agent_token not in token.digest
    assert len(agent_token) >= 43  # 256 bits, URL-safe base64


def test_other_schemes_are_left_to_other_authenticators() -> None:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    request = Request(APIRequestFactory().post(URL, HTTP_AUTHORIZATION="Token abc"))
    assert RocketChatTokenAuthentication().authenticate(request) is None


def test_last_used_is_written_at_most_every_interval(agent: Any, agent_token: str) -> None:
    headers = {"X-Auth-Token": agent_token, "X-User-Id": str(agent.pk)}
    post(headers)
    token = AuthToken.objects.get(user=agent)
    first = token.last_used_at
    assert first is not None
    post(headers)
    token.refresh_from_db()
    assert token.last_used_at == first  # not written on every request
    AuthToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=6))
    post(headers)
    token.refresh_from_db()
    assert token.last_used_at > first


# -- permission (403) ------------------------------------------------------------------------


def test_user_without_permission_gets_403_and_nothing_is_stored() -> None:
    user = UserFactory()
    _t, raw = AuthToken.objects.create_token(user)
    response = post({"X-Auth-Token": raw, "X-User-Id": str(user.pk)})
    assert response.status_code == 403
    assert response.content == FORBIDDEN
    assert not Visitor.objects.exists()


def test_permission_is_checked_before_validation() -> None:
    user = UserFactory()
    _t, raw = AuthToken.objects.create_token(user)
    response = post({"X-Auth-Token": raw, "X-User-Id": str(user.pk)}, body={"bad": 1})
    assert response.status_code == 403


def test_permission_through_a_group() -> None:
    user = UserFactory()
    group = Group.objects.create(name="integrations")
    group.permissions.add(
        Permission.objects.get(codename="add_message", content_type__app_label="django_livechat")
    )
    user.groups.add(group)
    _t, raw = AuthToken.objects.create_token(user)
    assert post({"X-Auth-Token": raw, "X-User-Id": str(user.pk)}).status_code == 200


def test_superuser_may_post() -> None:
    user = UserFactory(is_superuser=True)
    _t, raw = AuthToken.objects.create_token(user)
    assert post({"X-Auth-Token": raw, "X-User-Id": str(user.pk)}).status_code == 200


@override_settings(
    DJANGO_LIVECHAT={"PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}
)
def test_permission_classes_are_a_setting() -> None:
    user = UserFactory()
    _t, raw = AuthToken.objects.create_token(user)
    assert post({"X-Auth-Token": raw, "X-User-Id": str(user.pk)}).status_code == 200


@override_settings(DJANGO_LIVECHAT={"TOKEN_LIFETIME": 60})
def test_token_lifetime_setting(agent: Any) -> None:
    token, _raw = AuthToken.objects.create_token(agent)
    assert token.expires_at is not None
    assert timedelta(seconds=55) < token.expires_at - timezone.now() <= timedelta(seconds=60)
