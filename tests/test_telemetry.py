"""OpenTelemetry export of runs: the span tree, OTLP/HTTP to a collector, the CLI, the worker.

Runs are recorded by a real RunStore on SQLite; exports go over real HTTP to the collector
double, which decodes the protobuf bodies.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.state.runs import RunStore
from bot.state.store import StateStore
from bot.state.telemetry import (
    MAX_ATTRIBUTE_CHARS,
    export_run,
    run_spans,
    span_id_for,
    trace_id_for,
    traces_url,
)
from navbot.cli.main import main
from navbot.core.config import load_settings
from tests.otlp_double import CollectorDouble, ReceivedSpan

RUN_ID = "0123456789abcdef"
LLM_CALL = {"model": "gpt-4o-mini", "prompt_name": "queries", "prompt_version": "3",
            "prompt_tokens": 120, "completion_tokens": 14, "latency_s": 0.25, "cached": False}
LONG_TEXT = "x" * (MAX_ATTRIBUTE_CHARS + 500)


def record_run(store: RunStore, run_id: str = RUN_ID) -> None:
    """A finished run: understand done (with an LLM call), locate failed, compose gated."""
    store.start_run(run_id, 9, "octo-org/shop", 7, "opened", "delivery-1")
    started = time.time()
    store.add_event(run_id, "understand", "stage_start", {})
    store.add_event(run_id, "understand", "llm_call", LLM_CALL)
    store.add_event(run_id, "understand", "understood",
                    {"shape": "bug", "extra_queries": ["cart total"], "title": LONG_TEXT,
                     "missing": None})
    store.save_checkpoint(run_id, "understand", "done", started, output={"shape": "bug"})
    store.add_event(run_id, "understand", "stage_end", {"status": "done", "seconds": 0.01})
    started = time.time()
    store.add_event(run_id, "locate", "stage_start", {})
    error = "RepositoryError: the index store is unreadable"
    store.save_checkpoint(run_id, "locate", "failed", started, error=error)
    store.add_event(run_id, "locate", "stage_end", {"status": "failed", "error": error})
    store.add_event(run_id, None, "feedback", {"notes": ["look at the cart"]})
    started = time.time()
    store.add_event(run_id, "compose", "gates",
                    {"cleared": [], "reasons": {"files": "confidence 0.20 < 0.30"}})
    store.save_checkpoint(run_id, "compose", "done", started, output={"cleared": []})
    store.finish_run(run_id, "finished", "silent",
                     {"files": "confidence 0.20 < 0.30", "locate failed": error})


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """A recorded run in a fresh state database."""
    runs = RunStore(StateStore(f"sqlite:///{tmp_path / 'state.db'}").engine)
    record_run(runs)
    return runs


def ns(seconds: float) -> int:
    return round(seconds * 1e9)


def test_a_run_becomes_a_tree_of_spans(store: RunStore) -> None:
    run = store.run(RUN_ID)
    assert run is not None
    stages = {c["stage"]: c for c in store.checkpoints(RUN_ID)}
    events = list(store.events(RUN_ID))
    spans = run_spans(run, list(stages.values()), events)

    assert [(s.name, s.parent) for s in spans] == [
        ("navbot.run", None), ("navbot.stage.understand", 0), ("chat gpt-4o-mini", 1),
        ("navbot.stage.locate", 0), ("navbot.stage.compose", 0)]
    root, understand, llm, locate, compose = spans

    assert (root.start_ns, root.end_ns) == (ns(run["started_at"]), ns(run["finished_at"]))
    assert root.attributes == {
        "navbot.run_id": RUN_ID, "navbot.repository": "octo-org/shop", "navbot.issue": 7,
        "navbot.trigger": "opened", "navbot.delivery_id": "delivery-1",
        "navbot.outcome": "silent", "navbot.status": "finished",
        "navbot.reason.files": "confidence 0.20 < 0.30",
        "navbot.reason.locate_failed": "RepositoryError: the index store is unreadable"}
    assert root.status == "ok"
    # Feedback belongs to no stage: it is an event of the run.
    assert [(e.name, e.attributes) for e in root.events] == [
        ("feedback", {"notes": '["look at the cart"]'})]

    assert (understand.start_ns, understand.end_ns) == (
        ns(stages["understand"]["started_at"]), ns(stages["understand"]["finished_at"]))
    assert understand.attributes == {"navbot.stage.name": "understand",
                                     "navbot.stage.status": "done", "navbot.stage.attempts": 1}
    assert [e.name for e in understand.events] == ["stage_start", "understood", "stage_end"]
    understood = understand.events[1]
    assert understood.time_ns == ns(next(e["at"] for e in events if e["kind"] == "understood"))
    assert understood.attributes["shape"] == "bug"
    assert understood.attributes["extra_queries"] == '["cart total"]'
    assert len(str(understood.attributes["title"])) == MAX_ATTRIBUTE_CHARS
    assert str(understood.attributes["title"]).endswith("…")
    assert "missing" not in understood.attributes

    call_at = ns(next(e["at"] for e in events if e["kind"] == "llm_call"))
    assert (llm.start_ns, llm.end_ns) == (call_at - 250_000_000, call_at)
    assert llm.kind == "client" and llm.events == ()
    assert llm.attributes == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 14,
        "navbot.prompt.name": "queries", "navbot.prompt.version": "3",
        "navbot.llm.cached": False}

    assert locate.status == "error"
    assert locate.status_message == "RepositoryError: the index store is unreadable"
    assert locate.attributes["navbot.stage.status"] == "failed"
    assert compose.status == "ok"
    assert [e.attributes for e in compose.events] == [
        {"cleared": "[]", "reasons": '{"files": "confidence 0.20 < 0.30"}'}]


def test_ids_are_stable_per_run_and_the_url_gets_its_path() -> None:
    assert trace_id_for(RUN_ID) == trace_id_for(RUN_ID) != trace_id_for("another-run")
    assert trace_id_for(RUN_ID).bit_length() <= 128
    assert len({span_id_for(RUN_ID, i) for i in range(50)}) == 50
    assert traces_url("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector/v1/traces") == "http://collector/v1/traces"


def test_export_sends_the_tree_to_the_collector(store: RunStore, tmp_path: Path) -> None:
    with CollectorDouble() as collector:
        settings = load_settings(home=tmp_path, otel_endpoint=collector.endpoint,
                                 otel_service_name="navbot-test")
        assert export_run(settings, store, RUN_ID) is True
        received = collector.spans()
        assert export_run(settings, store, RUN_ID) is True  # again: the very same ids
        again = collector.spans()[len(received):]
    assert len(collector.requests) == 2  # the whole run travels in one request
    assert collector.content_types[0] == "application/x-protobuf"

    run = store.run(RUN_ID)
    assert run is not None
    records = run_spans(run, store.checkpoints(RUN_ID), list(store.events(RUN_ID)))
    by_name = {s.name: s for s in received}
    assert sorted(by_name) == sorted(r.name for r in records)
    assert {s.trace_id for s in received} == {f"{trace_id_for(RUN_ID):032x}"}
    assert {s.resource["service.name"] for s in received} == {"navbot-test"}
    assert {s.scope for s in received} == {"navbot"}
    names = {s.span_id: s.name for s in received}
    assert {s.name: names.get(s.parent_span_id) for s in received} == {
        "navbot.run": None, "navbot.stage.understand": "navbot.run",
        "chat gpt-4o-mini": "navbot.stage.understand", "navbot.stage.locate": "navbot.run",
        "navbot.stage.compose": "navbot.run"}
    assert by_name["navbot.run"].parent_span_id == ""
    assert by_name["navbot.run"].span_id == f"{span_id_for(RUN_ID, 0):016x}"

    for record in records:
        span: ReceivedSpan = by_name[record.name]
        assert (span.start_ns, span.end_ns) == (record.start_ns, record.end_ns)
        assert span.attributes == record.attributes
        assert [(e.name, e.time_ns, e.attributes) for e in span.events] == [
            (e.name, e.time_ns, e.attributes) for e in record.events]
    assert by_name["chat gpt-4o-mini"].kind == "SPAN_KIND_CLIENT"
    assert by_name["navbot.stage.understand"].kind == "SPAN_KIND_INTERNAL"
    assert by_name["navbot.stage.locate"].status == "STATUS_CODE_ERROR"
    assert "unreadable" in by_name["navbot.stage.locate"].status_message
    assert by_name["navbot.run"].status == "STATUS_CODE_OK"

    assert sorted((s.span_id, s.parent_span_id) for s in again) == sorted(
        (s.span_id, s.parent_span_id) for s in received)


def test_no_endpoint_means_no_export(store: RunStore, tmp_path: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(home=tmp_path)
    with caplog.at_level(logging.WARNING, "navbot.telemetry"):
        assert export_run(settings, store, RUN_ID) is False
    assert "NAVBOT_OTEL_ENDPOINT is not set" in caplog.text


def test_without_the_otel_extra_nothing_is_exported(
        store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # A None entry in sys.modules makes the import fail, as when the package is absent.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter",
                        None)
    with CollectorDouble() as collector:
        settings = load_settings(home=tmp_path, otel_endpoint=collector.endpoint)
        with caplog.at_level(logging.WARNING, "navbot.telemetry"):
            assert export_run(settings, store, RUN_ID) is False
    assert collector.requests == []
    assert "pip install 'navbot[otel]'" in caplog.text


def test_a_dead_or_refusing_collector_fails_quietly_and_quickly(
        store: RunStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the socket is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = load_settings(home=tmp_path, otel_endpoint=closed)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "navbot.telemetry"):
        assert export_run(settings, store, RUN_ID, timeout_s=0.5) is False
    assert time.monotonic() - started < 3
    assert f"the collector at {closed}/v1/traces did not accept it" in caplog.text

    with CollectorDouble(status=400) as collector:
        settings = load_settings(home=tmp_path, otel_endpoint=collector.endpoint)
        assert export_run(settings, store, RUN_ID, timeout_s=0.5) is False
    assert collector.requests == []  # refused, so nothing was kept


def test_unknown_and_running_runs_are_not_exported(store: RunStore, tmp_path: Path) -> None:
    store.start_run("still-going", 9, "octo-org/shop", 8, "opened", None)
    with CollectorDouble() as collector:
        settings = load_settings(home=tmp_path, otel_endpoint=collector.endpoint)
        assert export_run(settings, store, "no-such-run") is False
        assert export_run(settings, store, "still-going") is False
    assert collector.requests == []


def test_trace_otlp_exports_from_the_cli(runner: CliRunner, home: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    record_run(RunStore(StateStore(load_settings().state_url()).engine))

    missing = runner.invoke(main, ["trace", RUN_ID[:6], "--otlp"])
    assert missing.exit_code == 2
    assert "NAVBOT_OTEL_ENDPOINT" in missing.output and "Traceback" not in missing.output

    with CollectorDouble() as collector:
        monkeypatch.setenv("NAVBOT_OTEL_ENDPOINT", collector.endpoint)
        exported = runner.invoke(main, ["trace", RUN_ID[:6], "--otlp"])
        url = f"{collector.endpoint}/v1/traces"
    assert exported.exit_code == 0, exported.output
    assert f"exported run {RUN_ID} to {url} as trace {trace_id_for(RUN_ID):032x}" in (
        exported.output)
    assert {s.name for s in collector.spans()} >= {"navbot.run", "navbot.stage.locate"}

    with CollectorDouble(status=400) as refusing:
        monkeypatch.setenv("NAVBOT_OTEL_ENDPOINT", refusing.endpoint)
        failed = runner.invoke(main, ["trace", RUN_ID, "--otlp"])
    assert failed.exit_code == 1
    assert f"could not export run {RUN_ID}" in failed.output
    assert "Traceback" not in failed.output


def test_the_worker_exports_each_finished_run(tmp_path: Path) -> None:
    from tests.apphost import SHOP, install_shop
    from tests.evalfixture import ISSUES
    from tests.github_double import GitHubDouble
    from tests.openai_double import OpenAIDouble
    from tests.test_resume import scripted_llm

    title, body = ISSUES["cart"].split("\n\n", 1)
    with (GitHubDouble() as github, OpenAIDouble(responder=scripted_llm(lambda: None)) as llm,
          CollectorDouble() as collector):
        host = install_shop(tmp_path, github, llm_base_url=llm.base_url,
                            llm_api_key="test-key", otel_endpoint=collector.endpoint)
        github.add_issue(SHOP, 5, title, body)
        host.accept("issues", github.issue_webhook(SHOP, 5, "opened"))
        host.queue.run_pending()
        received = collector.spans()

    runs = RunStore(host.state.engine)
    [run] = runs.recent_runs()
    assert run["status"] == "finished"
    stages = [c["stage"] for c in runs.checkpoints(run["run_id"])]
    calls = [e for e in runs.events(run["run_id"]) if e["kind"] == "llm_call"]
    assert calls, "the model was consulted"
    [root] = [s for s in received if s.name == "navbot.run"]
    assert root.attributes["navbot.run_id"] == run["run_id"]
    assert root.attributes["navbot.outcome"] == run["outcome"]
    assert root.attributes["navbot.issue"] == 5
    assert sorted(s.name for s in received if s.parent_span_id == root.span_id) == sorted(
        f"navbot.stage.{name}" for name in stages)
    llm_spans = [s for s in received if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(llm_spans) == len(calls)
    assert {s.trace_id for s in received} == {f"{trace_id_for(run['run_id']):032x}"}
