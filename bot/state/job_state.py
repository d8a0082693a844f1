"""The job side of the state database: locks, job leases and jobs that failed for good.

A mixin of `bot.state.store.StateStore` (it needs only its `engine`), kept apart so each module
holds one idea: what the queue and the worker record about running jobs
(`bot/state/leases.py` says when a lease is abandoned; `bot/state/queue.py` acts on it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.state.leases import QUEUED
from bot.state.schema import failed_jobs, job_leases, locks, storable
from navbot.core.errors import StateError

#: The longest job description and error message kept of a failed job.
FAILURE_CHARS = 2000


class JobState:
    """Locks, leases and failures, over the state database's `engine`."""

    engine: Engine

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

    def queue_job(self, task_id: str, name: str, args: dict[str, Any], due_at: float,
                  grace_s: float) -> None:
        """Note a job as in the queue until `due_at` plus `grace_s`, before the queue gets it.

        The queue forgets a task the moment a worker takes it; a worker killed before it
        leases the task would lose it. This row outlives that moment: a queued lease long
        past its time whose task the queue no longer holds is queued again (`reclaim`).
        """
        values = {"name": name, "args": json.loads(json.dumps(args)), "owner": QUEUED,
                  "expires_at": due_at + grace_s}
        try:
            with self.engine.begin() as conn:
                key = job_leases.c.task_id == task_id
                done = conn.execute(update(job_leases).where(key).values(**values))
                if done.rowcount == 0:
                    conn.execute(insert(job_leases).values(task_id=task_id, attempts=0,
                                                           taken_at=time.time(), **values))
        except SQLAlchemyError as exc:
            raise StateError(f"cannot note job {name} as queued: {exc}") from exc

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
                    job=storable(job, FAILURE_CHARS), error=storable(error, FAILURE_CHARS),
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
