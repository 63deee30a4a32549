"""Lambda events of every HTTP flavour, built from the real shapes in `events/`, and a
reader for the handler's responses.

`events/rest_api_v1.json`, `http_api_v2.json` and `alb_request.json` are printed by
`sam local generate-event apigateway aws-proxy`, `apigateway http-api-proxy` and
`alb request`; SAM prints no function URL event, so `function_url.json` is the payload
documented in the Lambda developer guide ("Invoking Lambda function URLs").
"""

import base64
import copy
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast
from urllib.parse import quote_plus, urlencode

from mangum.types import LambdaContext

EVENTS = Path(__file__).parent / "events"
FLAVOURS = ["rest", "http", "function_url", "alb", "alb_multi"]
EXECUTE_API_HOST = "1234567890.execute-api.{{ cookiecutter.aws_region }}.amazonaws.com"
FUNCTION_URL_HOST = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.{{ cookiecutter.aws_region }}.on.aws"
ALB_HOST = "my-alb-1234567890.{{ cookiecutter.aws_region }}.elb.amazonaws.com"

Pairs = list[tuple[str, str]]
Event = dict[str, Any]
# Lambda always passes a context object; the tests that read nothing from it pass None.
NO_CONTEXT = cast(LambdaContext, None)


def _load(name: str) -> Event:
    return cast(Event, copy.deepcopy(json.loads((EVENTS / name).read_text())))


class Request(NamedTuple):
    """What every flavour's builder needs: the request, its body base64-encoded."""

    flavour: str
    method: str
    path: str
    query: Pairs
    headers: Pairs
    cookies: Pairs
    body: str | None
    stage: str | None
    host: str | None


def _grouped(pairs: Pairs) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        groups[name].append(value)
    return dict(groups)


def event(
    flavour: str,
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    cookies: Sequence[tuple[str, str]] = (),
    body: Any = None,
    content_type: str | None = None,
    stage: str | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """A `flavour` event for `method path`. `query`, `headers` and `cookies` are lists of
    (name, value) pairs, names may repeat. `body` is bytes (sent as is) or JSON data.
    `stage`: the REST stage ("prod" by default) or a named HTTP API stage (whose name then
    starts the URL path); `host`: the domain the client called (a custom domain)."""
    header_pairs = list(headers)
    if body is not None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        header_pairs.append(("content-type", content_type or "application/octet-stream"))
    if cookies:
        header_pairs.append(("cookie", "; ".join(f"{name}={value}" for name, value in cookies)))
    encoded = base64.b64encode(body).decode() if body is not None else None
    build = {"rest": _rest, "http": _http, "function_url": _http, "alb": _alb, "alb_multi": _alb}
    request = Request(
        flavour, method, path, list(query), header_pairs, list(cookies), encoded, stage, host
    )
    return build[flavour](request)


def _rest(request: Request) -> Event:
    _, method, path, query, headers, _, body, stage, host = request  # no cookie list: a header
    stage = stage or "prod"
    host = host or EXECUTE_API_HOST
    headers = [*headers, ("Host", host)]
    event = _load("rest_api_v1.json")
    grouped_headers = _grouped(headers)
    grouped_query = _grouped(query)
    event.update(
        httpMethod=method,
        path=path,
        resource="/{proxy+}",
        pathParameters={"proxy": path.lstrip("/")},
        headers={name: values[-1] for name, values in grouped_headers.items()},
        multiValueHeaders=grouped_headers,
        queryStringParameters={k: v[-1] for k, v in grouped_query.items()} or None,
        multiValueQueryStringParameters=grouped_query or None,
        body=body,
        isBase64Encoded=body is not None,
    )
    url_path = f"/{stage}{path}" if host == EXECUTE_API_HOST else path
    event["requestContext"].update(httpMethod=method, stage=stage, path=url_path, domainName=host)
    return event


def _http(request: Request) -> Event:
    flavour, method, path, query, headers, cookies, body, stage, host = request
    if flavour == "function_url":
        event = _load("function_url.json")
        host = host or FUNCTION_URL_HOST
    else:
        event = _load("http_api_v2.json")
        host = host or EXECUTE_API_HOST
    raw_path = f"/{stage}{path}" if stage else path
    headers = [(name, value) for name, value in headers if name != "cookie"]
    grouped_headers = _grouped(
        [(name.lower(), value) for name, value in [*headers, ("host", host)]]
    )
    grouped_query = _grouped(query)
    event.update(
        rawPath=raw_path,
        rawQueryString=urlencode(query),
        headers={name: ",".join(values) for name, values in grouped_headers.items()},
        body=body,
        isBase64Encoded=body is not None,
    )
    event.pop("cookies", None)
    if cookies:
        event["cookies"] = [f"{name}={value}" for name, value in cookies]
    event.pop("queryStringParameters", None)
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in grouped_query.items()}
    event["requestContext"].update(domainName=host, stage=stage or "$default")
    event["requestContext"]["http"].update(method=method, path=raw_path)
    return event


def _alb(request: Request) -> Event:
    flavour, method, path, query, headers, _, body, _, host = request  # no stage, cookie header
    event = _load("alb_request.json")
    headers = [(name.lower(), value) for name, value in [*headers, ("host", host or ALB_HOST)]]
    # The load balancer passes query strings on URL-encoded, as the client sent them.
    query = [(quote_plus(name), quote_plus(value)) for name, value in query]
    event.update(httpMethod=method, path=path, body=body or "", isBase64Encoded=body is not None)
    for key in ("headers", "multiValueHeaders", "queryStringParameters"):
        event.pop(key, None)
    event.pop("multiValueQueryStringParameters", None)
    if flavour == "alb_multi":  # target group with multi-value headers enabled
        event["multiValueHeaders"] = _grouped(headers)
        event["multiValueQueryStringParameters"] = _grouped(query)
    else:
        event["headers"] = {name: value for name, value in headers}
        event["queryStringParameters"] = {name: value for name, value in query}
    return event


def read(response: dict[str, Any]) -> tuple[int, dict[str, list[str]], list[str], bytes]:
    """(status, headers as lower-case name -> values, Set-Cookie values, body bytes) of a
    handler response of any flavour."""
    headers: dict[str, list[str]] = defaultdict(list)
    for name, value in (response.get("headers") or {}).items():
        headers[name.lower()].append(value)  # ALB single-value mode varies the case
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()].extend(values)  # Mangum puts each name in one of the two
    cookies = list(response.get("cookies") or []) + headers.pop("set-cookie", [])
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return response["statusCode"], dict(headers), cookies, raw
