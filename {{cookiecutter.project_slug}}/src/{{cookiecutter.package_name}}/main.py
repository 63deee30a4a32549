{%- set m = cookiecutter | model -%}
"""The FastAPI application and its AWS Lambda entry point.

Everything here runs once per execution environment (at cold start), so keep
module-level work cheap: no network calls, no eager loading of large data.
"""

import gc
import logging
import os

# Skip two metadata scans the service does not need; a value set in the environment wins
# (docs/performance.md, "No metadata scans the service does not need").
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
os.environ.setdefault("OTEL_PROPAGATORS", "none")

# No garbage collection during the heavy imports, then freeze what they made
# (docs/performance.md, "No garbage collection during the imports").
gc.disable()
try:
    from fastapi import {% if m.jwt %}Depends, {% endif %}FastAPI{% if m.datastore.dynamodb %}, Request{% endif %}
{%- if m.origins %}
    from fastapi.middleware.cors import CORSMiddleware
{%- endif %}
{%- if m.datastore.dynamodb %}
    from fastapi.responses import JSONResponse
{%- endif %}

    from {{ cookiecutter.package_name }}.api.v1.router import router as api_v1_router
{%- if m.jwt %}
    from {{ cookiecutter.package_name }}.core.auth import current_principal
{%- endif %}
    from {{ cookiecutter.package_name }}.core.config import get_settings
    from {{ cookiecutter.package_name }}.core.observability import (
        RequestTelemetry,
        tracer_provider,
    )
    from {{ cookiecutter.package_name }}.core.root_path import make_handler
{%- if m.secrets.on %}
    from {{ cookiecutter.package_name }}.core.secrets import require_secrets
{%- endif %}
{%- if m.snapstart and m.secrets.on %}
    from {{ cookiecutter.package_name }}.core.snapstart import after_restore
{%- elif m.snapstart %}
    from {{ cookiecutter.package_name }}.core.snapstart import reseed  # noqa: F401 (the restore hook)
{%- endif %}
    from {{ cookiecutter.package_name }}.models.health import Ping
{%- if m.datastore.dynamodb %}
    from {{ cookiecutter.package_name }}.models.items import Unavailable
    from {{ cookiecutter.package_name }}.repositories import StorageUnavailableError
{%- endif %}
finally:
    gc.freeze()
    gc.enable()

settings = get_settings()
logging.getLogger().setLevel(settings.log_level)
{%- if m.secrets.on %}
{%- if m.snapstart %}
# Every secret the service needs is read once it runs: after each restore from the snapshot
# (no value in the snapshot), now where there is none; a missing one stops it, naming it
# (docs/secrets.md).
after_restore(require_secrets)
{%- else %}
# Every secret the service needs, read now: a missing one stops the start, naming it
# (docs/secrets.md). Nothing is read, and boto3 is not imported, while SECRET_NAMES is empty.
require_secrets()
{%- endif %}
{%- endif %}

# FastAPI's own OpenTelemetry support makes one span per request, named by its route
# (docs/observability.md); metrics and logs go through RequestTelemetry as EMF and JSON.
app = FastAPI(
    title=settings.title,
    # One set of docs: Swagger UI at /docs. (ReDoc would be one more route to keep public.)
    redoc_url=None,
    telemetry={
        "tracer_provider": tracer_provider,
        "operation_spans": settings.trace_operations,
        "metrics": False,
        "logs": False,
    },
)
{%- if m.origins %}
# Answers CORS preflight requests before any route (so without a token), and adds the CORS
# headers to every response for the allowed origins (docs/api-edge.md). Added before
# RequestTelemetry, so inside it: preflight answers get an access line and a correlation id.
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    allow_headers=["Authorization", "Content-Type", settings.correlation_id_header],
    expose_headers=[settings.correlation_id_header],
    max_age=600,
)
{%- endif %}
# The outermost of the app's middlewares: every answer, a 401 or a preflight included, is logged.
app.add_middleware(
    RequestTelemetry,
    header=settings.correlation_id_header,
    namespace=settings.metrics_namespace,
    service=settings.service_name,
)
{%- if m.jwt %}
# Every versioned route needs a verified caller; /ping and the docs stay public.
app.include_router(
    api_v1_router,
    prefix=settings.api_prefix,
    dependencies=[Depends(current_principal)],
    responses={401: {"description": "No valid token"}},
)
{%- else %}
app.include_router(api_v1_router, prefix=settings.api_prefix)
{%- endif %}

{%- if m.datastore.dynamodb %}


@app.exception_handler(StorageUnavailableError)
async def storage_unavailable(request: Request, error: StorageUnavailableError) -> JSONResponse:
    """The table did not answer: 503, worth a retry; the correlation id finds the request's
    log lines (repositories/items.py logged the operation and the error code)."""
    answer = Unavailable(
        detail="the data store is unavailable: try again shortly",
        correlation_id=getattr(request.state, "correlation_id", ""),
    )
    return JSONResponse(answer.model_dump(), status_code=503, headers={"Retry-After": "1"})
{%- endif %}


@app.get("/ping", tags=["health"])
async def ping() -> Ping:
    """Sanity check: tells the caller the service is up."""
    return Ping(ping="pong!")


# Mangum with lifespan="off" (on Lambda, "auto" would run startup and shutdown on every
# invocation: make clients once in core/clients.py instead), behind a thin wrapper that gives
# the app the stage or base path it is served under (core/root_path.py).
handler = make_handler(app, base_path=settings.base_path)
gc.freeze()
