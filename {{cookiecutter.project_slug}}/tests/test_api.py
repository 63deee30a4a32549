"""The ASGI app through an HTTP test client."""

from typing import Any

import pytest
from fastapi.testclient import TestClient


def test_ping(client: TestClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.json() == {"ping": "pong!"}


@pytest.mark.parametrize(("a", "b", "product"), [(6, 7, 42), (-3, 5, -15), (0, 99, 0)])
def test_example_multiplies(client: TestClient, a: int, b: int, product: int) -> None:
    response = client.post("/api/v1/example", json={"a": a, "b": b})
    assert response.status_code == 200
    assert response.json() == {"product": product}


@pytest.mark.parametrize(
    "body",
    [{"a": 1}, {"a": "x", "b": 2}, {"a": 1.5, "b": 2}, {"a": "3", "b": 2}, [1, 2], None],
)
def test_example_rejects_bad_body(client: TestClient, body: Any) -> None:
    response = client.post("/api/v1/example", json=body)
    assert response.status_code == 422


def test_unknown_route_is_404(client: TestClient) -> None:
    assert client.get("/no/such/route").status_code == 404


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 404  # one set of docs, public with the API's
    spec = client.get("/openapi.json").json()
    assert "/api/v1/example" in spec["paths"]
    assert "/ping" in spec["paths"]
