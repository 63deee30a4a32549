"""The FastAPI application and its AWS Lambda entry point.

Everything here runs once per execution environment (at cold start), so keep
module-level work cheap: no network calls, no eager loading of large data.
"""

import gc
import logging

# No garbage collection during the heavy imports, then freeze what they made
# (docs/performance.md, "No garbage collection during the imports").
gc.disable()
try:
    from fastapi import FastAPI

    from {{ cookiecutter.package_name }}.api.v1.router import router as api_v1_router
    from {{ cookiecutter.package_name }}.core.config import get_settings
    from {{ cookiecutter.package_name }}.core.root_path import make_handler
    from {{ cookiecutter.package_name }}.models.health import Ping
finally:
    gc.freeze()
    gc.enable()

settings = get_settings()
logging.getLogger().setLevel(settings.log_level)

app = FastAPI(title=settings.title)
app.include_router(api_v1_router, prefix=settings.api_prefix)


@app.get("/ping", tags=["health"])
async def ping() -> Ping:
    """Sanity check: tells the caller the service is up."""
    return Ping(ping="pong!")


# Mangum with lifespan="off" (on Lambda, "auto" would run startup and shutdown on every
# invocation: do one-time setup at import time instead), behind a thin wrapper that gives
# the app the stage or base path it is served under (core/root_path.py).
handler = make_handler(app, base_path=settings.base_path)
gc.freeze()
