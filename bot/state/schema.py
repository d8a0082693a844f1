"""The state database's schema: its tables, their creation, and text fit to store.

Shared by `bot.state.store` (deliveries, installations, repositories, threads, items),
`bot.state.oversight` (pauses, shadow answers) and `bot.state.job_state` (locks, job leases,
failed jobs); `bot.state.runs` creates its own tables the
same way (`create_tables`).
"""

from __future__ import annotations

import time
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
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

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
# The kill switch: one row per paused scope (a lower-cased owner/name, or "*" for all).
pauses = Table(
    "pauses", metadata,
    Column("scope", String(255), primary_key=True),
    Column("paused_at", Float, nullable=False),
    Column("paused_by", String(255)),
)
# The newest answer kept instead of posted on each issue, and its score once a fix merged.
shadow_answers = Table(
    "shadow_answers", metadata,
    Column("repo_id", BigInteger, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("would_post", Boolean, nullable=False),
    Column("files", JSON, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("about", Float, nullable=False),
    Column("lexical", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("analysed_at", Float, nullable=False),
    Column("fix", Integer),
    Column("hit", Boolean),
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
    Column("owner", String(64), nullable=False),  # the worker process (bot/state/leases.py)
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




def storable(text: str, limit: int) -> str:
    """`text` as any database stores it: lone surrogates and NUL escaped, `limit` chars."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe.replace("\x00", "\\x00")[:limit]


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout on every SQLite connection.

    WAL lets the web process record deliveries while a worker writes; the busy timeout turns
    brief lock contention into a wait instead of an error.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
