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
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from navbot.errors import StateError
from navbot.leases import QUEUED
from navbot.records import Thread

metadata = MetaData()

deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("action", String(64)),
    Column("received_at", Float, nullable=False),
)
# A delivery recorded whose jobs are not known to be enqueued yet: a crash between the two
# leaves its row, so GitHub's redelivery is processed again (after a grace) instead of being
# taken as a duplicate. A table of its own, not a column, so that an existing database gets
# it from create_all; a delivery recorded before it existed counts as done.
pending_deliveries = Table(
    "pending_deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("claimed_at", Float, nullable=False),
)
#: How long a pending delivery is left to the request handling it: enqueueing takes
#: milliseconds, so a redelivery after this finds one whose process died.
PENDING_GRACE_S = 30.0
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
job_leases = Table(
    "job_leases", metadata,
    Column("task_id", String(64), primary_key=True),  # the queue's id, the same on a retry
    Column("name", String(64), nullable=False),
    Column("args", JSON, nullable=False),
    Column("owner", String(64), nullable=False),  # the worker process (navbot/leases.py)
    Column("expires_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("taken_at", Float, nullable=False),
)

#: How many times table creation is tried when another process creates the same tables.
CREATE_ATTEMPTS = 5


def create_tables(engine: Engine, tables: MetaData) -> None:
    """Create the missing tables of `tables`; safe when other processes do it at once.

    `create_all` checks, then creates: two processes starting on a fresh database (gunicorn's
    workers) both see no table and one fails with "already exists" (SQLite), or with a
    duplicate key in `pg_type` (Postgres). The loser's next check sees the winner's tables.
    """
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            tables.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            if attempt == CREATE_ATTEMPTS or not _created_concurrently(exc):
                raise
            time.sleep(0.05 * attempt)


def _created_concurrently(exc: SQLAlchemyError) -> bool:
    text = str(exc).lower()
    return ("already exists" in text or "pg_type_typname_nsp_index" in text
            or "database is locked" in text)


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
                        delivery_id=delivery_id, event=_storable(event_name, 64),
                        action=None if action is None else _storable(action, 64),
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

    def release_locks_of(self, owner: str) -> int:
        """Drop every lock `owner` holds: only for an owner known to be dead."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(locks).where(locks.c.owner == owner)).rowcount or 0)

    # Job leases ----------------------------------------------------------------------------
    def take_job(self, task_id: str, name: str, args: dict[str, Any], owner: str,
                 lease_s: float) -> int:
        """Lease a job to `owner` for `lease_s` seconds as it starts; returns its attempt.

        The row stays until the job finished or failed for good (`release_job`), so a job
        whose worker dies is found again (`lapsed_jobs`) instead of being lost with it.
        """
        now = time.time()
        values = {"name": name, "args": json.loads(json.dumps(args)), "owner": owner,
                  "expires_at": now + lease_s, "taken_at": now}
        try:
            with self.engine.begin() as conn:
                key = job_leases.c.task_id == task_id
                done = conn.execute(update(job_leases).where(key).values(
                    attempts=job_leases.c.attempts + 1, **values))
                if done.rowcount == 0:
                    conn.execute(insert(job_leases).values(task_id=task_id, attempts=1,
                                                           **values))
                return int(conn.execute(select(job_leases.c.attempts).where(key))
                           .scalar_one())
        except SQLAlchemyError as exc:
            raise StateError(f"cannot lease job {name}: {exc}") from exc

    def release_job(self, task_id: str) -> None:
        """Forget a job's lease: it finished, failed for good, or is queued again."""
        with self.engine.begin() as conn:
            conn.execute(delete(job_leases).where(job_leases.c.task_id == task_id))

    def renew_leases(self, owner: str, lease_s: float, task_ids: Iterable[str]) -> int:
        """Push back the expiry of every lock `owner` holds and of its leases of `task_ids`
        (the jobs it is running); how many leases."""
        expires = time.time() + lease_s
        try:
            with self.engine.begin() as conn:
                conn.execute(update(locks).where(locks.c.owner == owner)
                             .values(expires_at=expires))
                done = conn.execute(update(job_leases).where(and_(
                    job_leases.c.owner == owner, job_leases.c.task_id.in_(list(task_ids))))
                    .values(expires_at=expires))
                return int(done.rowcount or 0)
        except SQLAlchemyError as exc:
            raise StateError(f"cannot renew the leases of {owner}: {exc}") from exc

    def leases(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every job lease (of `owner`, if given), oldest first."""
        query = select(job_leases).order_by(job_leases.c.taken_at)
        if owner is not None:
            query = query.where(job_leases.c.owner == owner)
        try:
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(query).mappings()]
        except SQLAlchemyError as exc:
            raise StateError(f"cannot read the job leases: {exc}") from exc

    def requeue_lease(self, task_id: str, owner: str, returned: bool = False) -> None:
        """Mark a lease of `owner` as back in the queue (its job was queued again); a job
        `returned` by a stopping worker does not count the attempt."""
        values: dict[str, Any] = {"owner": QUEUED}
        if returned:
            values["attempts"] = job_leases.c.attempts - 1
        with self.engine.begin() as conn:
            conn.execute(update(job_leases).where(and_(
                job_leases.c.task_id == task_id, job_leases.c.owner == owner)).values(**values))

    def lock_owners(self) -> set[str]:
        """The owners of every lock held now."""
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(select(locks.c.owner).distinct())}

    def claim_lease(self, task_id: str, previous_owner: str, owner: str,
                    lease_s: float) -> bool:
        """Move a lapsed lease from `previous_owner` to `owner`; False if another got it."""
        with self.engine.begin() as conn:
            done = conn.execute(update(job_leases).where(and_(
                job_leases.c.task_id == task_id, job_leases.c.owner == previous_owner))
                .values(owner=owner, expires_at=time.time() + lease_s))
            return bool(done.rowcount)

    # Failed jobs ---------------------------------------------------------------------------
    def record_failure(self, job: str, error: str) -> None:
        """Keep a job that failed for good, so `navbot status` shows it.

        Both texts are stored escaped and capped, so no argument or message (a lone
        surrogate, a NUL, megabytes) keeps the failure out of the table.
        """
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(failed_jobs).values(
                    job=_storable(job, FAILURE_CHARS), error=_storable(error, FAILURE_CHARS),
                    failed_at=time.time()))
        except SQLAlchemyError as exc:
            raise StateError(f"cannot record the failure of a job: {exc}") from exc

    def failures(self, limit: int = 20) -> Iterator[dict[str, Any]]:
        """The most recent failed jobs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(failed_jobs).order_by(failed_jobs.c.id.desc())
                                .limit(limit))
            yield from (dict(r._mapping) for r in rows.all())

    def failure_count(self) -> int:
        """How many jobs failed for good, all told."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(failed_jobs)).scalar_one())


#: The longest job description and error message kept of a failed job.
FAILURE_CHARS = 2000


def _storable(text: str, limit: int) -> str:
    """`text` as any database stores it: lone surrogates and NUL escaped, `limit` chars."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe.replace("\x00", "\\x00")[:limit]


def _redact(url: str) -> str:
    # Database URLs may carry a password; never print it.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, SQLAlchemyError):
        return "<unparsable database URL>"
