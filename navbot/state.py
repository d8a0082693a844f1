"""navbot's own durable state: deliveries seen, installations, repositories, the one comment
per issue, ingested issues and PRs, and jobs that failed for good.

SQLAlchemy Core over SQLite on the embedded default (`$NAVBOT_HOME/navbot.db`) or any URL in
`NAVBOT_DATABASE_URL` (Postgres at scale). This is an edge module: the only one that touches
that database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
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

from navbot.errors import StateError
from navbot.records import Thread

metadata = MetaData()

deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("action", String(64)),
    Column("received_at", Float, nullable=False),
)
installations = Table(
    "installations", metadata,
    Column("installation_id", BigInteger, primary_key=True),
    Column("account", String(255)),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False),
)
repositories = Table(
    "repositories", metadata,
    Column("repo_id", BigInteger, primary_key=True),
    Column("installation_id", BigInteger, nullable=False),
    Column("full_name", String(255), nullable=False),
    Column("default_branch", String(255)),
    Column("index_commit", String(64)),
    Column("indexed_at", Float),
    Column("history_cursor", String(64)),
    Column("config_error", Text),
    Column("updated_at", Float, nullable=False),
)
threads = Table(
    "issue_threads", metadata,
    Column("repo_id", BigInteger, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("comment_id", BigInteger),
    Column("text_hash", String(64)),
    Column("answer_hash", String(64)),
    Column("stopped", Boolean, nullable=False, default=False),
    Column("outcome", String(32)),
    Column("reason", Text),
    Column("confidence", Float),
    Column("thumbs_up", Integer, nullable=False, default=0),
    Column("thumbs_down", Integer, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)
items = Table(
    "github_items", metadata,
    Column("repo_id", BigInteger, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", String(64), nullable=False),
)
locks = Table(
    "locks", metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)
failed_jobs = Table(
    "failed_jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", Float, nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process record deliveries while a worker writes; the busy timeout
    # turns brief lock contention into a wait instead of an error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class StateStore:
    """The state database, with one method per question navbot asks of it."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                from pathlib import Path

                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            metadata.create_all(self.engine)
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
    def record_delivery(self, delivery_id: str, event_name: str, action: str | None) -> bool:
        """Remember a webhook delivery; False when it was seen before (a redelivery)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(deliveries).values(
                    delivery_id=delivery_id, event=event_name, action=action,
                    received_at=time.time()))
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StateError(f"cannot record delivery {delivery_id}: {exc}") from exc

    def forget_delivery(self, delivery_id: str) -> None:
        """Drop a delivery whose jobs could not be enqueued, so GitHub's redelivery counts."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(deliveries).where(deliveries.c.delivery_id == delivery_id))
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
        """Remove a repository with its threads and ingested items."""
        with self.engine.begin() as conn:
            for table in (repositories, threads, items):
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

    # Locks ---------------------------------------------------------------------------------
    def acquire_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take lock `name` for `owner` unless someone else holds it; expired locks are taken.

        Locks live in the database rather than in the queue so that they expire (a worker
        that died holding one does not block forever) on SQLite and Postgres alike.
        """
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(locks).where(and_(locks.c.name == name,
                                                      locks.c.expires_at < now)))
                conn.execute(insert(locks).values(name=name, owner=owner,
                                                  expires_at=now + ttl_s))
            return True
        except IntegrityError:
            return False

    def renew_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        """Push back the expiry of a lock `owner` holds; False if it lapsed to someone else."""
        with self.engine.begin() as conn:
            done = conn.execute(update(locks).where(and_(locks.c.name == name,
                                                         locks.c.owner == owner))
                                .values(expires_at=time.time() + ttl_s))
            return bool(done.rowcount)

    def release_lock(self, name: str, owner: str) -> None:
        """Release lock `name` if `owner` still holds it."""
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(and_(locks.c.name == name,
                                                  locks.c.owner == owner)))

    def clear_locks(self) -> int:
        """Drop every lock: only for a single-machine start, when no other worker runs."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(locks)).rowcount or 0)

    # Failed jobs ---------------------------------------------------------------------------
    def record_failure(self, job: str, error: str) -> None:
        """Keep a job that failed for good, so `navbot status` shows it."""
        with self.engine.begin() as conn:
            conn.execute(insert(failed_jobs).values(job=job, error=error[:2000],
                                                    failed_at=time.time()))

    def failures(self, limit: int = 20) -> Iterator[dict[str, Any]]:
        """The most recent failed jobs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(failed_jobs).order_by(failed_jobs.c.id.desc())
                                .limit(limit))
            yield from (dict(r._mapping) for r in rows.all())


def _redact(url: str) -> str:
    # Database URLs may carry a password; never print it.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, SQLAlchemyError):
        return "<unparsable database URL>"
