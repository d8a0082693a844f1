"""navbot's own durable state: deliveries seen, installations, repositories, the one comment
per issue, ingested issues and PRs; through `bot.state.oversight`, pauses and shadow answers;
through `bot.state.job_state`, locks, job leases and jobs that failed for good (the tables
are in `bot.state.schema`).

SQLAlchemy Core over SQLite on the embedded default (`$NAVBOT_HOME/navbot.db`) or any URL in
`NAVBOT_DATABASE_URL` (Postgres at scale). With `bot.state.job_state`, this is the edge
module that touches that database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.state.job_state import JobState
from bot.state.oversight import OversightState
from bot.state.records import Thread
from bot.state.schema import (
    create_tables,
    deliveries,
    installations,
    items,
    metadata,
    pending_deliveries,
    repositories,
    shadow_answers,
    sqlite_pragmas,
    storable,
    threads,
)
from navbot.core.errors import StateError

#: How long a pending delivery is left to the request handling it: enqueueing takes
#: milliseconds, so a redelivery after this finds one whose process died.
PENDING_GRACE_S = 30.0


class StateStore(JobState, OversightState):
    """The state database, with one method per question navbot asks of it."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                from pathlib import Path

                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", sqlite_pragmas)
            create_tables(self.engine, metadata)
        except (SQLAlchemyError, OSError) as exc:
            raise StateError(f"cannot open navbot's state at {_redact(url)}: {exc}") from exc

    def reachable(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    # Deliveries -------------------------------------------------------------------------
    def record_delivery(self, delivery_id: str, event_name: str, action: str | None,
                        retry_pending_after_s: float = PENDING_GRACE_S) -> bool:
        """Record a webhook delivery as pending; whether its jobs are to be enqueued now.

        True the first time, and for a redelivery of one still pending after
        `retry_pending_after_s` (its process died before `finish_delivery`); False for a
        redelivery of one done or in progress. Of concurrent calls, exactly one gets True.
        """
        now = time.time()
        try:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(deliveries).values(
                        delivery_id=delivery_id, event=storable(event_name, 64),
                        action=None if action is None else storable(action, 64),
                        received_at=now))
                    conn.execute(insert(pending_deliveries).values(delivery_id=delivery_id,
                                                                   claimed_at=now))
                return True
            except IntegrityError:
                pass  # seen before: take it over only if it was left pending
            with self.engine.begin() as conn:
                # Compare and set: of two redeliveries at once, one moves `claimed_at`.
                taken = conn.execute(update(pending_deliveries).where(and_(
                    pending_deliveries.c.delivery_id == delivery_id,
                    pending_deliveries.c.claimed_at < now - retry_pending_after_s))
                    .values(claimed_at=now))
                return bool(taken.rowcount)
        except SQLAlchemyError as exc:
            raise StateError(f"cannot record delivery {delivery_id}: {exc}") from exc

    def finish_delivery(self, delivery_id: str) -> None:
        """Mark a delivery done: its jobs are enqueued, so every redelivery is a duplicate."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(pending_deliveries).where(
                    pending_deliveries.c.delivery_id == delivery_id))
        except SQLAlchemyError as exc:
            raise StateError(f"cannot finish delivery {delivery_id}: {exc}") from exc

    def forget_delivery(self, delivery_id: str) -> None:
        """Drop a delivery whose jobs could not be enqueued, so GitHub's redelivery counts."""
        try:
            with self.engine.begin() as conn:
                for table in (pending_deliveries, deliveries):
                    conn.execute(delete(table).where(table.c.delivery_id == delivery_id))
        except SQLAlchemyError as exc:
            raise StateError(f"cannot forget delivery {delivery_id}: {exc}") from exc

    def delivery_count(self) -> int:
        """How many deliveries were recorded."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(deliveries)).scalar_one())

    # Installations and repositories -----------------------------------------------------
    def save_installation(self, installation_id: int, account: str | None,
                          suspended: bool = False) -> None:
        """Record an installation (created, or suspended and back)."""
        values = {"account": account, "suspended": suspended, "updated_at": time.time()}
        with self.engine.begin() as conn:
            done = conn.execute(update(installations).where(
                installations.c.installation_id == installation_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(installations).values(installation_id=installation_id,
                                                          **values))

    def set_suspended(self, installation_id: int, suspended: bool) -> None:
        """Mark an installation suspended (its jobs do nothing) or active again."""
        with self.engine.begin() as conn:
            conn.execute(update(installations).where(
                installations.c.installation_id == installation_id).values(
                suspended=suspended, updated_at=time.time()))

    def is_suspended(self, installation_id: int) -> bool:
        """Whether the installation is suspended."""
        with self.engine.connect() as conn:
            value = conn.execute(select(installations.c.suspended).where(
                installations.c.installation_id == installation_id)).scalar()
        return bool(value)

    def forget_installation(self, installation_id: int) -> list[dict[str, Any]]:
        """Remove an installation and return the repositories it had."""
        repos = [r for r in self.repositories() if r["installation_id"] == installation_id]
        with self.engine.begin() as conn:
            conn.execute(delete(installations).where(
                installations.c.installation_id == installation_id))
        return repos

    def installations(self) -> list[dict[str, Any]]:
        """Every installation, as dicts."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(installations).order_by(installations.c.installation_id))
            return [dict(r._mapping) for r in rows]

    def save_repository(self, repo_id: int, installation_id: int, full_name: str,
                        **fields: Any) -> None:
        """Insert or update a repository row; `fields` are other columns to set."""
        values = {"installation_id": installation_id, "full_name": full_name,
                  "updated_at": time.time(), **fields}
        with self.engine.begin() as conn:
            done = conn.execute(update(repositories).where(
                repositories.c.repo_id == repo_id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(repositories).values(repo_id=repo_id, **values))

    def repository(self, repo_id: int) -> dict[str, Any] | None:
        """One repository row, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(repositories).where(
                repositories.c.repo_id == repo_id)).first()
        return dict(row._mapping) if row is not None else None

    def repositories(self) -> list[dict[str, Any]]:
        """Every repository row, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(repositories).order_by(repositories.c.full_name))
            return [dict(r._mapping) for r in rows]

    def forget_repository(self, repo_id: int) -> None:
        """Remove a repository with its threads, ingested items and shadow answers."""
        with self.engine.begin() as conn:
            for table in (repositories, threads, items, shadow_answers):
                conn.execute(delete(table).where(table.c.repo_id == repo_id))

    # Issue threads -----------------------------------------------------------------------
    def thread(self, repo_id: int, number: int) -> Thread:
        """What navbot remembers about an issue (an empty Thread when nothing)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(threads).where(and_(
                threads.c.repo_id == repo_id, threads.c.number == number))).first()
        if row is None:
            return Thread(repo_id, number)
        data = dict(row._mapping)
        data.pop("updated_at")
        return Thread(**data)

    def save_thread(self, thread: Thread) -> None:
        """Store an issue's thread as given."""
        values = {k: v for k, v in thread.__dict__.items() if k not in ("repo_id", "number")}
        values["updated_at"] = time.time()
        with self.engine.begin() as conn:
            done = conn.execute(update(threads).where(and_(
                threads.c.repo_id == thread.repo_id, threads.c.number == thread.number
            )).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(threads).values(repo_id=thread.repo_id,
                                                    number=thread.number, **values))

    def thread_outcomes(self) -> dict[str, int]:
        """How many issues ended in each outcome (posted, updated, silent, …)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(threads.c.outcome, func.count()).group_by(
                threads.c.outcome))
            return {str(outcome): int(n) for outcome, n in rows}

    def feedback(self) -> tuple[int, int]:
        """Total 👍 and 👎 read back from navbot's comments."""
        with self.engine.connect() as conn:
            up, down = conn.execute(select(func.coalesce(func.sum(threads.c.thumbs_up), 0),
                                           func.coalesce(func.sum(threads.c.thumbs_down), 0))
                                    ).one()
        return int(up), int(down)

    # Ingested issues and PRs -----------------------------------------------------------
    def save_items(self, repo_id: int, rows: Iterable[dict[str, Any]]) -> int:
        """Insert or replace ingested issues/PRs (each a JSON-safe dict with `number`)."""
        count = 0
        with self.engine.begin() as conn:
            for row in rows:
                key = and_(items.c.repo_id == repo_id, items.c.number == row["number"])
                data = json.loads(json.dumps(row, default=str))
                done = conn.execute(update(items).where(key).values(
                    data=data, updated_at=str(row["updated_at"])))
                if done.rowcount == 0:
                    conn.execute(insert(items).values(repo_id=repo_id, number=row["number"],
                                                      data=data,
                                                      updated_at=str(row["updated_at"])))
                count += 1
        return count

    def items(self, repo_id: int) -> list[dict[str, Any]]:
        """Every ingested issue and PR of a repository, by number."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(items.c.data).where(items.c.repo_id == repo_id)
                                .order_by(items.c.number))
            return [dict(r[0]) for r in rows]


def _redact(url: str) -> str:
    # Database URLs may carry a password; never print it.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, SQLAlchemyError):
        return "<unparsable database URL>"
