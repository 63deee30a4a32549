"""The FastAPI application and its AWS Lambda entry point.

Everything here runs once per execution environment (at cold start), so keep
module-level work cheap: no network calls, no eager loading of large data.
"""

import logging

from fastapi import FastAPI
from mangum import Mangum

from {{ cookiecutter.package_name }}.api.v1.router import router as api_v1_router
from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.models.health import Ping

settings = get_settings()
logging.getLogger().setLevel(settings.log_level)

app = FastAPI(title=settings.title)
app.include_router(api_v1_router, prefix=settings.api_prefix)


@app.get("/ping", tags=["health"])
async def ping() -> Ping:
    """Sanity check: tells the caller the service is up."""
    return Ping(ping="pong!")


# lifespan="off": on Lambda, "auto" would run startup and shutdown on every
# invocation. Do one-time setup at import time instead.
handler = Mangum(app, lifespan="off")
