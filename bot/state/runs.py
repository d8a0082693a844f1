"""Analysis runs: their stage checkpoints, trace events and LLM token usage, in the state DB.

The pipeline (`bot/pipeline/`) writes a checkpoint after each stage, so a retried job resumes
where a crashed one stopped; the trace events say what each run saw and decided, for
`navbot runs` and `navbot trace`. Same database as `bot/state/store.py` (SQLite or
`NAVBOT_DATABASE_URL`); this module is the only one that touches these tables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from navbot.core.errors import StateError

if TYPE_CHECKING:
    from navbot.core.config import Settings

metadata = MetaData()

#: A run is running until it finishes (with an outcome) or fails (its job failed for good,
#: or the job found the issue no longer to be analysed).
RunStatus = Literal["running", "finished", "failed"]

runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("repo_id", BigInteger),
    Column("full_name", String(255), nullable=False),
    Column("number", Integer, nullable=False),
    Column("delivery_id", String(64)),
    Column("trigger", String(32), nullable=False),
    Column("job", JSON),  # the job's arguments, to queue it again if its worker died
    Column("status", String(32), nullable=False),  # a RunStatus
    Column("outcome", String(32)),  # create | edit | unchanged | silent | skipped | stopped
    Column("reasons", JSON),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("heartbeat_at", Float, nullable=False),
)
stages = Table(
    "run_stages", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("stage", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # done | failed
    Column("attempts", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("output", JSON),
    Column("error", Text),
)
events = Table(
    "run_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("stage", String(32)),
    Column("kind", String(32), nullable=False),
    Column("data", JSON, nullable=False),
)
usage = Table(
    "llm_usage", metadata,
    Column("repo", String(255), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("tokens", Integer, nullable=False),
)


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class RunStore:
    """Runs, checkpoints, trace events and daily LLM usage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        from bot.state.schema import create_tables

        try:
            create_tables(engine, metadata)
        except SQLAlchemyError as exc:
            raise StateError(f"cannot prepare the runs tables: {exc}") from None

    @classmethod
    def for_settings(cls, settings: Settings) -> RunStore:
        """The runs store of the state database `settings` name (SQLite or Postgres)."""
        from bot.state.store import StateStore

        return cls(StateStore(settings.state_url()).engine)

    # Runs --------------------------------------------------------------------------------
    def start_run(self, run_id: str, repo_id: int | None, full_name: str, number: int,
                  trigger: str, delivery_id: str | None, job: dict[str, Any] | None = None
                  ) -> bool:
        """Open run `run_id`, or resume it; returns False when it already finished."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).first()
            if row is None:
                conn.execute(insert(runs).values(
                    run_id=run_id, repo_id=repo_id, full_name=full_name, number=number,
                    trigger=trigger, delivery_id=delivery_id, job=job, status="running",
                    started_at=now, heartbeat_at=now))
                return True
            if row[0] == "finished":
                return False
            conn.execute(update(runs).where(runs.c.run_id == run_id)
                         .values(status="running", heartbeat_at=now))
            return True

    def heartbeat(self, run_id: str) -> None:
        """Note that the run is alive (a stage just ended)."""
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.run_id == run_id)
                         .values(heartbeat_at=time.time()))

    def finish_run(self, run_id: str, status: RunStatus, outcome: str | None,
                   reasons: dict[str, str]) -> None:
        """Close a run with its outcome and the reasons (gate decisions or the error)."""
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(
                status=status, outcome=outcome, reasons=reasons, finished_at=time.time()))

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's row, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
            return dict(row) if row else None

    def find_runs(self, prefix: str) -> list[str]:
        """Run ids starting with `prefix` (so a trace can be asked for by a short id)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs.c.run_id).where(runs.c.run_id.startswith(prefix))
                                .limit(5))
            return [r[0] for r in rows]

    def recent_runs(self, limit: int = 20, full_name: str | None = None
                    ) -> list[dict[str, Any]]:
        """The most recent runs, newest first."""
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
        if full_name is not None:
            query = query.where(runs.c.full_name == full_name)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def close_if_running(self, run_id: str, reason: str) -> bool:
        """Mark a run its job gave up on as failed, if it is still running; whether it was."""
        with self.engine.begin() as conn:
            done = conn.execute(update(runs).where(and_(
                runs.c.run_id == run_id, runs.c.status == "running")).values(
                status="failed", reasons={"job": reason}, finished_at=time.time()))
            return bool(done.rowcount)

    # Checkpoints ---------------------------------------------------------------------------
    def checkpoint(self, run_id: str, stage: str) -> dict[str, Any] | None:
        """A stage's saved result (status, output, error, attempts), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(stages).where(and_(
                stages.c.run_id == run_id, stages.c.stage == stage))).mappings().first()
            return dict(row) if row else None

    def save_checkpoint(self, run_id: str, stage: str, status: str, started_at: float,
                        output: Any = None, error: str | None = None) -> None:
        """Save a stage's result; the count of attempts goes up on each save."""
        key = and_(stages.c.run_id == run_id, stages.c.stage == stage)
        values = {"status": status, "started_at": started_at, "finished_at": time.time(),
                  "output": json.loads(json.dumps(output)), "error": error}
        with self.engine.begin() as conn:
            done = conn.execute(update(stages).where(key)
                                .values(attempts=stages.c.attempts + 1, **values))
            if done.rowcount == 0:
                conn.execute(insert(stages).values(run_id=run_id, stage=stage, attempts=1,
                                                   **values))

    def drop_checkpoints(self, run_id: str, names: list[str]) -> None:
        """Forget stage results that new information made stale."""
        with self.engine.begin() as conn:
            conn.execute(delete(stages).where(and_(stages.c.run_id == run_id,
                                                   stages.c.stage.in_(names))))

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]:
        """Every saved stage of a run, in the order they were first finished."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(stages).where(stages.c.run_id == run_id)
                                .order_by(stages.c.started_at))
            return [dict(r) for r in rows.mappings()]

    # Trace events -------------------------------------------------------------------------
    def add_event(self, run_id: str, stage: str | None, kind: str, data: dict[str, Any]
                  ) -> None:
        """Append one trace event (candidates, an LLM call, a gate decision…)."""
        with self.engine.begin() as conn:
            conn.execute(insert(events).values(run_id=run_id, at=time.time(), stage=stage,
                                               kind=kind, data=json.loads(json.dumps(data))))

    def events(self, run_id: str) -> Iterator[dict[str, Any]]:
        """A run's trace events in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(events).where(events.c.run_id == run_id)
                                .order_by(events.c.id)).mappings().all()
        for row in rows:
            yield dict(row)

    # Daily LLM usage (the UsageLedger of navbot/llm/client.py) -----------------------------
    def tokens_today(self, repo: str) -> int:
        """LLM tokens `repo` used today (UTC)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(func.coalesce(func.sum(usage.c.tokens), 0)).where(
                and_(usage.c.repo == repo, usage.c.day == _today()))).scalar_one()
            return int(value)

    def add_tokens(self, repo: str, tokens: int) -> None:
        """Count `tokens` against `repo`'s day."""
        key = and_(usage.c.repo == repo, usage.c.day == _today())
        with self.engine.begin() as conn:
            done = conn.execute(update(usage).where(key)
                                .values(tokens=usage.c.tokens + tokens))
            if done.rowcount == 0:
                conn.execute(insert(usage).values(repo=repo, day=_today(), tokens=tokens))


class StateLedger:
    """A `RunStore`'s daily LLM usage, the store opened on first use (a `UsageLedger`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runs: RunStore | None = None

    def _store(self) -> RunStore:
        if self._runs is None:
            self._runs = RunStore.for_settings(self.settings)
        return self._runs

    def tokens_today(self, repo: str) -> int:
        """Tokens `repo` used so far today."""
        return self._store().tokens_today(repo)

    def add_tokens(self, repo: str, tokens: int) -> None:
        """Count `tokens` more for `repo` today."""
        self._store().add_tokens(repo, tokens)
