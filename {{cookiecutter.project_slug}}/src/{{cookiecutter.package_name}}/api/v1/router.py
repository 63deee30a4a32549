{%- set m = cookiecutter | model -%}
"""Version 1 of the API: one router that gathers every endpoint module."""

from fastapi import APIRouter
{% if m.jwt %}
from {{ cookiecutter.package_name }}.api.v1.endpoints import example, me
{%- else %}
from {{ cookiecutter.package_name }}.api.v1.endpoints import example
{%- endif %}

router = APIRouter()
router.include_router(example.router, tags=["example"])
{%- if m.jwt %}
router.include_router(me.router, tags=["auth"])
{%- endif %}
