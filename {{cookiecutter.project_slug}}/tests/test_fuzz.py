"""Fuzz the API through the Lambda handler, from its own OpenAPI schema: schemathesis
generates requests (valid and invalid) for every operation, each becomes a Lambda event
of the API's flavour, and the handler's answer is checked against the schema. No request
may get a 5xx. Derandomized, so a run is reproducible; raise `max_examples` to dig deeper."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from {{ cookiecutter.package_name }}.main import app, handler

from tests.lambda_events import NO_CONTEXT, event, read

FLAVOUR = "http"
schema = schemathesis.openapi.from_dict(app.openapi())


def to_lambda(case: schemathesis.Case[Any]) -> schemathesis.Response:
    """Send `case` through the handler as a Lambda event; return the handler's answer."""
    prepared = requests.Request(**case.as_transport_kwargs(base_url="https://api.test")).prepare()
    assert prepared.url is not None
    assert prepared.method is not None
    url = urlsplit(prepared.url)
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    headers = [(k, v) for k, v in prepared.headers.items() if k.lower() != "content-type"]
    lambda_event = event(
        FLAVOUR,
        prepared.method,
        url.path,
        query=parse_qsl(url.query, keep_blank_values=True),
        headers=headers,
        body=body,
        content_type=prepared.headers.get("content-type"),
    )
    status, response_headers, _, content = read(handler(lambda_event, NO_CONTEXT))
    return schemathesis.Response(
        status_code=status,
        headers=response_headers,
        content=content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )


@schema.parametrize()
@settings(max_examples=20, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_through_the_handler(case: schemathesis.Case[Any]) -> None:
    # Not status_code_conformance: FastAPI answers an unparsable body with a 400 that its
    # schema does not list; what matters here is that nothing ends in a 5xx.
    case.validate_response(
        to_lambda(case),
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
