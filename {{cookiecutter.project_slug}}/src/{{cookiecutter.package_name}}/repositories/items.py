"""The items repository: the service's DynamoDB table, behind a FastAPI dependency.

Every call goes through the execution environment's one DynamoDB client (core/clients.py),
in a worker thread (boto3 blocks; the event loop goes on serving). Writes are conditional
where a lost update could happen: an item is created only if it is absent, and replaced or
deleted only at the version the caller read (its ETag). The SDK's errors come out as this
package's (repositories/__init__.py). The choices, and how to grow the table's access
patterns: docs/datastore.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from fastapi import Depends
from opentelemetry.trace import Span, SpanKind, StatusCode

from {{ cookiecutter.package_name }}.core.clients import ClientsDep
from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.core.observability import logger, tracer_provider
from {{ cookiecutter.package_name }}.core.xray import aws_call_attributes
from {{ cookiecutter.package_name }}.models.items import ITEM_ID, Item, ItemIn, ItemPage
from {{ cookiecutter.package_name }}.repositories import (
    ItemNotFoundError,
    StorageUnavailableError,
    VersionConflictError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

T = TypeVar("T")
Attributes = dict[str, "AttributeValueTypeDef"]
TRACER = tracer_provider.get_tracer(__name__)


class InvalidCursorError(ValueError):
    """A `cursor` this service did not hand out."""


def encode_cursor(item_id: str) -> str:
    """The cursor of the page after the item `item_id` (opaque to clients)."""
    return base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The item id a cursor continues after, or InvalidCursorError."""
    try:
        item_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursorError(cursor) from None
    if not re.fullmatch(ITEM_ID, item_id) or encode_cursor(item_id) != cursor:
        raise InvalidCursorError(cursor)
    return item_id


def _key(item_id: str) -> Attributes:
    return {"id": {"S": item_id}}


def _attributes(item: Item) -> Attributes:
    return {
        "id": {"S": item.id},
        "name": {"S": item.name},
        "description": {"S": item.description},
        "version": {"N": str(item.version)},
        "updated_at": {"S": item.updated_at.isoformat()},
    }


def _item(attributes: Mapping[str, Any]) -> Item:
    return Item(
        id=attributes["id"]["S"],
        name=attributes["name"]["S"],
        description=attributes["description"]["S"],
        version=int(attributes["version"]["N"]),
        updated_at=datetime.fromisoformat(attributes["updated_at"]["S"]),
    )


class _ConditionFailedError(Exception):
    """A conditional write found the item in another state: `current` is the item as it is
    (None when absent)."""

    def __init__(self, current: Item | None) -> None:
        super().__init__()
        self.current = current


