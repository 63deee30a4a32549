"""Models of the items resource (docs/datastore.md): what a client sends, what it gets back."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

# An item's id: what the URL path and the table's key hold (no `/`, nothing to escape).
ITEM_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class ItemIn(BaseModel):
    """An item as a client writes it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Widget", "description": "A blue widget"}]},
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class Item(ItemIn):
    """An item as stored: its id, its version (every write adds one; the ETag) and when it
    was last written."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ITEM_ID)
    version: int = Field(ge=1)
    updated_at: datetime


class ItemPage(BaseModel):
    """One page of items, and the cursor of the next page (null on the last one)."""

    items: list[Item]
    next_cursor: str | None = None


class Problem(BaseModel):
    """Why a request about an item failed."""

    detail: str


class Unavailable(Problem):
    """The data store could not answer: try again later, or quote the correlation id."""

    correlation_id: str
