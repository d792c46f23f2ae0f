"""The OpenAPI schema: generated cleanly, every route documented with examples, livechat/messages
agreeing with Rocket.Chat's published description, and the app working without drf-spectacular."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIRequestFactory

from django_livechat import urls
from django_livechat.openapi import LivechatSchemaView

ROOT = Path(__file__).resolve().parent.parent
# Rocket.Chat's published operation, extracted from its Open API repository (see the file's
# info.description); kept in the repository so the comparison runs from any checkout.
ROCKETCHAT_OPENAPI = Path(
    os.environ.get(
        "ROCKETCHAT_OPENAPI", ROOT / "tests" / "data" / "rocketchat-livechat-messages.openapi.yaml"
    )
)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    GENERATOR_STATS.reset()
    response = LivechatSchemaView.as_view()(APIRequestFactory().get("/api/schema/?format=json"))
    response.render()
    assert response.status_code == 200
    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors"
    data: dict[str, Any] = json.loads(response.content)
    return data


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in schema["paths"].items()
        for method in HTTP_METHODS
        if method in item
    ]


def test_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_every_route_is_documented(schema: dict[str, Any]) -> None:
    documented = {(path, method) for path, method, _op in operations(schema)}
    assert documented == {
        ("/api/v1/livechat/messages", "post"),
        ("/api/v1/login", "post"),
        ("/api/v1/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/info", "get"),
        ("/api/v1/livechat/visitor", "post"),
        ("/api/v1/livechat/visitor/{token}", "get"),
        ("/api/v1/livechat/visitor/{token}", "delete"),
        ("/api/v1/livechat/room", "get"),
        ("/api/v1/livechat/room.close", "post"),
        ("/api/v1/livechat/message", "post"),
        ("/api/v1/livechat/message/{message_id}", "get"),
        ("/api/v1/livechat/message/{message_id}", "put"),
        ("/api/v1/livechat/message/{message_id}", "delete"),
        ("/api/v1/livechat/messages.history/{rid}", "get"),
        ("/api/v1/livechat/rooms", "get"),
        ("/api/v1/livechat/messages.list", "get"),
    }
    # And nothing in the app's URLconf escapes the documentation (but the catch-all 404).
    names = {
        p.name
        for p in urls.urlpatterns
        if isinstance(p, URLPattern | URLResolver) and getattr(p, "name", None)
    }
    assert len(names - {"not-found"}) == len({path for path, _method in documented}), (
        "a route of django_livechat/urls.py is missing from django_livechat/openapi.py DOCUMENTED"
    )


def test_every_operation_has_examples(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert operation.get("operationId") and operation.get("summary"), where
        if method in ("post", "put") and path != "/api/v1/logout":
            content = operation["requestBody"]["content"]["application/json"]
            assert content["examples"], where
        for code, response in operation["responses"].items():
            content = response["content"]["application/json"]
            assert content["examples"], f"{where} {code}"
            assert content["schema"]["type"] == "object", f"{where} {code}"


def test_agent_routes_require_the_token_headers(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["authToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
        "description": schemes["authToken"]["description"],
    }
    assert schemes["userId"]["name"] == "X-User-Id"
    ops = {(path, method): op for path, method, op in operations(schema)}
    for key in [("/api/v1/livechat/messages", "post"), ("/api/v1/livechat/rooms", "get")]:
        assert ops[key]["security"] == [{"authToken": [], "userId": []}]
    for key in [("/api/v1/livechat/visitor", "post"), ("/api/v1/livechat/room", "get")]:
        assert "security" not in ops[key] or ops[key]["security"] in ([], [{}])


def _props(schema: dict[str, Any]) -> set[str]:
    return set(schema.get("properties", {}))


def _response_schema(operation: dict[str, Any], code: str, root: dict[str, Any]) -> Any:
    response = operation["responses"][code]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = root["components"]["responses"][name]
    return response["content"]["application/json"]["schema"]


def test_livechat_messages_agrees_with_rocketchat(schema: dict[str, Any]) -> None:
    theirs = yaml.safe_load(ROCKETCHAT_OPENAPI.read_text())
    path = "/api/v1/livechat/messages"
    assert set(theirs["paths"]) == {path}
    assert path in schema["paths"]
    their_methods = {m for m in HTTP_METHODS if m in theirs["paths"][path]}
    our_methods = {m for m in HTTP_METHODS if m in schema["paths"][path]}
    assert their_methods == our_methods == {"post"}
    their_op, our_op = theirs["paths"][path]["post"], schema["paths"][path]["post"]
    assert our_op["operationId"] == their_op["operationId"]

    their_body = their_op["requestBody"]["content"]["application/json"]["schema"]
    our_body = our_op["requestBody"]["content"]["application/json"]["schema"]
    assert our_body["required"] == their_body["required"] == ["visitor", "messages"]
    assert _props(our_body) == _props(their_body)
    assert _props(our_body["properties"]["visitor"]) == _props(their_body["properties"]["visitor"])
    assert _props(our_body["properties"]["messages"]["items"]) == _props(
        their_body["properties"]["messages"]["items"]
    )
    # Their request example is valid for our (stricter) validator too.
    their_example = their_op["requestBody"]["content"]["application/json"]["examples"]
    our_example = our_op["requestBody"]["content"]["application/json"]["examples"]
    assert next(iter(their_example.values()))["value"] == next(iter(our_example.values()))["value"]

    for code in ("200", "400", "401"):
        theirs_schema = _response_schema(their_op, code, theirs)
        ours_schema = _response_schema(our_op, code, schema)
        # Every property Rocket.Chat documents is in ours (ours may add success/error on 401).
        assert _props(theirs_schema) <= _props(ours_schema), code
    their_item = _response_schema(their_op, "200", theirs)["properties"]["messages"]["items"]
    our_item = _response_schema(our_op, "200", schema)["properties"]["messages"]["items"]
    assert _props(their_item) == _props(our_item) == {"username", "msg", "ts"}


def test_documented_examples_are_what_the_api_accepts(schema: dict[str, Any]) -> None:
    """The request examples pass the very validators the views use."""
    from django_livechat import serializers, visitor_views

    validators = {
        ("/api/v1/livechat/messages", "post"): serializers.MESSAGES_REQUEST.validate,
        ("/api/v1/livechat/visitor", "post"): visitor_views.VISITOR_REQUEST.check,
        ("/api/v1/livechat/room.close", "post"): visitor_views.ROOM_CLOSE_REQUEST.validate,
        ("/api/v1/livechat/message", "post"): visitor_views.MESSAGE_REQUEST.validate,
        ("/api/v1/livechat/message/{message_id}", "put"): (
            visitor_views.MESSAGE_UPDATE_REQUEST.validate
        ),
    }
    ops = {(path, method): op for path, method, op in operations(schema)}
    for key, validate in validators.items():
        examples = ops[key]["requestBody"]["content"]["application/json"]["examples"]
        for example in examples.values():
            validate(example["value"])


def test_schema_served_as_yaml_by_default() -> None:
    response = LivechatSchemaView.as_view()(APIRequestFactory().get("/api/schema/"))
    response.render()
    assert response.status_code == 200
    data = yaml.safe_load(response.content)
    assert "/api/v1/livechat/rooms" in data["paths"]


BLOCK_SPECTACULAR = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("drf_spectacular", "drf_spectacular_sidecar"):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Block())
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, run_syncdb=True)
from django.test import Client
c = Client()
r = c.post("/api/v1/livechat/visitor", {"visitor": {"token": "t"}}, content_type="application/json")
assert r.status_code == 200, r.content
r = c.get("/api/v1/livechat/room", {"token": "t"})
assert r.status_code == 200, r.content
assert not any(m.startswith("drf_spectacular") for m in sys.modules), "imported"
print("ok")
"""


def test_the_app_works_without_drf_spectacular() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", BLOCK_SPECTACULAR],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


EXAMPLE_PAGES = """
import django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="localhost")
schema = c.get("/api/schema/?format=json")
assert schema.status_code == 200, schema.status_code
assert "/api/v1/livechat/visitor" in schema.json()["paths"]
docs = c.get("/api/docs/")
assert docs.status_code == 200 and b"/static/drf_spectacular_sidecar/" in docs.content
assert b"cdn.jsdelivr" not in docs.content and b"unpkg" not in docs.content
redoc = c.get("/api/redoc/")
assert redoc.status_code == 200 and b"drf_spectacular_sidecar" in redoc.content
print("ok")
"""


def test_example_project_serves_schema_and_docs() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "example_project"), str(ROOT)]),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", EXAMPLE_PAGES],
        cwd=ROOT / "example_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_documented_response_examples_match_their_schemas(schema: dict[str, Any]) -> None:
    import jsonschema

    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            content = response["content"]["application/json"]
            for name, example in content["examples"].items():
                errors = list(
                    jsonschema.Draft7Validator(content["schema"]).iter_errors(example["value"])
                )
                assert not errors, f"{method.upper()} {path} {code} {name}: {errors[0].message}"
