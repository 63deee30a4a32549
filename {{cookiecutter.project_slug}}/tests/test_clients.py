"""Clients made once: a second invocation of the handler reuses them, and they still work."""

import json
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from mangum.types import LambdaContext

from {{ cookiecutter.package_name }}.core.clients import Clients, ClientsDep, clients
from {{ cookiecutter.package_name }}.main import app, handler


@pytest.fixture
def outbound_route() -> Iterator[list[str]]:
    """A route that calls out through the shared HTTP client (to a mock transport), added
    for this test only."""
    calls: list[str] = []

    def upstream(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(200, json={"n": len(calls)})

    @app.get("/_test/outbound", include_in_schema=False)
    async def outbound(shared: ClientsDep) -> dict[str, int]:
        client = shared.http()
        response = await client.get("https://upstream.example/things")
        return {"client": id(client), "upstream": response.json()["n"]}

    clients.http_transport, clients._http = httpx2.MockTransport(upstream), None
    yield calls
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", "") != "/_test/outbound"
    ]
    clients.http_transport, clients._http = None, None


def test_second_invocation_reuses_the_http_client(
    outbound_route: list[str],
    make_event: Callable[..., dict[str, Any]],
    lambda_context: LambdaContext,
) -> None:
    responses = [handler(make_event("GET", "/_test/outbound"), lambda_context) for _ in "12"]
    assert [r["statusCode"] for r in responses] == [200, 200], responses
    first, second = (json.loads(r["body"]) for r in responses)
    assert first["client"] == second["client"]  # made once, reused
    assert (first["upstream"], second["upstream"]) == (1, 2)  # and it still works
    assert outbound_route == ["/things", "/things"]


def test_aws_clients_are_made_once_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, Any]] = []

    class Session:
        def client(self, service: str, config: Any) -> object:
            made.append((service, config))
            return object()

    fake = types.ModuleType("boto3")
    fake.__dict__["session"] = types.SimpleNamespace(Session=Session)
    monkeypatch.setitem(sys.modules, "boto3", fake)
    shared = Clients()
    assert shared.aws("s3") is shared.aws("s3")
    assert shared.aws("dynamodb") is not shared.aws("s3")
    assert [service for service, _ in made] == ["s3", "dynamodb"]
    # Each gives up in time for the service to answer within the function's timeout.
    for _, config in made:
        assert (config.connect_timeout, config.read_timeout) == (1, 2)
        assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_nothing_is_made_at_import() -> None:
    assert Clients()._http is None
    assert Clients()._aws == {}


def test_the_app_imports_no_aws_sdk() -> None:
    """boto3 and botocore's modules load on first use, not at cold start. (Powertools
    imports botocore's package itself, about a millisecond, to tag the SDK's user agent.)"""
    check = (
        "import sys; import {{ cookiecutter.package_name }}.main; "
        "print(sorted(m for m in sys.modules if m == 'boto3' or m.startswith(('boto3.', "
        "'botocore.'))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(  # noqa: S603 (this interpreter, a fixed program)
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
