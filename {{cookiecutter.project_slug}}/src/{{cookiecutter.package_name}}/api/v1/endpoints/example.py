"""The example endpoint: multiplies two integers."""

from fastapi import APIRouter

from {{ cookiecutter.package_name }}.models.example import ExampleInput, ExampleOutput

router = APIRouter()


@router.post("/example")
async def multiply(payload: ExampleInput) -> ExampleOutput:
    """Return the product of `a` and `b`."""
    return ExampleOutput(product=payload.a * payload.b)
