{%- set m = cookiecutter | model -%}
"""The items resource and its repository, against DynamoDB answered in-process by moto
(tests/aws.py): the repository itself, the endpoints through the ASGI app and through the
Lambda handler, pagination, the conditional writes that refuse lost updates, the 404 and
503 answers, and the execution role's grant (exactly the operations the code makes)."""

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core.clients import clients
from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.main import handler
from {{ cookiecutter.package_name }}.models.items import ItemIn
from {{ cookiecutter.package_name }}.repositories import (
    ItemNotFoundError,
    StorageUnavailableError,
    VersionConflictError,
)
from {{ cookiecutter.package_name }}.repositories.items import (
    InvalidCursorError,
    ItemsRepository,
    decode_cursor,
    encode_cursor,
)

from tests.aws import OnCall, role_statement
from tests.lambda_events import NO_CONTEXT, event, read

WIDGET = {"name": "Widget", "description": "A blue widget"}


def repository() -> ItemsRepository:
    return ItemsRepository(clients.aws("dynamodb"), get_settings().items_table)


def run(function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
    """Run a repository coroutine function to its end, on a loop of its own (never the
    thread's current one, which Mangum's handler keeps using)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(function(*args))
    finally:
        loop.close()


# --- the repository -------------------------------------------------------------------------


def test_create_read_replace_delete() -> None:
    items = repository()
    created = run(items.put, "w-1", ItemIn(**WIDGET), None)
    assert (created.id, created.version, created.name) == ("w-1", 1, "Widget")
    assert run(items.get, "w-1") == created
    replaced = run(items.put, "w-1", ItemIn(name="Gadget"), 1)
    assert (replaced.version, replaced.name, replaced.description) == (2, "Gadget", "")
    assert run(items.get, "w-1") == replaced
    run(items.delete, "w-1", 2)
    with pytest.raises(ItemNotFoundError):
        run(items.get, "w-1")


def test_conditional_writes_refuse_lost_updates() -> None:
    items = repository()
    run(items.put, "w-1", ItemIn(**WIDGET), None)
    run(items.put, "w-1", ItemIn(name="First writer"), 1)
    # A second writer that read version 1 too: refused, told the current version.
    with pytest.raises(VersionConflictError) as stale:
        run(items.put, "w-1", ItemIn(name="Second writer"), 1)
    assert stale.value.current_version == 2
    with pytest.raises(VersionConflictError) as exists:  # a create over an existing item
        run(items.put, "w-1", ItemIn(**WIDGET), None)
    assert exists.value.current_version == 2
    with pytest.raises(VersionConflictError):
        run(items.delete, "w-1", 1)
    assert run(items.get, "w-1").name == "First writer"  # nothing was lost
    with pytest.raises(ItemNotFoundError):  # replacing an item that is not there
        run(items.put, "nope", ItemIn(**WIDGET), 3)
    with pytest.raises(ItemNotFoundError):
        run(items.delete, "nope", None)


def test_pages_cover_every_item_once() -> None:
    items = repository()
    ids = {f"item-{n:02}" for n in range(23)}
    for item_id in ids:
        run(items.put, item_id, ItemIn(name=item_id), None)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = run(items.page, 5, cursor)
        assert len(page.items) <= 5
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize("cursor", ["", "!!", "Zm9v=", "L2V0Yy9wYXNzd2Q", "_w"])
def test_a_cursor_this_api_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)


def test_cursors_round_trip() -> None:
    for item_id in ("a", "item-01", "x" * 128, "A.b_c-9"):
        assert decode_cursor(encode_cursor(item_id)) == item_id


# --- the endpoints, through the ASGI app ----------------------------------------------------


def test_put_get_replace_delete(client: TestClient) -> None:
    created = client.put("/api/v1/items/w-1", json=WIDGET)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json() | WIDGET == created.json()
    got = client.get("/api/v1/items/w-1")
    assert got.status_code == 200
    assert got.json() == created.json()
    assert got.headers["etag"] == '"1"'
    replaced = client.put("/api/v1/items/w-1", json={"name": "Gadget"}, headers={"If-Match": '"1"'})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["version"], replaced.headers["etag"]) == (2, '"2"')
    assert client.delete("/api/v1/items/w-1", headers={"If-Match": '"2"'}).status_code == 204
    assert client.get("/api/v1/items/w-1").status_code == 404


def test_a_stale_write_is_a_409_naming_the_current_version(client: TestClient) -> None:
    client.put("/api/v1/items/w-1", json=WIDGET)
    client.put("/api/v1/items/w-1", json={"name": "First"}, headers={"If-Match": '"1"'})
    stale = client.put("/api/v1/items/w-1", json={"name": "Second"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert 'ETag "2"' in stale.json()["detail"]
    again = client.put("/api/v1/items/w-1", json=WIDGET)  # no If-Match: create only
    assert again.status_code == 409
    assert client.delete("/api/v1/items/w-1", headers={"If-Match": '"1"'}).status_code == 409
    assert client.get("/api/v1/items/w-1").json()["name"] == "First"


def test_absent_items_are_404(client: TestClient) -> None:
    assert client.get("/api/v1/items/nope").json() == {"detail": "item 'nope' not found"}
    assert client.delete("/api/v1/items/nope").status_code == 404
    put = client.put("/api/v1/items/nope", json=WIDGET, headers={"If-Match": '"4"'})
    assert put.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("PUT", "/api/v1/items/w-1", {"name": ""}, {}),
        ("PUT", "/api/v1/items/w-1", {"name": "x", "owner": "y"}, {}),
        ("PUT", "/api/v1/items/w-1", WIDGET, {"If-Match": "1"}),
        ("PUT", "/api/v1/items/w-1", WIDGET, {"If-Match": 'W/"1"'}),
        ("PUT", "/api/v1/items/-dash-first", WIDGET, {}),
        ("PUT", "/api/v1/items/" + "x" * 129, WIDGET, {}),
        ("GET", "/api/v1/items?limit=0", None, {}),
        ("GET", "/api/v1/items?limit=101", None, {}),
    ],
)
def test_bad_requests_are_422(
    client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 422, response.text


def test_listing_follows_the_cursor(client: TestClient) -> None:
    for n in range(7):
        client.put(f"/api/v1/items/i{n}", json={"name": f"n{n}"})
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/items", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"i{n}" for n in range(7)]
    bad = client.get("/api/v1/items", params={"cursor": "not-ours!"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "invalid cursor"}


# --- the endpoints, through the Lambda handler ----------------------------------------------


@pytest.mark.parametrize("flavour", ["rest", "http"])
def test_through_the_handler(flavour: str) -> None:
    put = handler(event(flavour, "PUT", "/api/v1/items/w-1", body=WIDGET), NO_CONTEXT)
    status, headers, _, body = read(put)
    assert status == 201, body
    assert headers["etag"] == ['"1"']
    get = read(handler(event(flavour, "GET", "/api/v1/items/w-1"), NO_CONTEXT))
    assert get[0] == 200
    assert json.loads(get[3]) == json.loads(body)
    listing = event(flavour, "GET", "/api/v1/items", query=[("limit", "1")])
    page = json.loads(read(handler(listing, NO_CONTEXT))[3])
    assert [item["id"] for item in page["items"]] == ["w-1"]
    stale = event(flavour, "PUT", "/api/v1/items/w-1", body=WIDGET, headers=[("If-Match", '"9"')])
    assert read(handler(stale, NO_CONTEXT))[0] == 409
    assert read(handler(event(flavour, "GET", "/api/v1/items/gone"), NO_CONTEXT))[0] == 404


# --- when DynamoDB does not answer: 503 with the correlation id, never a stack trace --------


THROTTLED = ClientError(
    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
    "GetItem",
)
UNREACHABLE = EndpointConnectionError(endpoint_url="https://dynamodb.example")


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (THROTTLED, "ProvisionedThroughputExceededException"),
        (UNREACHABLE, "EndpointConnectionError"),
    ],
)
def test_sdk_errors_are_a_503_with_the_correlation_id(
    client: TestClient,
    on_call: OnCall,
    service_logs: Callable[[], list[dict[str, Any]]],
    failure: Exception,
    code: str,
) -> None:
    def fail(**_: Any) -> None:
        raise failure

    on_call("dynamodb", "GetItem", fail)
    response = client.get("/api/v1/items/w-1", headers={"x-correlation-id": "req-42"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "detail": "the data store is unavailable: try again shortly",
        "correlation_id": "req-42",
    }
    assert response.headers["x-correlation-id"] == "req-42"
    (line,) = [line for line in service_logs() if line["message"] == "dynamodb call failed"]
    assert (line["operation"], line["code"], line["correlation_id"]) == ("get_item", code, "req-42")


def test_a_missing_table_is_a_503(client: TestClient) -> None:
    clients.aws("dynamodb").delete_table(TableName=get_settings().items_table)
    response = client.put("/api/v1/items/w-1", json=WIDGET)
    assert response.status_code == 503
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]
    with pytest.raises(StorageUnavailableError, match="ResourceNotFoundException"):
        run(repository().get, "w-1")


# --- least privilege: the execution role may make exactly the calls the code makes ---------


def test_the_execution_role_grants_exactly_the_operations_the_code_makes(
    client: TestClient, calls: Callable[[str], list[str]]
) -> None:
    made = calls("dynamodb")
    client.put("/api/v1/items/w-1", json=WIDGET)
    client.get("/api/v1/items/w-1")
    client.put("/api/v1/items/w-1", json=WIDGET, headers={"If-Match": '"1"'})
    client.get("/api/v1/items")
    client.delete("/api/v1/items/w-1")
    statement = role_statement("items-table")
    assert sorted(f"dynamodb:{name}" for name in set(made)) == statement["Action"]
    resource = statement["Resource"]
    assert isinstance(resource, dict)
    assert resource["Fn::Sub"].endswith(":table/{{ m.environments[0].items_table }}"), resource
