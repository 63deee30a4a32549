"""Logs, traces and metrics of every request, correlated by the same ids.

- `logger`: the service's structured JSON logger (Powertools Logger). Log with it
  (`from {{ cookiecutter.package_name }}.core.observability import logger`): during a request
  each line carries the request's ids.
- `tracer_provider`: OpenTelemetry spans, made by FastAPI's own telemetry (one server span
  per request, named by its route), parented on Lambda's X-Ray trace and sent to the X-Ray
  daemon when Lambda runs one (core/xray.py).
- `RequestTelemetry`: the middleware that writes one access log line and the CloudWatch
  embedded-metric-format (EMF) metrics of each request, and returns the correlation id.

Nothing here makes a network call; the choices are explained in docs/observability.md.
"""

import logging
import os
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit, single_metric
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.aws.aws_xray_propagator import (
    AWS_TRACE_HEADER_ENV_KEY,
    TRACE_HEADER_KEY,
    AwsXRayPropagator,
)
from opentelemetry.propagators.textmap import CarrierT, Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.core.config import get_settings
from {{ cookiecutter.package_name }}.core.xray import XRayDaemonExporter, xray_trace_id

settings = get_settings()

logger = Logger(service=settings.service_name, level=settings.log_level)
# Mangum logs "GET /ping 200" for each request: RequestTelemetry's line replaces it.
logging.getLogger("mangum.http").setLevel(logging.WARNING)


class RecordEverySpan(Sampler):
    """Sample as the parent (Lambda's X-Ray sampling decision) says, but record every span,
    so that the route FastAPI sets on it is known for the logs and metrics of every request;
    only sampled spans are exported."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        sampled = parent.trace_flags.sampled if parent.is_valid else True
        decision = Decision.RECORD_AND_SAMPLE if sampled else Decision.RECORD_ONLY
        # The parent's trace state, as ParentBased keeps it; else the one the caller passed.
        state = parent.trace_state if parent.is_valid else trace_state
        return SamplingResult(decision, attributes, state)

    def get_description(self) -> str:
        return "RecordEverySpan"


# Spans of this service: the Resource is given (else the SDK would look up resource
# detectors among every installed distribution's entry points at cold start).
tracer_provider = TracerProvider(
    resource=Resource({"service.name": settings.service_name}), sampler=RecordEverySpan()
)
if daemon := os.environ.get("AWS_XRAY_DAEMON_ADDRESS"):
    # One UDP datagram per span, sent as the span ends: no thread, nothing left to flush
    # when Lambda freezes the environment between invocations.
    tracer_provider.add_span_processor(SimpleSpanProcessor(XRayDaemonExporter(daemon)))


class LambdaTracePropagator(AwsXRayPropagator):
    """Parent each request's span on the invocation's X-Ray trace (`_X_AMZN_TRACE_ID`), or
    on the caller's `X-Amzn-Trace-Id` header outside Lambda. (The library's
    AwsXRayLambdaPropagator reads the variable through the caller's getter, which fails
    with FastAPI's header getter: docs/observability.md.)"""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] | None = None,
    ) -> Context:
        if header := os.environ.get(AWS_TRACE_HEADER_ENV_KEY):
            return super().extract({TRACE_HEADER_KEY: header}, context=context)
        if getter is None:
            return super().extract(carrier, context=context)
        return super().extract(carrier, context=context, getter=getter)


propagate.set_global_textmap(LambdaTracePropagator())

# A correlation id from a caller is used only if it looks like an id (no log injection).
SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def correlation_id(value: str | None) -> str:
    """The caller's correlation id if it is a plausible id, else a new UUID."""
    return value if value and SAFE_ID.fullmatch(value) else str(uuid.uuid4())


def request_ids(scope: Scope) -> dict[str, str]:
    """The Lambda request id and the API Gateway request id of a request (Mangum puts the
    Lambda event and context in the ASGI scope), and its trace id in X-Ray's format."""
    context = scope.get("aws.context")
    event = scope.get("aws.event") or {}
    ids = {
        "lambda_request_id": getattr(context, "aws_request_id", None),
        "apigw_request_id": (event.get("requestContext") or {}).get("requestId"),
    }
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        ids["trace_id"] = xray_trace_id(span_context.trace_id)
        ids["span_id"] = f"{span_context.span_id:016x}"
    return {key: str(value) for key, value in ids.items() if value}


class RequestTelemetry:
    """ASGI middleware (inside FastAPI's telemetry, so the request's span is current):
    correlation id in and out, the ids on every log line of the request, one access log
    line, and EMF metrics per route (`Latency`, `Errors`) plus `ColdStart` once. On Lambda the
    same metrics also carry the function's name and version, which the canary's rollback
    alarms watch (docs/operations.md)."""

    def __init__(self, app: ASGIApp, *, header: str, namespace: str, service: str) -> None:
        self.app = app
        self.header = header.lower()
        self.namespace = namespace
        self.service = service
        self.cold_start = True
        # One metric set, flushed at the end of each request: record() never awaits, so
        # two requests on the event loop never write into it at once.
        self.metrics = EphemeralMetrics(namespace=namespace, service=service)
        # The function and the version this execution environment runs (unset outside Lambda).
        self.version = {
            "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
        }
        if not all(self.version.values()):
            self.version = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cold_start, self.cold_start = self.cold_start, False
        incoming = [v for k, v in scope["headers"] if k.decode("latin-1").lower() == self.header]
        ids = {
            "correlation_id": correlation_id(incoming[0].decode("latin-1") if incoming else None)
        }
        ids |= request_ids(scope)
        # For the app too: `request.state.correlation_id` (an error answer names it).
        scope.setdefault("state", {})["correlation_id"] = ids["correlation_id"]
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(self.header, ids["correlation_id"])
            await send(message)

        with logger.append_context_keys(**ids):
            error = None
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                status, error = 500, type(exc).__name__
                raise
            finally:
                self.record(scope, status, time.perf_counter() - started, cold_start, error)

    def record(
        self, scope: Scope, status: int, seconds: float, cold_start: bool, error: str | None
    ) -> None:
        """The access log line and the metrics of one request."""
        # The route template FastAPI's telemetry put on the request's span (it knows the
        # prefixes of included routers), without the stage or base path.
        span = trace.get_current_span()
        template = str(getattr(span, "attributes", {}).get("http.route", ""))
        route = template.removeprefix(scope.get("root_path", "")) or None
        # Bounded cardinality: the route template, never the raw path.
        route_key = f"{scope['method']} {route}" if route else "UNMATCHED"
        latency_ms = round(seconds * 1000, 3)
        fields: dict[str, Any] = {
            "method": scope["method"],
            "route": route_key,
            "path": scope["path"],
            "status": status,
            "latency_ms": latency_ms,
            "cold_start": cold_start,
        }
        if error:
            fields["error"] = error
        # Set by core/auth.py's current_principal when the request named a verified caller.
        if subject := (scope.get("state") or {}).get("principal_subject"):
            fields["principal"] = subject
        logger.info("request", extra=fields)

        metrics = self.metrics
        metrics.add_dimension(name="route", value=route_key)
        if self.version:
            metrics.add_dimensions(**self.version)  # a second dimension set: the version's
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=int(status >= 500))
        metrics.flush_metrics()
        if cold_start:
            with single_metric(
                name="ColdStart", unit=MetricUnit.Count, value=1, namespace=self.namespace
            ) as metric:
                metric.add_dimension(name="service", value=self.service)
