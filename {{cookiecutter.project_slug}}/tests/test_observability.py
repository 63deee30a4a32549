{%- set m = cookiecutter | model -%}
"""Logs, spans and metrics of a request, through the Lambda handler and the ASGI app:
captured log output and an in-memory span exporter, asserted field by field."""

import inspect
import json
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mangum.types import LambdaContext
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from {{ cookiecutter.package_name }}.core import observability
from {{ cookiecutter.package_name }}.core.observability import (
    RequestTelemetry,
    tracer_provider,
)
from {{ cookiecutter.package_name }}.core.xray import (
    XRayDaemonExporter,
    aws_call_attributes,
    subsegment,
)
from {{ cookiecutter.package_name }}.main import app, handler

SPANS = InMemorySpanExporter()
tracer_provider.add_span_processor(SimpleSpanProcessor(SPANS))
MakeEvent = Callable[..., dict[str, Any]]
Lines = list[dict[str, Any]]
Telemetry = Callable[[], tuple[Lines, Lines, Sequence[ReadableSpan]]]
LAMBDA_TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def telemetry(capsys: pytest.CaptureFixture[str], service_logs: Callable[[], Lines]) -> Telemetry:
    """Captures the JSON log lines, the EMF lines (both on stdout) and the spans."""
    SPANS.clear()
    capsys.readouterr()

    def read() -> tuple[Lines, Lines, Sequence[ReadableSpan]]:
        emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
        return service_logs(), emf, SPANS.get_finished_spans()

    return read


def access_line(lines: Lines) -> dict[str, Any]:
    (line,) = [line for line in lines if line["message"] == "request"]
    return line


