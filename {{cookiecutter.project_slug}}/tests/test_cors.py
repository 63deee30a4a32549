{%- set m = cookiecutter | model -%}
"""CORS through the built Lambda handler: preflight requests are answered for the allowed
origins without a token, and responses carry the CORS headers (docs/api-edge.md)."""

import pytest

from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.main import handler

from tests.lambda_events import NO_CONTEXT, event, read
{%- if m.jwt %}

# Preflight requests never carry a token: go through the real authentication.
pytestmark = pytest.mark.real_auth
{%- endif %}

ORIGINS = get_settings().cors_origins
ANY_ORIGIN = ORIGINS == ["*"]
ALLOWED = ["https://app.example.com"] if ANY_ORIGIN else ORIGINS
GATEWAY_FLAVOURS = ["http", "rest"]


def preflight(
    flavour: str, origin: str, path: str = "/api/v1/example"
) -> tuple[int, dict[str, list[str]]]:
    request_headers = [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization,content-type"),
    ]
    response = handler(event(flavour, "OPTIONS", path, headers=request_headers), NO_CONTEXT)
    status, headers, _, _ = read(response)
    return status, headers


def test_settings_follow_the_answer() -> None:
    assert ORIGINS == {{ m.origins | tojson }}


@pytest.mark.parametrize("origin", ALLOWED)
@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_preflight_is_answered_without_a_token(flavour: str, origin: str) -> None:
    status, headers = preflight(flavour, origin)
    assert status == 200
    assert headers["access-control-allow-origin"] == ["*" if ANY_ORIGIN else origin]
    allowed_headers = headers["access-control-allow-headers"][0].lower().split(", ")
    assert {"authorization", "content-type"} <= set(allowed_headers)
    assert "POST" in headers["access-control-allow-methods"][0]
    assert headers["access-control-max-age"] == ["600"]
    assert "access-control-allow-credentials" not in headers
    # Preflight answers go through the access log middleware too.
    assert headers["x-correlation-id"][0]


@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_browsers_may_send_and_read_the_correlation_id(flavour: str) -> None:
    origin = ALLOWED[0]
    _, headers = preflight(flavour, origin)
    assert "x-correlation-id" in headers["access-control-allow-headers"][0].lower().split(", ")
    request_headers = [("origin", origin), ("x-correlation-id", "order-42")]
    response = handler(event(flavour, "GET", "/ping", headers=request_headers), NO_CONTEXT)
    _, headers, _, _ = read(response)
    assert headers["x-correlation-id"] == ["order-42"]
    assert headers["access-control-expose-headers"][0].lower() == "x-correlation-id"


@pytest.mark.skipif(ANY_ORIGIN, reason="every origin is allowed")
@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_preflight_from_another_origin_is_refused(flavour: str) -> None:
    status, headers = preflight(flavour, "https://evil.example.net")
    assert status == 400
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_responses_carry_the_allow_origin_header(flavour: str) -> None:
    origin = ALLOWED[0]
    response = handler(event(flavour, "GET", "/ping", headers=[("origin", origin)]), NO_CONTEXT)
    status, headers, _, _ = read(response)
    assert status == 200
    assert headers["access-control-allow-origin"] == ["*" if ANY_ORIGIN else origin]
