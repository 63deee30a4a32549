{%- set m = cookiecutter | model -%}
"""Authentication through the built Lambda handler, with real signed JWTs.

The tests play API Gateway's part: they sign tokens with a key they generate, verify them
as the authorizer does (signature, expiry, issuer, audience) and put the verified claims
in the event, where the HTTP API (payload 2.0, `requestContext.authorizer.jwt.claims`)
and the REST API's Cognito authorizer (`requestContext.authorizer.claims`) put them.
"""

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.config import Settings, get_settings
from {{ cookiecutter.package_name }}.core.observability import logger
from {{ cookiecutter.package_name }}.main import app, handler

from tests.lambda_events import NO_CONTEXT, event, read

pytestmark = pytest.mark.real_auth

ISSUER = get_settings().jwt_issuer
AUDIENCE = get_settings().jwt_audience
GATEWAY_FLAVOURS = ["http", "rest"]
PUBLIC_PATHS = ["/ping", "/docs", "/openapi.json"]
Claims = dict[str, str]


def test_every_route_outside_the_api_is_a_public_route_of_the_gateway() -> None:
    """What the app serves outside the versioned API is exactly the routes template.yml
    leaves without the authorizer: no docs page that answers 401."""
    paths = {getattr(route, "path", "") for route in app.routes}  # included routers have none
    outside = {path for path in paths if path and not path.startswith(get_settings().api_prefix)}
    assert outside == {{ "{" }}{% for _, path in m.public_routes %}"{{ path }}"{{ ", " if not loop.last }}{% endfor %}{{ "}" }}


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "alice", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test-key"})


def gateway_verify(token: str, key: rsa.RSAPrivateKey) -> Claims:
    """What the authorizer does before the function runs: verify signature, expiry and
    issuer, accept the audience in `aud` or `client_id`, then hand the claims over as
    strings (a list as "[a b]")."""
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        issuer=ISSUER,
        options={"require": ["exp", "iss", "sub"], "verify_aud": False},
    )
    aud = claims.get("aud", [])
    if AUDIENCE not in ([aud] if isinstance(aud, str) else aud) and (
        claims.get("client_id") != AUDIENCE
    ):
        raise jwt.InvalidAudienceError("audience not accepted")
    return {
        name: f"[{' '.join(map(str, value))}]" if isinstance(value, list) else str(value)
        for name, value in claims.items()
    }


def test_the_gateway_refuses_what_it_must(signing_key: rsa.RSAPrivateKey) -> None:
    """The stand-in for the authorizer is a real check: expired tokens, other keys and other
    audiences never produce claims."""
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token, key in [
        (sign(signing_key, aud=AUDIENCE, exp=int(time.time()) - 60), signing_key),
        (sign(other_key, aud=AUDIENCE), signing_key),
        (sign(signing_key, aud="another-api"), signing_key),
    ]:
        with pytest.raises(jwt.InvalidTokenError):
            gateway_verify(token, key)


def with_claims(
    flavour: str, lambda_event: dict[str, Any], claims: Claims | None
) -> dict[str, Any]:
    context = lambda_event["requestContext"]
    context.pop("authorizer", None)
    if claims is not None:
        if flavour == "http":
            context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        else:
            context["authorizer"] = {"claims": claims}
    return lambda_event


def call(
    flavour: str, method: str, path: str, token: str | None, claims: Claims | None, **kw: Any
) -> tuple[int, dict[str, list[str]], bytes]:
    headers = [("authorization", f"Bearer {token}")] if token else []
    lambda_event = event(flavour, method, path, headers=headers, **kw)
    status, headers_out, _, body = read(
        handler(with_claims(flavour, lambda_event, claims), NO_CONTEXT)
    )
    return status, headers_out, body


# An ID token names the app client in `aud`; a Cognito access token in `client_id`.
TOKEN_KINDS = {
    "id-token": {"aud": AUDIENCE, "token_use": "id", "email": "alice@example.com"},
    "access-token": {"client_id": AUDIENCE, "token_use": "access", "scope": "orders:read"},
}


@pytest.mark.parametrize("kind", TOKEN_KINDS)
@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_verified_claims_reach_the_dependency(
    flavour: str, kind: str, signing_key: rsa.RSAPrivateKey
) -> None:
    token = sign(signing_key, **TOKEN_KINDS[kind])
    claims = gateway_verify(token, signing_key)
    status, _, body = call(flavour, "GET", "/api/v1/me", token, claims)
    assert status == 200, body
    principal = json.loads(body)
    assert principal["subject"] == "alice"
    assert principal["claims"]["iss"] == ISSUER
    assert principal["scopes"] == (["orders:read"] if kind == "access-token" else [])
    status, _, body = call(flavour, "POST", "/api/v1/example", token, claims, body={"a": 6, "b": 7})
    assert (status, json.loads(body)) == (200, {"product": 42})


def test_audience_list_claim(signing_key: rsa.RSAPrivateKey) -> None:
    token = sign(signing_key, aud=["another-api", AUDIENCE])
    claims = gateway_verify(token, signing_key)
    assert claims["aud"] == f"[another-api {AUDIENCE}]"
    status, _, body = call("http", "GET", "/api/v1/me", token, claims)
    assert (status, json.loads(body)["subject"]) == (200, "alice")