class ItemsRepository:
    """The items of one table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    async def _call(self, method: Callable[..., T], **request: Any) -> T:
        """One DynamoDB call on the table, in a worker thread. The SDK's errors come out as
        _ConditionFailedError, or as StorageUnavailableError, logged with their code (never
        the data)."""
        from botocore.exceptions import BotoCoreError, ClientError

        operation = getattr(method, "__name__", "call")
        # One client span per call: an `aws` subsegment in X-Ray (core/xray.py).
        attributes = aws_call_attributes("DynamoDB", operation, self.table)
        with TRACER.start_as_current_span(
            f"DynamoDB.{attributes['rpc.method']}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                call = partial(method, TableName=self.table, **request)
                return await anyio.to_thread.run_sync(call)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "Unknown")
                if code == "ConditionalCheckFailedException":
                    span.set_attribute("aws.dynamodb.condition_failed", True)
                    current = error.response.get("Item")  # ReturnValuesOnConditionCheckFailure
                    raise _ConditionFailedError(
                        _item(current) if isinstance(current, dict) else None
                    ) from None
                raise _unavailable(span, operation, code) from error
            except BotoCoreError as error:
                raise _unavailable(span, operation, type(error).__name__) from error

    async def get(self, item_id: str) -> Item:
        """The item, read strongly consistent (a GET after a PUT sees it), or ItemNotFoundError."""
        answer = await self._call(self.client.get_item, Key=_key(item_id), ConsistentRead=True)
        if "Item" not in answer:
            raise ItemNotFoundError(item_id)
        return _item(answer["Item"])

    async def put(self, item_id: str, data: ItemIn, expected_version: int | None) -> Item:
        """Create the item (`expected_version` None: only if it is absent), or replace it at
        `expected_version`. Refused: ItemNotFoundError, VersionConflictError."""
        version = 1 if expected_version is None else expected_version + 1
        item = Item(id=item_id, version=version, updated_at=datetime.now(UTC), **data.model_dump())
        await self._write(self.client.put_item, item_id, expected_version, item)
        return item

    async def delete(self, item_id: str, expected_version: int | None) -> None:
        """Delete the item (at `expected_version`, if given). Refused: ItemNotFoundError,
        VersionConflictError."""
        await self._write(self.client.delete_item, item_id, expected_version)

    async def _write(
        self,
        method: Callable[..., object],
        item_id: str,
        expected_version: int | None,
        item: Item | None = None,
    ) -> None:
        """A put of `item` (without one, a delete) that happens only with the item at
        `expected_version`, or else absent (a put) or present (a delete); refused as
        ItemNotFoundError or VersionConflictError, told by the item as it is."""
        target = {"Item": _attributes(item)} if item else {"Key": _key(item_id)}
        condition = _expecting(expected_version, exists=item is None)
        try:
            await self._call(
                method, ReturnValuesOnConditionCheckFailure="ALL_OLD", **target, **condition
            )
        except _ConditionFailedError as failed:
            raise _refusal(item_id, expected_version, failed.current) from None

    async def page(self, limit: int, cursor: str | None = None) -> ItemPage:
        """Up to `limit` items after the cursor's, in the table's order (a Scan: it reads
        the whole table over its pages; docs/datastore.md says when to use a Query)."""
        start = {"ExclusiveStartKey": _key(decode_cursor(cursor))} if cursor else {}
        answer = await self._call(self.client.scan, Limit=limit, **start)
        last = answer.get("LastEvaluatedKey")
        return ItemPage(
            items=[_item(attributes) for attributes in answer.get("Items", [])],
            next_cursor=encode_cursor(last["id"]["S"]) if last else None,
        )


def _unavailable(span: Span, operation: str, code: str) -> StorageUnavailableError:
    """A call DynamoDB did not carry out: logged with its code, its span marked failed."""
    logger.warning("dynamodb call failed", extra={"operation": operation, "code": code})
    span.set_status(StatusCode.ERROR, code)
    return StorageUnavailableError(f"{operation}: {code}")


def _expecting(expected_version: int | None, exists: bool) -> dict[str, Any]:
    """The condition of a write: the item at `expected_version`; else absent (a create) or,
    with `exists`, present."""
    if expected_version is not None:
        return {
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
        }
    function = "attribute_exists" if exists else "attribute_not_exists"
    return {"ConditionExpression": f"{function}(#id)", "ExpressionAttributeNames": {"#id": "id"}}


def _refusal(item_id: str, expected_version: int | None, current: Item | None) -> Exception:
    """Why a conditional write was refused, as ItemNotFoundError or VersionConflictError."""
    if current is None:
        return ItemNotFoundError(item_id)
    if expected_version is None:
        return VersionConflictError(f"item {item_id!r} exists", current.version)
    return VersionConflictError(f"item {item_id!r} is at another version", current.version)


def get_items(clients: ClientsDep) -> ItemsRepository:
    """The items repository, on the execution environment's DynamoDB client."""
    return ItemsRepository(clients.aws("dynamodb"), get_settings().items_table)


ItemsDep = Annotated[ItemsRepository, Depends(get_items)]
