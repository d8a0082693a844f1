"""Optional OpenTelemetry export of analysis runs: a run's stages and LLM calls as spans.

`run_spans` turns a run recorded by `bot/state/runs.py` into plain span records (pure).
`export_run` sends them with the OpenTelemetry SDK over OTLP/HTTP (protobuf) to
`NAVBOT_OTEL_ENDPOINT`. The SDK is the optional extra `navbot[otel]`, imported only when a
run is exported, so the CLI and the worker start without it. Ids derive from the run id:
exporting a run again yields the same trace and span ids, so a backend sees one trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from navbot import __version__
from navbot.core.errors import NavbotError

if TYPE_CHECKING:
    from bot.state.runs import RunStore
    from navbot.core.config import Settings

log = logging.getLogger("navbot.telemetry")

AttributeValue = str | int | float | bool
MAX_ATTRIBUTE_CHARS = 1000  # event data can hold whole diffs; backends cap attributes anyway
EXPORT_TIMEOUT_S = 5.0  # all retries included: a worker must not wait long on a dead collector
TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class SpanEvent:
    """A point in time on a span: a trace event that is not a span of its own."""

    name: str
    time_ns: int
    attributes: dict[str, AttributeValue]


@dataclass(frozen=True)
class SpanRecord:
    """One span to export; `parent` is the index of its parent in the same list."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue]
    events: tuple[SpanEvent, ...] = ()
    parent: int | None = None
    status: Literal["ok", "error"] = "ok"
    status_message: str = ""
    kind: Literal["internal", "client"] = "internal"


def run_spans(run: Mapping[str, Any], checkpoints: Sequence[Mapping[str, Any]],
              events: Sequence[Mapping[str, Any]]) -> list[SpanRecord]:
    """The spans of one run: the run, a child per stage, a grandchild per LLM call.

    Parents come before their children. LLM calls and events of a stage with no checkpoint
    (or of no stage, like maintainer feedback) hang on the run's span.
    """
    staged = {str(c["stage"]) for c in checkpoints}
    times = [run["started_at"], *(c["finished_at"] for c in checkpoints),
             *(e["at"] for e in events)]
    end = run["finished_at"] if run["finished_at"] is not None else max(times)
    failed = run["status"] == "failed"
    spans = [SpanRecord(
        "navbot.run", _ns(run["started_at"]), _ns(end), _run_attributes(run),
        events=tuple(_event(e) for e in events
                     if e["kind"] != "llm_call" and e["stage"] not in staged),
        status="error" if failed else "ok", status_message="the run failed" if failed else "")]
    for checkpoint in checkpoints:
        stage = str(checkpoint["stage"])
        parent = len(spans)
        spans.append(_stage_span(checkpoint, [e for e in events if e["stage"] == stage]))
        spans.extend(_llm_span(e, parent) for e in events
                     if e["kind"] == "llm_call" and e["stage"] == stage)
    spans.extend(_llm_span(e, 0) for e in events
                 if e["kind"] == "llm_call" and e["stage"] not in staged)
    return spans


def trace_id_for(run_id: str) -> int:
    """The 128-bit trace id of run `run_id` (never 0, which OpenTelemetry reads as invalid)."""
    return int(hashlib.sha256(f"navbot-trace|{run_id}".encode()).hexdigest()[:32], 16) or 1


def span_id_for(run_id: str, index: int) -> int:
    """The 64-bit id of the `index`-th span of run `run_id`'s trace (never 0)."""
    return int(hashlib.sha256(f"navbot-span|{run_id}|{index}".encode()).hexdigest()[:16],
               16) or 1


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (the exporter adds no path)."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def export_run(settings: Settings, store: RunStore, run_id: str,
               timeout_s: float = EXPORT_TIMEOUT_S) -> bool:
    """Send one finished run to `settings.otel_endpoint`; False (with a warning) if not sent.

    Never raises: an export is a convenience, and a job must not fail for it.
    """
    if not settings.otel_endpoint:
        log.warning("run %s not exported: NAVBOT_OTEL_ENDPOINT is not set", run_id)
        return False
    try:
        run = store.run(run_id)
        if run is None or run["status"] == "running":
            log.warning("run %s not exported: %s", run_id,
                        "no such run" if run is None else "it is still running")
            return False
        spans = run_spans(run, store.checkpoints(run_id), list(store.events(run_id)))
    except (NavbotError, SQLAlchemyError) as exc:
        log.warning("run %s not exported: cannot read it: %s", run_id, exc)
        return False
    url = traces_url(settings.otel_endpoint)
    try:
        sent = _send(spans, url, settings.otel_service_name, run_id, timeout_s)
    except ImportError as exc:
        log.warning("run %s not exported: OpenTelemetry is not installed "
                    "(pip install 'navbot[otel]'): %s", run_id, exc)
        return False
    if not sent:
        log.warning("run %s not exported: the collector at %s did not accept it", run_id, url)
    return sent