@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
@pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/me"), ("POST", "/api/v1/example")])
def test_protected_routes_refuse_requests_without_claims(
    flavour: str, method: str, path: str, signing_key: rsa.RSAPrivateKey
) -> None:
    """Defence in depth: a request that reached the app without the authorizer's claims
    (a route wired without it) is refused, even with a token in the header."""
    for token in (None, sign(signing_key, aud=AUDIENCE)):
        status, headers, body = call(flavour, method, path, token, None, body={"a": 1, "b": 2})
        assert status == 401, body
        assert headers["www-authenticate"] == ["Bearer"]


@pytest.fixture
def access_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The access log lines written while the test runs (docs/observability.md)."""
    logs = io.StringIO()
    log_handler = cast("logging.StreamHandler[Any]", logger.registered_handler)
    stream = log_handler.setStream(logs)

    def lines() -> list[dict[str, Any]]:
        written = [json.loads(line) for line in logs.getvalue().splitlines()]
        return [line for line in written if line["message"] == "request"]

    yield lines
    if stream is not None:
        log_handler.setStream(stream)


@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_access_line_names_the_caller_and_logs_refusals(
    flavour: str,
    signing_key: rsa.RSAPrivateKey,
    access_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    token = sign(signing_key, aud=AUDIENCE)
    assert call(flavour, "GET", "/api/v1/me", token, gateway_verify(token, signing_key))[0] == 200
    status, headers, _ = call(flavour, "GET", "/api/v1/me", token, None)
    assert status == 401
    allowed, refused = access_lines()
    assert (allowed["status"], allowed["principal"]) == (200, "alice")
    assert refused["status"] == 401
    assert "principal" not in refused
    assert refused["correlation_id"] == headers["x-correlation-id"][0]


def test_sample_event_claims_are_not_enough() -> None:
    """`sam local generate-event` puts placeholder claims in its HTTP API event: not ours."""
    status, _, _, body = read(handler(event("http", "GET", "/api/v1/me"), NO_CONTEXT))
    assert status == 401, body


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"iss": "https://elsewhere.example.com", "aud": AUDIENCE}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"aud": AUDIENCE, "sub": ""}, "subject"),
    ],
)
@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_claims_for_another_issuer_or_audience_are_refused(
    flavour: str, claims: dict[str, str], detail: str, signing_key: rsa.RSAPrivateKey
) -> None:
    token = sign(signing_key, **claims)
    # A gateway that let these through (misconfigured, or a route without the authorizer):
    passed_on = jwt.decode(token, options={"verify_signature": False})
    status, _, body = call(
        flavour, "GET", "/api/v1/me", token, {name: str(v) for name, v in passed_on.items()}
    )
    assert status == 401
    assert detail in json.loads(body)["detail"]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_health_and_docs_are_public(flavour: str, path: str) -> None:
    status, _, body = call(flavour, "GET", path, None, None)
    assert status == 200, body


def test_openapi_declares_the_bearer_scheme() -> None:
    spec = app.openapi()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT from the issuer API Gateway trusts (docs/api-edge.md).",
    }
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            expected: list[dict[str, list[str]]] | None = (
                [{"HTTPBearer": []}] if path.startswith("/api/v1/") else None
            )
            assert operation.get("security") == expected, path
    # Swagger UI shows its "Authorize" button for the declared scheme.
    status, _, _, html = read(handler(event("http", "GET", "/docs"), NO_CONTEXT))
    assert status == 200
    assert "swagger-ui" in html.decode()


# --- local development (uvicorn): docs/api-edge.md -------------------------------------


@pytest.fixture
def local_settings() -> Iterator[Callable[..., None]]:
    def use(**values: Any) -> None:
        app.dependency_overrides[get_settings] = lambda: Settings(_env_file=None, **values)

    yield use
    app.dependency_overrides.pop(get_settings, None)


def test_local_server_refuses_without_an_opt_in(
    local_settings: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    local_settings()
    assert TestClient(app).get("/api/v1/me").status_code == 401


def test_local_dev_subject_when_opted_in(local_settings: Callable[..., None]) -> None:
    local_settings(local_dev_subject="dev-user")
    response = TestClient(app).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["subject"] == "dev-user"


@pytest.mark.parametrize("flavour", GATEWAY_FLAVOURS)
def test_local_dev_subject_never_applies_to_api_gateway_requests(
    flavour: str, local_settings: Callable[..., None]
) -> None:
    local_settings(local_dev_subject="dev-user")
    status, _, _ = call(flavour, "GET", "/api/v1/me", None, None)
    assert status == 401


@pytest.mark.parametrize("variable", ["AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV"])
def test_local_dev_subject_is_refused_on_lambda(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "x")
    monkeypatch.setenv("LOCAL_DEV_SUBJECT", "dev-user")
    with pytest.raises(ValidationError, match="refused on Lambda"):
        Settings(_env_file=None)
    # Even a Settings object built around the check does not let a caller in there.
    values = {**get_settings().model_dump(), "local_dev_subject": "x"}
    unchecked = Settings.model_construct(**values)
    app.dependency_overrides[get_settings] = lambda: unchecked
    try:
        assert TestClient(app).get("/api/v1/me").status_code == 401
    finally:
        app.dependency_overrides.pop(get_settings, None)
