"""Version 1 of the API: one router that gathers every endpoint module."""

from fastapi import APIRouter

from {{ cookiecutter.package_name }}.api.v1.endpoints import example

router = APIRouter()
router.include_router(example.router, tags=["example"])
