"""The items resource: items stored in the service's DynamoDB table (docs/datastore.md).

Every answer about one item carries its version as an ETag. A write that would replace or
delete an item sends that ETag back as If-Match, and is refused with 409 if another write
came first (no lost updates); a PUT without If-Match only creates.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status

from {{ cookiecutter.package_name }}.models.items import (
    ITEM_ID,
    Item,
    ItemIn,
    ItemPage,
    Problem,
    Unavailable,
)
from {{ cookiecutter.package_name }}.repositories import (
    ItemNotFoundError,
    VersionConflictError,
)
from {{ cookiecutter.package_name }}.repositories.items import InvalidCursorError, ItemsDep

router = APIRouter(
    prefix="/items",
    responses={503: {"model": Unavailable, "description": "The table did not answer"}},
)

ItemId = Annotated[str, Path(pattern=ITEM_ID, description="The item's id")]
# A strong ETag of this API: the item's version in quotes.
IfMatch = Annotated[
    str | None,
    Header(
        pattern=r'^"[1-9][0-9]{0,17}"$',
        description="The ETag of the item as you read it: the write happens only at it",
    ),
]
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such item"}}
CONFLICT: Responses = {409: {"model": Problem, "description": "Not at the version you sent"}}


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    return int(if_match.strip('"')) if if_match else None


def conflict(error: VersionConflictError) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        f"{error}: it is at version {error.current_version} (ETag {etag(error.current_version)});"
        " read it again, then send its ETag as If-Match",
    )


def not_found(item_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id!r} not found")


@router.get(
    "", responses={400: {"model": Problem, "description": "A cursor this API did not give"}}
)
async def list_items(
    items: ItemsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 25,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> ItemPage:
    """A page of items; follow `next_cursor` until it is null."""
    try:
        return await items.page(limit, cursor)
    except InvalidCursorError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from None


@router.get("/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: ItemId, items: ItemsDep, response: Response) -> Item:
    """The item, with its version as the ETag."""
    try:
        item = await items.get(item_id)
    except ItemNotFoundError:
        raise not_found(item_id) from None
    response.headers["ETag"] = etag(item.version)
    return item


@router.put(
    "/{item_id}",
    responses={201: {"model": Item, "description": "Created"}, **NOT_FOUND, **CONFLICT},
)
async def put_item(
    item_id: ItemId,
    payload: ItemIn,
    items: ItemsDep,
    response: Response,
    if_match: IfMatch = None,
) -> Item:
    """Without If-Match: create the item (409 if it exists). With If-Match: replace it at
    that version (409 if another write came first)."""
    try:
        item = await items.put(item_id, payload, expected_version(if_match))
    except ItemNotFoundError:
        raise not_found(item_id) from None
    except VersionConflictError as error:
        raise conflict(error) from None
    response.status_code = status.HTTP_200_OK if if_match else status.HTTP_201_CREATED
    response.headers["ETag"] = etag(item.version)
    return item


@router.delete(
    "/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **CONFLICT}
)
async def delete_item(item_id: ItemId, items: ItemsDep, if_match: IfMatch = None) -> None:
    """Delete the item (with If-Match: only at that version)."""
    try:
        await items.delete(item_id, expected_version(if_match))
    except ItemNotFoundError:
        raise not_found(item_id) from None
    except VersionConflictError as error:
        raise conflict(error) from None
