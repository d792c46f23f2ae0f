"""SPEC §2: login, logout, me, info."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from django_livechat.models import AuthToken, hash_token
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["user", "username"])
def test_login_with_username(field: str) -> None:
    agent = AgentFactory(username="bot")
    response = APIClient().post(
        "/api/v1/login", {field: "bot", "password": "secret-password"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "success"
    assert data["data"]["userId"] == str(agent.pk)
    raw = data["data"]["authToken"]
    assert AuthToken.objects.get(user=agent).digest == hash_token(raw)
    me = data["data"]["me"]
    assert me["_id"] == str(agent.pk) and me["username"] == "bot"
    assert "livechat-agent" in me["roles"]


@pytest.mark.parametrize("field", ["user", "email"])
def test_login_with_email(field: str) -> None:
    agent = AgentFactory(username="bot2", email="Bot2@Example.com")
    response = APIClient().post(
        "/api/v1/login", {field: "bot2@example.com", "password": "secret-password"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["userId"] == str(agent.pk)


@pytest.mark.parametrize(
    "body",
    [
        {"user": "bot", "password": "wrong"},
        {"user": "nobody", "password": "secret-password"},
        {"user": "bot"},
        {"password": "secret-password"},
        {"user": ["bot"], "password": "secret-password"},
        {},
    ],
)
def test_login_refused(body: dict[str, Any]) -> None:
    AgentFactory(username="bot")
    response = APIClient().post("/api/v1/login", body, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "status": "error",
        "message": "Unauthorized",
        "success": False,
        "error": "Unauthorized",
    }
    assert not AuthToken.objects.exists()


def test_inactive_user_cannot_log_in() -> None:
    UserFactory(username="gone", is_active=False)
    response = APIClient().post(
        "/api/v1/login", {"user": "gone", "password": "secret-password"}, format="json"
    )
    assert response.status_code == 401


def test_login_token_works_and_logout_revokes_it() -> None:
    agent = AgentFactory(username="bot")
    client = APIClient()
    data = client.post(
        "/api/v1/login", {"user": "bot", "password": "secret-password"}, format="json"
    ).json()
    client.credentials(
        HTTP_X_AUTH_TOKEN=data["data"]["authToken"], HTTP_X_USER_ID=data["data"]["userId"]
    )
    body = {"visitor": {"token": "t"}, "messages": [{"msg": "hi"}]}
    assert client.post("/api/v1/livechat/messages", body, format="json").status_code == 200
    response = client.post("/api/v1/logout")
    assert response.status_code == 200
    assert response.json() == {"status": "success", "data": {"message": "You've been logged out!"}}
    assert not AuthToken.objects.filter(user=agent).exists()
    assert client.post("/api/v1/livechat/messages", body, format="json").status_code == 401


def test_logout_revokes_only_the_token_used(agent: Any, api: APIClient) -> None:
    AuthToken.objects.create_token(agent, name="other")
    assert api.post("/api/v1/logout").status_code == 200
    assert list(AuthToken.objects.filter(user=agent).values_list("name", flat=True)) == ["other"]


def test_logout_needs_authentication() -> None:
    assert APIClient().post("/api/v1/logout").status_code == 401


def test_me(agent: Any, api: APIClient) -> None:
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    data = response.json()
    assert data["_id"] == str(agent.pk)
    assert data["username"] == agent.username
    assert data["emails"] == [{"address": agent.email, "verified": False}]
    assert data["active"] is True
    assert data["roles"] == ["user", "livechat-agent"]
    assert data["success"] is True
    assert list(data)[-1] == "success"


def test_me_needs_authentication() -> None:
    assert APIClient().get("/api/v1/me").status_code == 401


def test_info_needs_no_authentication() -> None:
    response = APIClient().get("/api/info")
    assert response.status_code == 200
    assert response.content == b'{"version":"7.0","success":true}'