# Building the records ------------------------------------------------------------------------
def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _attribute_value(value: Any) -> AttributeValue | None:
    """An attribute value OTLP can carry: scalars as they are, the rest as JSON, cut short."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= MAX_ATTRIBUTE_CHARS else text[:MAX_ATTRIBUTE_CHARS - 1] + "…"


def _attributes(values: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Attributes from `values`, leaving out the unset ones (OTLP has no null)."""
    converted = {key: _attribute_value(value) for key, value in values.items()}
    return {key: value for key, value in converted.items() if value is not None}


def _reason_key(name: str) -> str:
    """`navbot.reason.<name>` with a name safe as an attribute key ("locate failed" too)."""
    return "navbot.reason." + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "other")


def _run_attributes(run: Mapping[str, Any]) -> dict[str, AttributeValue]:
    reasons = run["reasons"] or {}
    return _attributes({
        "navbot.run_id": run["run_id"], "navbot.repository": run["full_name"],
        "navbot.issue": run["number"], "navbot.trigger": run["trigger"],
        "navbot.delivery_id": run["delivery_id"], "navbot.outcome": run["outcome"],
        "navbot.status": run["status"],
        **{_reason_key(name): text for name, text in reasons.items()}})


def _event(event: Mapping[str, Any]) -> SpanEvent:
    return SpanEvent(str(event["kind"]), _ns(event["at"]), _attributes(event["data"] or {}))


def _stage_span(checkpoint: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
                ) -> SpanRecord:
    failed = checkpoint["status"] == "failed"
    return SpanRecord(
        f"navbot.stage.{checkpoint['stage']}", _ns(checkpoint["started_at"]),
        _ns(checkpoint["finished_at"]),
        _attributes({"navbot.stage.name": checkpoint["stage"],
                     "navbot.stage.status": checkpoint["status"],
                     "navbot.stage.attempts": checkpoint["attempts"]}),
        events=tuple(_event(e) for e in events if e["kind"] != "llm_call"), parent=0,
        status="error" if failed else "ok",
        status_message=str(checkpoint["error"] or "failed") if failed else "")


def _llm_span(event: Mapping[str, Any], parent: int) -> SpanRecord:
    """An LLM call, named and described as the OpenTelemetry GenAI conventions say."""
    data = event["data"] or {}
    end = _ns(event["at"])
    model = data.get("model")
    return SpanRecord(
        f"chat {model}" if model else "chat", end - _ns(float(data.get("latency_s") or 0.0)),
        end, _attributes({
            "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": data.get("prompt_tokens"),
            "gen_ai.usage.output_tokens": data.get("completion_tokens"),
            "navbot.prompt.name": data.get("prompt_name"),
            "navbot.prompt.version": data.get("prompt_version"),
            "navbot.llm.cached": data.get("cached")}),
        parent=parent, kind="client")


# Sending them --------------------------------------------------------------------------------
def _send(spans: Sequence[SpanRecord], url: str, service_name: str, run_id: str,
          timeout_s: float) -> bool:
    """Replay the records through the SDK, then post them in one OTLP request."""
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from opentelemetry.trace import SpanKind, Status, StatusCode

    # Spans are collected in memory and exported directly, rather than by the processor, so
    # that the export's result is known and the whole run travels in one request.
    finished = InMemorySpanExporter()
    ids = (span_id_for(run_id, index) for index in range(len(spans)))
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: __version__}),
        sampler=ALWAYS_ON, id_generator=_fixed_ids(trace_id_for(run_id), ids),
        shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(finished))
    tracer = provider.get_tracer("navbot", __version__)
    opened: list[Any] = []
    for record in spans:
        # An empty context for the root: whatever span is current here is not its parent.
        parent = (Context() if record.parent is None
                  else trace.set_span_in_context(opened[record.parent]))
        span = tracer.start_span(
            record.name, context=parent, attributes=record.attributes,
            kind=SpanKind.CLIENT if record.kind == "client" else SpanKind.INTERNAL,
            start_time=record.start_ns)
        for event in record.events:
            span.add_event(event.name, event.attributes, timestamp=event.time_ns)
        span.set_status(Status(StatusCode.ERROR, record.status_message)
                        if record.status == "error" else Status(StatusCode.OK))
        opened.append(span)
    for span, record in zip(opened, spans, strict=True):
        span.end(end_time=record.end_ns)
    collected = finished.get_finished_spans()
    provider.shutdown()
    exporter = OTLPSpanExporter(endpoint=url, timeout=timeout_s)
    try:
        return exporter.export(collected) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def _fixed_ids(trace_id: int, span_ids: Iterator[int]) -> Any:
    """An SDK id generator handing out the run's trace id and its spans' ids in order."""
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class RunIds(IdGenerator):
        """The ids of one run's trace."""

        def generate_trace_id(self) -> int:
            return trace_id

        def generate_span_id(self) -> int:
            return next(span_ids)

    return RunIds()
