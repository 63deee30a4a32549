"""Send OpenTelemetry spans to the X-Ray daemon that Lambda runs beside the function.

With `Tracing: Active`, Lambda records the invocation as an X-Ray segment, hands the
function its trace header in `_X_AMZN_TRACE_ID` and the daemon's UDP address in
`AWS_XRAY_DAEMON_ADDRESS`. The spans of a request (parented on that header by the X-Ray
Lambda propagator) go to the daemon as subsegment documents, one UDP datagram each: no
API call, no connection, nothing at import. Why this and not an SDK or a collector:
docs/observability.md.
"""

import json
import re
import socket
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

HEADER = b'{"format": "json", "version": 1}\n'
# X-Ray names allow letters, digits, whitespace and _ . : / % & # = + \ - @ (200 at most).
NAME_UNSAFE = re.compile(r"[^\w\s.:/%&#=+\\\-@]")


def daemon_address(value: str) -> tuple[str, int]:
    """`AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or `udp:host:port tcp:host:port`."""
    parts = value.split()
    part = next((p.removeprefix("udp:") for p in parts if p.startswith("udp:")), parts[0])
    host, _, port = part.rpartition(":")
    return host, int(port)


def xray_trace_id(trace_id: int) -> str:
    """An OpenTelemetry trace id as X-Ray writes it: `1-<8 hex epoch>-<24 hex>`."""
    hex_id = f"{trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def aws_call_attributes(service: str, operation: str, table: str = "") -> dict[str, Any]:
    """The attributes of a client span around an AWS SDK call (OpenTelemetry's semantic
    conventions for the AWS SDK), from which `subsegment` writes X-Ray's `aws` fields."""
    attributes: dict[str, Any] = {
        "rpc.system": "aws-api",
        "rpc.service": service,
        "rpc.method": "".join(word.title() for word in operation.split("_")),
    }
    if table:
        attributes["aws.dynamodb.table_names"] = [table]
    return attributes


def subsegment(span: ReadableSpan) -> dict[str, Any]:
    """The X-Ray subsegment document of a finished span."""
    if span.start_time is None or span.end_time is None:
        raise ValueError(f"span {span.name!r} has not ended")  # exporters get ended spans
    attributes = dict(span.attributes or {})
    document: dict[str, Any] = {
        "type": "subsegment",
        "name": NAME_UNSAFE.sub("_", span.name)[:200],
        "id": f"{span.context.span_id:016x}",
        "trace_id": xray_trace_id(span.context.trace_id),
        "start_time": span.start_time / 1e9,
        "end_time": span.end_time / 1e9,
        "metadata": {"otel": {"kind": span.kind.name, "attributes": attributes}},
    }
    if span.parent is not None:
        document["parent_id"] = f"{span.parent.span_id:016x}"
    if span.kind is SpanKind.SERVER and "http.request.method" in attributes:
        status = attributes.get("http.response.status_code")
        document["http"] = {
            "request": {"method": attributes["http.request.method"]},
            "response": {"status": status} if status is not None else {},
        }
        if "http.route" in attributes:
            document["annotations"] = {"route": str(attributes["http.route"])}
        if isinstance(status, int):
            document["error"] = 400 <= status < 500
            document["fault"] = status >= 500
    if span.kind is SpanKind.CLIENT and attributes.get("rpc.system") == "aws-api":
        # As the AWS SDKs' own subsegments: named by the service, in the `aws` namespace,
        # which puts the service on X-Ray's trace map.
        document["name"] = str(attributes.get("rpc.service", document["name"]))
        document["namespace"] = "aws"
        aws = {"operation": attributes.get("rpc.method")}
        tables = attributes.get("aws.dynamodb.table_names")
        if isinstance(tables, Sequence) and not isinstance(tables, str) and tables:
            aws["table_name"] = str(tables[0])
        document["aws"] = aws
    if not span.status.is_ok and "fault" not in document:
        document["fault"] = True
    return document


class XRayDaemonExporter(SpanExporter):
    """Writes each sampled span to the X-Ray daemon as a subsegment over UDP."""

    def __init__(self, address: str) -> None:
        self.address = daemon_address(address)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = SpanExportResult.SUCCESS
        for span in spans:
            if not span.context.trace_flags.sampled:
                continue
            data = HEADER + json.dumps(subsegment(span), default=str).encode()
            try:
                self._socket.sendto(data, self.address)
            except OSError:
                result = SpanExportResult.FAILURE
        return result

    def shutdown(self) -> None:
        self._socket.close()
