"""Schemathesis against the generated OpenAPI schema: for every documented operation, requests
generated from the schema (valid and invalid) never get a 5xx, every reply has the documented
content type and matches the documented response schema, and a rejected request writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIRequestFactory
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from django_livechat import services
from django_livechat.models import AuthToken, Message, Room, Visitor
from django_livechat.openapi import LivechatSchemaView
from tests.factories import AgentFactory


def generated_schema() -> dict[str, Any]:
    response = LivechatSchemaView.as_view()(APIRequestFactory().get("/api/schema/?format=json"))
    response.render()
    data: dict[str, Any] = json.loads(response.content)
    return data


schema = schemathesis.openapi.from_dict(generated_schema())
schema.app = WSGIHandler()
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """Like Django's test client: requests must not close the test's database connection
    (``close_old_connections`` would, on PostgreSQL, and lose the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def agent_headers(db: Any, settings: Any, keep_connection: None) -> dict[str, str]:
    settings.DJANGO_LIVECHAT = {
        "THROTTLE_RATES": {"user": None, "visitor": None, "auth_failure": None}
    }
    services.post_messages(token="schema-visitor", texts=["one", "two"])
    agent = AgentFactory(username="schema-agent", is_superuser=True)
    _token, raw = AuthToken.objects.create_token(agent, name="schemathesis")
    return {"X-Auth-Token": raw, "X-User-Id": str(agent.pk)}


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Visitor.objects.values_list("token", "name", "email", "phone", "department")),
        sorted(Room.objects.values_list("rid", "status", "message_count")),
        sorted(Message.objects.values_list("public_id", "msg", "edited_at")),
    )


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests(case: Any, agent_headers: dict[str, str]) -> None:
    before = snapshot()
    response = case.call(headers=agent_headers)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert snapshot() == before, f"rejected {case.method} {case.path} wrote something"
