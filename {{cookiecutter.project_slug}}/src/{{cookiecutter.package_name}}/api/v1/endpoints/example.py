"""The example endpoint: multiplies two integers."""

from fastapi import APIRouter

from {{ cookiecutter.package_name }}.core.observability import logger
from {{ cookiecutter.package_name }}.models.example import ExampleInput, ExampleOutput

router = APIRouter()


@router.post("/example")
async def multiply(payload: ExampleInput) -> ExampleOutput:
    """Return the product of `a` and `b`."""
    product = payload.a * payload.b
    # The service's logger: during a request, the line carries the request's ids.
    logger.info("multiplied", extra={"product": product})
    return ExampleOutput(product=product)
