"""Input and output models of the example endpoint."""

from pydantic import BaseModel, ConfigDict, StrictInt


class ExampleInput(BaseModel):
    """Two integers to multiply."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"a": 6, "b": 7}]})

    a: StrictInt
    b: StrictInt


class ExampleOutput(BaseModel):
    """The product of the two integers."""

    product: int