def test_handler_request_is_logged_traced_and_measured(
    make_event: MakeEvent,
    lambda_context: LambdaContext,
    telemetry: Telemetry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    event = make_event("POST", "/api/v1/example", {"a": 6, "b": 7})
    (event.get("multiValueHeaders") or {})["x-correlation-id"] = ["order-42"]
    event["headers"]["x-correlation-id"] = "order-42"
    response = handler(event, lambda_context)
    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    assert headers["x-correlation-id"] == "order-42"

    lines, emf, spans = telemetry()
    line = access_line(lines)
    assert line["route"] == "POST /api/v1/example"
    assert line["method"] == "POST"
    assert line["status"] == 200
    assert line["latency_ms"] > 0
    assert line["correlation_id"] == "order-42"
    assert line["lambda_request_id"] == lambda_context.aws_request_id
    assert line["apigw_request_id"] == event["requestContext"]["requestId"]
    assert line["service"] == "{{ cookiecutter.project_slug }}"
    # The trace is the invocation's X-Ray trace; the span is the route's.
    assert line["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    (server,) = [span for span in spans if span.kind.name == "SERVER"]
    assert server.name.endswith("/api/v1/example")
    assert server.name.startswith("POST /")
    assert (server.attributes or {})["http.response.status_code"] == 200
    assert server.context is not None
    assert server.parent is not None
    assert f"{server.context.span_id:016x}" == line["span_id"]
    assert f"{server.parent.span_id:016x}" == "53995c3f42cd8ad8"
    # The endpoint's own log line carries the same ids.
    (app_line,) = [line for line in lines if line["message"] == "multiplied"]
    for key in ("correlation_id", "lambda_request_id", "apigw_request_id", "trace_id"):
        assert app_line[key] == line[key], key

    (request_metrics,) = [blob for blob in emf if "Latency" in blob]
    (directive,) = request_metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "{{ cookiecutter.project_slug }}"
    assert directive["Dimensions"] == [["route", "service"]]
    assert request_metrics["route"] == "POST /api/v1/example"
    assert request_metrics["service"] == "{{ cookiecutter.project_slug }}"
    assert request_metrics["Errors"] == [0.0]


def test_correlation_id_is_made_when_absent_or_unsafe(
    client: TestClient, telemetry: Telemetry
) -> None:
    made = client.get("/ping").headers["x-correlation-id"]
    unsafe = client.get("/ping", headers={"x-correlation-id": "a\nforged line"})
    assert unsafe.headers["x-correlation-id"] not in {"a\nforged line", made}
    lines, _, _ = telemetry()
    assert [line["correlation_id"] for line in lines if line["message"] == "request"] == [
        made,
        unsafe.headers["x-correlation-id"],
    ]


def test_unmatched_route_is_one_metric_not_one_per_path(
    client: TestClient, telemetry: Telemetry
) -> None:
    assert client.get("/no/such/route").status_code == 404
    lines, emf, _ = telemetry()
    assert access_line(lines)["route"] == "UNMATCHED"
    assert access_line(lines)["path"] == "/no/such/route"
    assert [blob["route"] for blob in emf if "Latency" in blob] == ["UNMATCHED"]


def test_errors_and_the_cold_start_are_counted(telemetry: Telemetry) -> None:
    """A fresh app with the same middleware: its first request is its cold start."""
    broken = FastAPI(telemetry={"tracer_provider": tracer_provider})
    broken.add_middleware(
        RequestTelemetry, header="x-correlation-id", namespace="ns", service="svc"
    )

    @broken.get("/boom/{item}")
    async def boom(item: str) -> None:
        raise RuntimeError(item)

    client = TestClient(broken, raise_server_exceptions=False)
    assert client.get("/boom/1").status_code == 500
    assert client.get("/boom/2").status_code == 500
    lines, emf, spans = telemetry()
    errors = [blob for blob in emf if "Errors" in blob]
    assert [blob["Errors"] for blob in errors] == [[1.0], [1.0]]
    assert {blob["route"] for blob in errors} == {"GET /boom/{item}"}
    assert [blob["ColdStart"] for blob in emf if "ColdStart" in blob] == [[1.0]]
    access = [line for line in lines if line["message"] == "request"]
    assert [(line["status"], line["error"], line["cold_start"]) for line in access] == [
        (500, "RuntimeError", True),
        (500, "RuntimeError", False),
    ]
    assert {span.name for span in spans if span.kind.name == "SERVER"} == {"GET /boom/{item}"}


def test_on_lambda_the_metrics_carry_the_function_version(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second dimension set names the function and version that answered: what a
    canary's rollback alarms watch (docs/operations.md). A route's exception counts."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    versioned = FastAPI(telemetry={"tracer_provider": tracer_provider})
    versioned.add_middleware(
        RequestTelemetry, header="x-correlation-id", namespace="ns", service="svc"
    )

    @versioned.get("/boom")
    async def boom() -> None:
        raise RuntimeError

    client = TestClient(versioned, raise_server_exceptions=False)
    assert client.get("/boom").status_code == 500
    _, emf, _ = telemetry()
    (blob,) = [blob for blob in emf if "Latency" in blob]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["route", "service"], ["function_name", "function_version"]]
    assert (blob["function_name"], blob["function_version"]) == ("my-function", "7")
    assert blob["Errors"] == [1.0]


def test_spans_reach_the_xray_daemon_as_subsegments(
    make_event: MakeEvent, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the daemon receives over UDP: X-Ray's header line, then a subsegment of the
    invocation's trace, named by the route."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    exporter = XRayDaemonExporter(f"127.0.0.1:{daemon.getsockname()[1]}")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    SPANS.clear()
    assert handler(make_event("GET", "/ping"), lambda_context)["statusCode"] == 200
    (server,) = [span for span in SPANS.get_finished_spans() if span.kind.name == "SERVER"]
    exporter.export([server])
    header, document = daemon.recv(65536).split(b"\n", 1)
    daemon.close()
    assert json.loads(header) == {"format": "json", "version": 1}
    sent = json.loads(document)
    assert sent == subsegment(server)
    assert sent["type"] == "subsegment"
    assert sent["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert sent["parent_id"] == "53995c3f42cd8ad8"
    assert sent["name"].startswith("GET /")
    assert sent["name"].endswith("/ping")
    assert sent["http"] == {"request": {"method": "GET"}, "response": {"status": 200}}
    assert sent["fault"] is False
    assert sent["end_time"] >= sent["start_time"]


def test_aws_sdk_calls_are_aws_subsegments() -> None:
    """A client span around an AWS SDK call (aws_call_attributes) becomes a subsegment the
    way the SDKs write theirs: named by the service, namespace `aws`, the operation and the
    table; a failed call is a fault."""
    tracer = tracer_provider.get_tracer("test")
    SPANS.clear()
    attributes = aws_call_attributes("DynamoDB", "get_item", "orders")
    with tracer.start_as_current_span(
        "DynamoDB.GetItem", kind=SpanKind.CLIENT, attributes=attributes
    ):
        pass
    with tracer.start_as_current_span(
        "DynamoDB.PutItem", kind=SpanKind.CLIENT, attributes=attributes
    ) as failed:
        failed.set_status(StatusCode.ERROR, "ThrottlingException")
    ok, fault = (subsegment(span) for span in SPANS.get_finished_spans())
    assert (ok["name"], ok["namespace"]) == ("DynamoDB", "aws")
    assert ok["aws"] == {"operation": "GetItem", "table_name": "orders"}
    assert "fault" not in ok
    assert fault["fault"] is True
{%- if m.datastore.dynamodb %}


def test_each_dynamodb_call_is_a_span_of_its_request(client: TestClient) -> None:
    """The items repository's calls are client spans under the request's span; a refused
    conditional write is an answer (409), not a failed call."""
    assert client.put("/api/v1/items/w-1", json={"name": "Widget"}).status_code == 201
    SPANS.clear()
    assert client.put("/api/v1/items/w-1", json={"name": "Again"}).status_code == 409
    (server,) = [span for span in SPANS.get_finished_spans() if span.kind is SpanKind.SERVER]
    (call,) = [span for span in SPANS.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "DynamoDB.PutItem"
    assert call.parent is not None
    assert call.parent.span_id == server.context.span_id
    assert call.status.status_code is StatusCode.UNSET
    assert dict(call.attributes or {})["aws.dynamodb.condition_failed"] is True
    assert subsegment(call)["aws"]["operation"] == "PutItem"
{%- endif %}


def test_unsampled_requests_are_logged_with_their_route_but_not_exported(
    make_event: MakeEvent,
    lambda_context: LambdaContext,
    telemetry: Telemetry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE.replace("Sampled=1", "Sampled=0"))
    assert handler(make_event("GET", "/ping"), lambda_context)["statusCode"] == 200
    lines, emf, spans = telemetry()
    assert access_line(lines)["route"] == "GET /ping"
    assert [blob["route"] for blob in emf if "Latency" in blob] == ["GET /ping"]
    # Recorded (so the route was known) but not sampled: span processors export nothing.
    assert spans == ()
    assert access_line(lines)["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_the_sampler_overrides_the_sdk_signature() -> None:
    """Same parameters as the SDK's Sampler.should_sample (trace_state included), and the
    trace state of a root span is the caller's."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler
    from opentelemetry.trace import TraceState

    ours = inspect.signature(observability.RecordEverySpan.should_sample).parameters
    assert list(ours) == list(inspect.signature(Sampler.should_sample).parameters)
    state = TraceState([("vendor", "value")])
    result = observability.RecordEverySpan().should_sample(None, 1, "root", trace_state=state)
    assert result.trace_state == state
    assert result.decision is Decision.RECORD_AND_SAMPLE  # recorded and sampled


def test_app_is_instrumented_once() -> None:
    assert observability.tracer_provider is tracer_provider
    classes: list[object] = [m.cls for m in app.user_middleware]
    assert classes.count(RequestTelemetry) == 1
