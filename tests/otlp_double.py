"""A local OpenTelemetry collector for tests: `POST /v1/traces` (OTLP/HTTP protobuf).

Use it as a context manager and point navbot at it::

    with CollectorDouble() as collector:
        settings = load_settings(home=tmp_path, otel_endpoint=collector.endpoint)
        ...
        assert [s.name for s in collector.spans()] == [...]

Received requests are decoded with the OTLP protobuf classes and kept in `requests`;
`spans()` flattens them into `ReceivedSpan`s (ids as hex, attributes as plain values).
Set `status` to answer with an error instead (503 is retryable for exporters, 400 is not).
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from werkzeug.wrappers import Request, Response

from tests.local_server import LocalServer

__all__ = ["CollectorDouble", "ReceivedEvent", "ReceivedSpan"]

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedEvent:
    """A span event as the collector got it."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    """A span as the collector got it, with its resource's attributes and its scope."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    start_ns: int
    end_ns: int
    kind: str  # SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT, ...
    attributes: dict[str, Any]
    events: tuple[ReceivedEvent, ...]
    status: str  # STATUS_CODE_OK, STATUS_CODE_ERROR or STATUS_CODE_UNSET
    status_message: str
    resource: dict[str, Any]
    scope: str


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _decompress(request: Request) -> bytes:
    body = request.get_data()
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class CollectorDouble(LocalServer):
    """A fake OTLP/HTTP trace collector on 127.0.0.1, on an ephemeral port."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str | None] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """The collector's base URL, to configure as `otel_endpoint` (no /v1/traces)."""
        if self._server is None:
            raise RuntimeError("the double is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in the order they arrived."""
        with self._lock:
            requests = list(self.requests)
        return [self._span(span, resource_spans.resource.attributes, scope_spans.scope.name)
                for request in requests
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans]

    @staticmethod
    def _span(span: Span, resource: Iterable[KeyValue], scope: str) -> ReceivedSpan:
        return ReceivedSpan(
            name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
            parent_span_id=span.parent_span_id.hex(), start_ns=span.start_time_unix_nano,
            end_ns=span.end_time_unix_nano, kind=Span.SpanKind.Name(span.kind),
            attributes=_attributes(span.attributes),
            events=tuple(ReceivedEvent(e.name, e.time_unix_nano, _attributes(e.attributes))
                         for e in span.events),
            status=Status.StatusCode.Name(span.status.code),
            status_message=span.status.message, resource=_attributes(resource), scope=scope)

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/traces":
            return Response(b"not found", 404)
        if self.status != 200:
            return Response(b"injected failure", self.status)
        message = ExportTraceServiceRequest()
        try:
            message.ParseFromString(_decompress(request))
        except (DecodeError, OSError, zlib.error) as exc:
            return Response(f"bad body: {exc}".encode(), 400)
        with self._lock:
            self.requests.append(message)
            self.content_types.append(request.headers.get("Content-Type"))
        return Response(ExportTraceServiceResponse().SerializeToString(), 200,
                        content_type=PROTOBUF)
