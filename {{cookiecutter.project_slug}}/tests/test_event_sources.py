{%- set m = cookiecutter | model -%}
"""The Lambda handler answers every HTTP event source: REST API (payload 1.0, with a
stage), HTTP API (payload 2.0, `$default` or a named stage), function URLs and ALB (both
header modes); and the app knows the prefix it is served under (core/root_path.py)."""

import json
from typing import Any

import pytest
from mangum import Mangum
from mangum.types import LambdaContext

from {{ cookiecutter.package_name }}.core.config import Settings
from {{ cookiecutter.package_name }}.core.root_path import make_handler
from {{ cookiecutter.package_name }}.main import app, handler

from tests.lambda_events import EXECUTE_API_HOST, FLAVOURS, NO_CONTEXT, event, read


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_flavour_answers(flavour: str, lambda_context: LambdaContext) -> None:
    status, headers, _, body = read(handler(event(flavour, "GET", "/ping"), lambda_context))
    assert (status, json.loads(body)) == (200, {"ping": "pong!"})
    assert headers["content-type"] == ["application/json"]

    post = event(flavour, "POST", "/api/v1/example", body={"a": 6, "b": 7})
    status, _, _, body = read(handler(post, lambda_context))
    assert (status, json.loads(body)) == (200, {"product": 42})


def docs_and_spec(
    handler_: Mangum, flavour: str, stage: str | None = None, host: str | None = None
) -> tuple[str, dict[str, Any]]:
    docs = read(handler_(event(flavour, "GET", "/docs", stage=stage, host=host), NO_CONTEXT))
    spec = read(
        handler_(event(flavour, "GET", "/openapi.json", stage=stage, host=host), NO_CONTEXT)
    )
    assert docs[0] == spec[0] == 200
    schema: dict[str, Any] = json.loads(spec[3])
    return docs[3].decode(), schema


def test_rest_stage_prefixes_docs_spec_and_redirects() -> None:
    html, spec = docs_and_spec(handler, "rest")
    assert "url: '/prod/openapi.json'" in html
    assert spec["servers"] == [{"url": "/prod"}]
    # redirect_slashes: /prod/ping/ -> /prod/ping, on the host the client called
    status, headers, _, _ = read(handler(event("rest", "GET", "/ping/"), NO_CONTEXT))
    assert status == 307
    assert headers["location"] == [f"https://{EXECUTE_API_HOST}/prod/ping"]


def test_other_stage_names_too() -> None:
    html, spec = docs_and_spec(handler, "rest", stage="v2")
    assert "url: '/v2/openapi.json'" in html
    assert spec["servers"] == [{"url": "/v2"}]


@pytest.mark.parametrize("flavour", ["http", "function_url", "alb", "alb_multi"])
def test_no_prefix_without_a_stage_in_the_url(flavour: str) -> None:
    html, spec = docs_and_spec(handler, flavour)
    assert "url: '/openapi.json'" in html
    assert "servers" not in spec


def test_http_api_named_stage_keeps_the_stage_in_the_path() -> None:
    html, spec = docs_and_spec(handler, "http", stage="beta")
    assert "url: '/beta/openapi.json'" in html
    assert spec["servers"] == [{"url": "/beta"}]
    status, _, _, body = read(handler(event("http", "GET", "/ping", stage="beta"), NO_CONTEXT))
    assert (status, json.loads(body)) == (200, {"ping": "pong!"})


def test_custom_domain_without_base_path_has_no_stage_prefix() -> None:
    """Through a custom domain the URL holds no stage, although the event names one."""
    html, spec = docs_and_spec(handler, "rest", host="api.example.com")
    assert "url: '/openapi.json'" in html
    assert "servers" not in spec


@pytest.mark.parametrize("flavour", ["rest", "http"])
@pytest.mark.parametrize("path_has_base", [True, False])
def test_custom_domain_base_path_from_configuration(flavour: str, path_has_base: bool) -> None:
    base_handler = make_handler(app, base_path=Settings(base_path="billing/").base_path)
    prefix = "/billing" if path_has_base else ""
    custom = "api.example.com"
    html, spec = docs_and_spec(base_handler, flavour, host=custom)
    assert "url: '/billing/openapi.json'" in html
    assert spec["servers"] == [{"url": "/billing"}]
    ping = event(flavour, "GET", f"{prefix}/ping", host=custom)
    status, _, _, body = read(base_handler(ping, NO_CONTEXT))
    assert (status, json.loads(body)) == (200, {"ping": "pong!"})
    status, headers, _, _ = read(
        base_handler(event(flavour, "GET", f"{prefix}/ping/", host=custom), NO_CONTEXT)
    )
    assert status == 307
    assert headers["location"] == ["https://api.example.com/billing/ping"]


@pytest.mark.parametrize("flavour", ["rest", "http"])
def test_base_path_is_the_custom_domains_only(flavour: str) -> None:
    """Through the execute-api URL (the stack's ApiUrl) BASE_PATH does not apply."""
    base_handler = make_handler(app, base_path="/billing")
    html, spec = docs_and_spec(base_handler, flavour)
    expected = "/prod" if flavour == "rest" else ""
    assert f"url: '{expected}/openapi.json'" in html
    assert spec.get("servers", [{"url": ""}]) == [{"url": expected}]


{%- if m.domain %}


@pytest.mark.parametrize("flavour", ["rest", "http"])
@pytest.mark.parametrize("base_path", ["", "billing"])
def test_served_on_the_custom_domain(flavour: str, base_path: str) -> None:
    """template.yml maps the API on {{ m.domain }} at its DomainBasePath and
    gives the function the same value as BASE_PATH."""
    domain_handler = make_handler(app, base_path=Settings(base_path=base_path).base_path)
    prefix = f"/{base_path}" if base_path else ""
    custom = {{ m.domain | tojson }}
    html, spec = docs_and_spec(domain_handler, flavour, host=custom)
    assert f"url: '{prefix}/openapi.json'" in html
    assert spec.get("servers", [{"url": ""}]) == [{"url": prefix}]
    ping = event(flavour, "GET", f"{prefix}/ping/", host=custom)
    status, headers, _, _ = read(domain_handler(ping, NO_CONTEXT))
    assert status == 307
    assert headers["location"] == [f"https://{{ m.domain }}{prefix}/ping"]
{%- endif %}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ""),
        ({"BASE_PATH": "/"}, ""),
        ({"BASE_PATH": "api"}, "/api"),
        ({"BASE_PATH": "/a/b/"}, "/a/b"),
    ],
)
def test_base_path_setting(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("BASE_PATH", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).base_path == expected


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"LOG_LEVEL": "DEBUG", "TITLE": "x", "UNRELATED": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("API_PREFIX", raising=False)
    settings = Settings(_env_file=None)
    assert (settings.log_level, settings.title, settings.api_prefix) == ("DEBUG", "x", "/api/v1")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="log_level"):
        Settings(_env_file=None)
