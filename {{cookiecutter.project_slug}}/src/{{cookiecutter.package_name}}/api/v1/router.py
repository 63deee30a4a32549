{%- set m = cookiecutter | model -%}
"""Version 1 of the API: one router that gathers every endpoint module."""

from fastapi import APIRouter

from {{ cookiecutter.package_name }}.api.v1.endpoints import {{ (["example"] + (["items"] if m.datastore.dynamodb else []) + (["me"] if m.jwt else [])) | join(", ") }}

router = APIRouter()
router.include_router(example.router, tags=["example"])
{%- if m.datastore.dynamodb %}
router.include_router(items.router, tags=["items"])
{%- endif %}
{%- if m.jwt %}
router.include_router(me.router, tags=["auth"])
{%- endif %}
