"""Tell the app the URL prefix it is served under on Lambda.

A REST API stage is served at `https://<id>.execute-api.<region>.amazonaws.com/<stage>/`,
but API Gateway hands the function the path without the stage, so `/prod/docs` would
load `/openapi.json` (outside the stage) and redirects would leave it. A custom domain
maps a base path of its own instead. The ASGI spec's answer is the scope's `root_path`:
the prefix the app is mounted under, with `path` carrying it too. Starlette routes on
`path` minus `root_path` and builds `request.url` and redirects from the full `path`;
FastAPI puts `root_path` in front of the docs' OpenAPI URL and in the spec's `servers`.
(`FastAPI(root_path=...)` fixes only the docs, and Mangum's `api_gateway_base_path` only
strips a prefix, so the app never learns it.)

The prefix comes from the event when the request came through the `execute-api` host
with the stage in its URL (a named REST or HTTP API stage, never `$default`), otherwise
from configuration (`BASE_PATH`, a custom domain's base path mapping, for requests on any
other host). HTTP API `$default` requests on the execute-api host have no prefix.
"""

import re

from mangum import Mangum
from mangum.types import ASGI, LambdaEvent, Receive, Scope, Send

EXECUTE_API_HOST = re.compile(r"[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


def _host(event: LambdaEvent) -> str:
    context = event.get("requestContext") or {}
    if context.get("domainName"):
        return str(context["domainName"]).lower()
    for headers in (event.get("headers"), event.get("multiValueHeaders")):
        for name, value in (headers or {}).items():
            if name.lower() == "host":
                return str(value[0] if isinstance(value, list) else value).lower()
    return ""


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def stage_prefix(event: LambdaEvent) -> str:
    """`/<stage>` if the request's URL began with the stage on the execute-api host, else ""."""
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    if not stage or stage == "$default" or not EXECUTE_API_HOST.fullmatch(_host(event)):
        return ""
    # The path the client asked for: rawPath (payload 2.0) or requestContext.path (1.0).
    url_path = event["rawPath"] if "rawPath" in event else context.get("path") or ""
    prefix = f"/{stage}"
    return prefix if _under(url_path, prefix) else ""


class RootPath:
    """ASGI wrapper: sets `root_path` and prefixes `path` for each Lambda request."""

    def __init__(self, app: ASGI, base_path: str = "") -> None:
        self.app = app
        self.base_path = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = scope.get("aws.event")
        if scope["type"] == "http" and event is not None:
            path = scope["path"]
            if prefix := stage_prefix(event):
                # A REST API (its events have no "version") sends the path without the
                # stage; an HTTP API sends the path as the client asked for it.
                if "version" not in event or not _under(path, prefix):
                    path = prefix + path
            elif not (prefix := self.base_path) or EXECUTE_API_HOST.fullmatch(_host(event)):
                # BASE_PATH is the custom domain's: the execute-api URL has none.
                prefix = ""
            elif not _under(path, prefix):
                # A custom domain sends its base path in the path; add it if missing.
                path = prefix + path
            if prefix:
                scope = {**scope, "root_path": prefix, "path": path}
        await self.app(scope, receive, send)


def make_handler(app: ASGI, base_path: str = "") -> Mangum:
    """The Lambda handler for `app`: Mangum with the prefix set by `RootPath`.

    lifespan="off": on Lambda, "auto" would run startup and shutdown on every invocation;
    do one-time setup at import time instead.
    """
    return Mangum(RootPath(app, base_path), lifespan="off")
