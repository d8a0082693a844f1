"""Running the stages of one analysis with checkpoints, limits, feedback and a trace.

A stage's output is saved as JSON when it ends (done, or failed with a handled error), and a
run that is started again (the job retried after a crash) loads saved outputs instead of
running their stages again. Maintainers' comments made during the run are picked up at the
next stage boundary: they make the stages that already ran stale, so the run starts over
with them (at most MAX_RESTARTS times).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter

from navbot.core.config import RepoMode
from navbot.core.errors import JobBusyError, NavbotError, RateLimitedError, RunLimitError

if TYPE_CHECKING:
    from bot.pipeline.env import RunEnv
    from bot.state.runs import RunStore
    from navbot.llm.client import LLMClient, RunBudget

log = logging.getLogger("navbot.pipeline")

T = TypeVar("T")
MAX_RESTARTS = 2


@dataclass(frozen=True)
class RunInputs:
    """What a run is about: plain ids and the issue's text when the run started."""

    run_id: str
    full_name: str
    number: int
    trigger: str
    title: str
    body: str
    repo_id: int | None = None
    delivery_id: str | None = None
    explicit: bool = False  # a /navbot command: answer even when not confident
    show_help: bool = False
    mode: RepoMode = "auto"
    maintainer: bool = False  # the command's author is a maintainer


@dataclass(frozen=True)
class StageSpec:
    """A stage: its name, the type of its output and the function that computes it."""

    name: str
    output: type
    compute: Callable[[Run], Any]
    timed: bool = True  # composing and posting are cheap and must run even past the limit
    critical: bool = False  # its errors end the job, which the queue retries (and resumes)


@dataclass
class Run:
    """A run in progress: its inputs, the outputs so far, and where to trace."""

    inputs: RunInputs
    env: RunEnv
    store: RunStore
    budget: RunBudget
    deadline: float
    outputs: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    stage: str | None = None
    paused: str | None = None  # why writes are paused, once a stage boundary saw it

    def output(self, name: str, kind: type[T]) -> T | None:
        """The output of stage `name` if it succeeded."""
        value = self.outputs.get(name)
        return value if isinstance(value, kind) else None

    def trace(self, kind: str, data: dict[str, Any]) -> None:
        """Add an event to this run's trace, under the current stage."""
        self.store.add_event(self.inputs.run_id, self.stage, kind, data)

    def trace_llm(self, reply: Any) -> None:
        """Trace one LLM call: model, prompt version, tokens, latency and cache hit."""
        self.trace("llm_call", {name: getattr(reply, name) for name in (
            "model", "prompt_name", "prompt_version", "prompt_tokens", "completion_tokens",
            "latency_s", "cached")})

    def check_time(self) -> None:
        """Stop the run when it is past its wall-time limit."""
        if time.time() > self.deadline:
            raise RunLimitError(f"run {self.inputs.run_id} passed its wall-time limit")

    @property
    def llm(self) -> LLMClient | None:
        """The LLM client, or None when the run has none (the worker passes only usable ones)."""
        return self.env.llm


@functools.cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    """Building an adapter walks the whole type; each stage's is built once per process."""
    return TypeAdapter(kind)


def execute(run: Run, stages: Sequence[StageSpec]) -> None:
    """Run the stages in order, resuming from checkpoints; outputs land in `run.outputs`."""
    restarts = 0
    index = 0
    while index < len(stages):
        spec = stages[index]
        if index > 0 and restarts < MAX_RESTARTS and _feedback_arrived(run, stages):
            restarts += 1
            index = 0
            continue
        _check_pause(run)
        _run_stage(run, spec)
        index += 1


def _check_pause(run: Run) -> None:
    """Trace the kill switch the first time a stage boundary sees it; the run goes on, kept.

    The analysis continues as in shadow mode; the post stage asks again right before writing.
    """
    reason = run.env.paused()
    if reason is not None and run.paused is None:
        run.paused = reason
        run.trace("paused", {"reason": reason})
        log.info("run %s: %s; the answer will be kept, not posted", run.inputs.run_id, reason)


def _feedback_arrived(run: Run, stages: Sequence[StageSpec]) -> bool:
    """Whether maintainers commented since the run read the issue; if so, forget the stages."""
    understood = run.outputs.get(stages[0].name)
    if understood is None or "post" in run.outputs:
        return False
    notes = tuple(run.env.notes())
    if notes == tuple(getattr(understood, "notes", ())):
        return False
    run.stage = None
    run.trace("feedback", {"notes": list(notes)})
    log.info("run %s: maintainer feedback arrived; starting over with it", run.inputs.run_id)
    done = [s.name for s in stages if s.name in run.outputs or s.name in run.failures]
    run.store.drop_checkpoints(run.inputs.run_id, done)
    run.outputs.clear()
    run.failures.clear()
    return True


def _run_stage(run: Run, spec: StageSpec) -> None:
    run_id = run.inputs.run_id
    run.stage = spec.name
    saved = run.store.checkpoint(run_id, spec.name)
    if saved is not None:
        if saved["status"] == "done":
            run.outputs[spec.name] = _adapter(spec.output).validate_python(saved["output"])
        else:
            run.failures[spec.name] = str(saved["error"])
        run.trace("resumed", {"status": saved["status"]})
        return
    started = time.time()
    run.trace("stage_start", {})
    try:
        if spec.timed:
            run.check_time()
        output = spec.compute(run)
    except (JobBusyError, RateLimitedError):
        raise  # not the stage's fault: the queue runs the job again later
    except NavbotError as exc:
        if spec.critical:
            raise
        # A stage fails on its own: the others still post what cleared their gates.
        error = f"{type(exc).__name__}: {exc}"
        log.warning("run %s: stage %s failed: %s", run_id, spec.name, error)
        run.failures[spec.name] = error
        run.store.save_checkpoint(run_id, spec.name, "failed", started, error=error)
        run.trace("stage_end", {"status": "failed", "error": error,
                                "seconds": round(time.time() - started, 3)})
        return
    run.outputs[spec.name] = output
    run.store.save_checkpoint(run_id, spec.name, "done", started,
                              output=_adapter(spec.output).dump_python(output, mode="json"))
    run.store.heartbeat(run_id)
    run.env.keepalive()
    run.trace("stage_end", {"status": "done", "seconds": round(time.time() - started, 3)})
