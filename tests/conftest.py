from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from django_livechat.models import AuthToken
from tests.factories import AgentFactory

MESSAGES_URL = "/api/v1/livechat/messages"


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    """Every test starts with an empty cache: throttle counts never leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent(db: Any) -> Any:
    return AgentFactory()


@pytest.fixture
def agent_token(agent: Any) -> str:
    _token, raw = AuthToken.objects.create_token(agent, name="tests")
    return raw


@pytest.fixture
def api(agent: Any, agent_token: str) -> APIClient:
    """A client sending the agent's ``X-Auth-Token`` and ``X-User-Id``."""
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=agent_token, HTTP_X_USER_ID=str(agent.pk))
    return client


@pytest.fixture
def post_messages(api: APIClient) -> Any:
    """POST a JSON body (any Python value, or raw bytes) to ``livechat/messages``."""

    def post(body: Any, **extra: Any) -> Any:
        if isinstance(body, bytes | str):
            return api.generic("POST", MESSAGES_URL, body, content_type="application/json", **extra)
        return api.post(MESSAGES_URL, body, format="json", **extra)

    return post


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``postgres`` need PostgreSQL: on other databases they are deselected
    (reported as deselected, never as skipped or passed). ``scripts/test`` runs the suite on
    both databases, so every test runs somewhere."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
