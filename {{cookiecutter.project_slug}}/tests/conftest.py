{%- set m = cookiecutter | model -%}
"""Shared fixtures: an HTTP test client for the ASGI app, and API Gateway
events (as printed by `sam local generate-event`) for the Lambda handler."""

import base64
import copy
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from mangum.types import LambdaContext
{% if m.jwt %}
from {{ cookiecutter.package_name }}.core.auth import Principal, current_principal
{%- endif %}
from {{ cookiecutter.package_name }}.core.observability import logger
from {{ cookiecutter.package_name }}.main import app

EVENTS = Path(__file__).parent / "events"
{%- if m.aws_sdk %}
# Every test runs against AWS answered in-process (tests/aws.py).
pytest_plugins = ["tests.aws"]
{%- endif %}


{%- if m.jwt %}


TEST_PRINCIPAL = Principal(subject="test-user", scopes=[], claims={"sub": "test-user"})


@pytest.fixture(autouse=True)
def signed_in(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests call the versioned API as TEST_PRINCIPAL, except those marked `real_auth`
    (tests/test_auth.py, tests/test_cors.py), which go through the real dependency."""
    if request.node.get_closest_marker("real_auth"):
        yield
        return
    app.dependency_overrides[current_principal] = lambda: TEST_PRINCIPAL
    yield
    app.dependency_overrides.pop(current_principal, None)
{%- endif %}


@pytest.fixture
def client() -> TestClient:
    return TestClient(app)


@pytest.fixture
def service_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The service logger's JSON lines from now on: call the fixture's value to read them."""
    logs = io.StringIO()
    log_handler = cast("logging.StreamHandler[Any]", logger.registered_handler)
    stream = log_handler.setStream(logs)
    yield lambda: [json.loads(line) for line in logs.getvalue().splitlines()]
    if stream is not None:
        log_handler.setStream(stream)


@pytest.fixture
def lambda_context() -> LambdaContext:
    """The attributes of the Lambda context object that handlers commonly read."""
    context = SimpleNamespace(
        function_name="{{ cookiecutter.function_name }}",
        memory_limit_in_mb={{ cookiecutter.memory_size }},
        aws_request_id="00000000-0000-0000-0000-000000000000",
        invoked_function_arn="arn:aws:lambda:{{ cookiecutter.aws_region }}:123456789012:function:{{ cookiecutter.function_name }}",
        get_remaining_time_in_millis=lambda: {{ cookiecutter.timeout }} * 1000,
    )
    return cast(LambdaContext, context)


def _body(body: Any) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return base64.b64encode(raw).decode(), True


def _content_type(body: Any) -> str | None:
    if body is None:
        return None
    return "application/octet-stream" if isinstance(body, bytes) else "application/json"


def rest_event(method: str, path: str, body: Any = None, stage: str = "prod") -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) proxy event for `path`."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "rest_api_v1.json").read_text()))
    event["body"], event["isBase64Encoded"] = _body(body)
    event["httpMethod"] = method
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    event["requestContext"].update(httpMethod=method, stage=stage, path=f"/{stage}{path}")
    if content_type := _content_type(body):
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return event


def http_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event on the `$default` stage."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "http_api_v2.json").read_text()))
    event["body"], event["isBase64Encoded"] = _body(body)
    event["rawPath"] = path
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    event["routeKey"] = "$default"
    event["requestContext"]["http"].update(method=method, path=path)
    if content_type := _content_type(body):
        event["headers"]["content-type"] = content_type
    return event


@pytest.fixture(params=["rest", "http"])
def make_event(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """Builds an event of each API Gateway flavour in turn."""
    return rest_event if request.param == "rest" else http_event
