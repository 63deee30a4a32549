"""Models of the health-check endpoint."""

from pydantic import BaseModel


class Ping(BaseModel):
    """Answer of `GET /ping`."""

    ping: str
