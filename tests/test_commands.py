from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from django_livechat.models import AuthToken
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_create_token_prints_headers_once_and_they_work() -> None:
    agent = AgentFactory(username="bot")
    out = StringIO()
    call_command("livechat_create_token", "bot", "--name", "gateway", stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    assert lines["X-User-Id"] == str(agent.pk)
    token = AuthToken.objects.get(user=agent)
    assert token.name == "gateway"
    assert lines["X-Auth-Token"] not in token.digest
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=lines["X-Auth-Token"], HTTP_X_USER_ID=lines["X-User-Id"])
    assert client.get("/api/v1/me").status_code == 200


def test_create_token_with_expiry() -> None:
    AgentFactory(username="bot")
    call_command("livechat_create_token", "bot", "--expires-in", "3600", stdout=StringIO())
    token = AuthToken.objects.get()
    assert token.expires_at is not None
    assert token.expires_at - timezone.now() > timedelta(minutes=59)


def test_create_token_for_unknown_user() -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("livechat_create_token", "ghost", stdout=StringIO())


def test_clear_tokens_deletes_only_expired_ones() -> None:
    agent = AgentFactory()
    for _ in range(5):
        AuthToken.objects.create_token(agent, expires_at=timezone.now() - timedelta(days=1))
    AuthToken.objects.create_token(agent, name="alive")
    out = StringIO()
    call_command("livechat_clear_tokens", "--batch-size", "2", stdout=out)
    assert "Deleted 5 expired token(s)." in out.getvalue()
    assert list(AuthToken.objects.values_list("name", flat=True)) == ["alive"]
