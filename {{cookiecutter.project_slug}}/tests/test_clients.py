"""Clients made once: a second invocation of the handler reuses them, and they still work."""

import json
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
    made: list[str] = []

    class Session:
        def client(self, service: str) -> object:
            made.append(service)
            return object()

    fake = types.ModuleType("boto3")
    fake.__dict__["session"] = types.SimpleNamespace(Session=Session)
    monkeypatch.setitem(sys.modules, "boto3", fake)
    shared = Clients()
    assert shared.aws("s3") is shared.aws("s3")
    assert shared.aws("dynamodb") is not shared.aws("s3")
    assert made == ["s3", "dynamodb"]


def test_nothing_is_made_at_import() -> None:
    assert Clients()._http is None
    assert Clients()._aws == {}
