"""Clients made once per execution environment and reused by every later invocation.

Lambda keeps the process (and Mangum its one event loop) between invocations, so a client
kept here keeps its connections warm. Each is made on first use, not at import: importing
an HTTP client or the AWS SDK would lengthen every cold start, also for the requests that
never use them. Why not a lifespan handler: docs/observability.md ("Clients made once").

In an endpoint, take them as a dependency::

    @router.get("/things")
    async def things(clients: ClientsDep) -> ...:
        response = await clients.http().get("https://example.com/things")
        table = clients.aws("dynamodb")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends

if TYPE_CHECKING:
    import httpx2

# The AWS SDK's clients give up in time for the service to answer (a 503) well within the
# function's timeout: a second to connect, two to read, one retry (docs/observability.md,
# "Clients made once").
AWS_TIMEOUTS: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


class Clients:
    """The service's long-lived clients. `http_transport` replaces the network in tests."""

    def __init__(self, http_transport: Any = None) -> None:
        self.http_transport = http_transport
        self._http: httpx2.AsyncClient | None = None
        self._aws: dict[str, Any] = {}

    def http(self) -> httpx2.AsyncClient:
        """An async HTTP client (connection pool on Mangum's event loop)."""
        if self._http is None or self._http.is_closed:
            import httpx2

            self._http = httpx2.AsyncClient(transport=self.http_transport, timeout=5.0)
        return self._http

    def aws(self, service: str) -> Any:
        """An AWS SDK (boto3) client for `service`, from the runtime's boto3, with
        AWS_TIMEOUTS. Making one reads credentials and region from the environment; it
        calls nothing."""
        if service not in self._aws:
            import boto3
            from botocore.config import Config

            # boto3-stubs types each client by its service's literal name; this takes any.
            client = cast("Callable[..., Any]", boto3.session.Session().client)
            self._aws[service] = client(service, config=Config(**AWS_TIMEOUTS))
        return self._aws[service]


clients = Clients()


def get_clients() -> Clients:
    return clients


ClientsDep = Annotated[Clients, Depends(get_clients)]
