"""The Lambda handler, invoked with API Gateway REST (v1) and HTTP API (v2) events."""

import base64
import json
from collections.abc import Callable
from typing import Any

from mangum.types import LambdaContext

from {{ cookiecutter.package_name }}.main import handler

MakeEvent = Callable[..., dict[str, Any]]


def invoke(event: dict[str, Any], context: LambdaContext) -> tuple[int, str, dict[str, Any]]:
    response = handler(event, context)
    body: str = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], body, response


def test_ping(make_event: MakeEvent, lambda_context: LambdaContext) -> None:
    status, body, response = invoke(make_event("GET", "/ping"), lambda_context)
    assert status == 200
    assert json.loads(body) == {"ping": "pong!"}
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    assert headers["content-type"] == "application/json"


def test_example(make_event: MakeEvent, lambda_context: LambdaContext) -> None:
    event = make_event("POST", "/api/v1/example", {"a": 6, "b": 7})
    status, body, _ = invoke(event, lambda_context)
    assert status == 200
    assert json.loads(body) == {"product": 42}


def test_bad_body_is_422(make_event: MakeEvent, lambda_context: LambdaContext) -> None:
    event = make_event("POST", "/api/v1/example", {"a": "six", "b": 7})
    status, body, _ = invoke(event, lambda_context)
    assert status == 422
    assert json.loads(body)["detail"][0]["loc"] == ["body", "a"]


def test_unknown_route_is_404(make_event: MakeEvent, lambda_context: LambdaContext) -> None:
    status, _, _ = invoke(make_event("GET", "/nowhere"), lambda_context)
    assert status == 404
