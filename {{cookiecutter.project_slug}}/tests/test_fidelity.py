"""What the client sends and gets back survives the trip through Lambda: request.url,
binary bodies, cookies, multi-value headers and repeated query parameters, for every
event flavour. A small app of its own, behind the same wrapper and Mangum settings as
the service's handler (core/root_path.py)."""

import hashlib
import json
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from {{ cookiecutter.package_name }}.core.root_path import make_handler

from tests.lambda_events import EXECUTE_API_HOST, FLAVOURS, NO_CONTEXT, event, read

BINARY = bytes(range(256)) * 4  # every byte value, not valid UTF-8

probe = FastAPI()


@probe.api_route("/echo", methods=["GET", "POST"])
async def echo(request: Request) -> dict[str, Any]:
    body = await request.body()
    return {
        "url": str(request.url),
        "url_for": str(request.url_for("echo")),
        "query": request.query_params.multi_items(),
        "multi": [
            v.strip() for value in request.headers.getlist("x-multi") for v in value.split(",")
        ],
        "cookies": request.cookies,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }


@probe.get("/binary")
async def binary() -> Response:
    return Response(BINARY, media_type="application/octet-stream")


@probe.get("/image")
async def image() -> Response:
    return Response(b"\x89PNG\r\n\x1a\n" + BINARY, media_type="image/png")


@probe.get("/set-cookies")
async def set_cookies(response: Response) -> dict[str, str]:
    response.set_cookie("session", "abc", httponly=True)
    response.set_cookie("theme", "dark")
    response.headers.append("x-multi", "one")
    response.headers.append("x-multi", "two")
    return {}


handler = make_handler(probe)


def call(
    flavour: str, method: str, path: str, **kwargs: Any
) -> tuple[dict[str, list[str]], list[str], bytes]:
    status, headers, cookies, body = read(
        handler(event(flavour, method, path, **kwargs), NO_CONTEXT)
    )
    assert status == 200, body
    return headers, cookies, body


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_request_round_trip(flavour: str) -> None:
    query = [("tag", "a"), ("tag", "b&c"), ("q", "ü x")]
    if flavour == "alb":
        query = [("tag", "a"), ("q", "ü x")]  # single-value mode keeps one value per name
    kwargs: dict[str, Any] = {
        "query": query,
        "headers": [("X-Multi", "one"), ("X-Multi", "two")],
        "cookies": [("session", "abc"), ("theme", "dark")],
        "body": BINARY,
    }
    if flavour == "alb":
        kwargs["headers"] = [("X-Multi", "one,two")]
    _, _, body = call(flavour, "POST", "/echo", **kwargs)
    echoed = json.loads(body)
    assert echoed["query"] == [list(pair) for pair in query]
    assert echoed["multi"] == ["one", "two"]
    assert echoed["cookies"] == {"session": "abc", "theme": "dark"}
    assert echoed["body_sha256"] == hashlib.sha256(BINARY).hexdigest()


def test_request_url_carries_the_stage() -> None:
    _, _, body = call("rest", "GET", "/echo", query=[("x", "1")])
    echoed = json.loads(body)
    assert echoed["url"] == f"https://{EXECUTE_API_HOST}/prod/echo?x=1"
    assert echoed["url_for"] == f"https://{EXECUTE_API_HOST}/prod/echo"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(("path", "prefix"), [("/binary", b""), ("/image", b"\x89PNG\r\n\x1a\n")])
def test_binary_response_intact(flavour: str, path: str, prefix: bytes) -> None:
    raw = handler(event(flavour, "GET", path), NO_CONTEXT)
    assert raw["isBase64Encoded"] is True  # REST needs BinaryMediaTypes to pass it on as bytes
    _, _, body = call(flavour, "GET", path)
    assert body == prefix + BINARY


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_response_cookies_and_multi_value_headers(flavour: str) -> None:
    headers, cookies, _ = call(flavour, "GET", "/set-cookies")
    assert sorted(c.split(";")[0] for c in cookies) == ["session=abc", "theme=dark"]
    assert any("httponly" in c.lower() for c in cookies)
    values = [v.strip() for value in headers["x-multi"] for v in value.split(",")]
    assert values == ["one", "two"]
