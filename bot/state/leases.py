"""Job leases: who holds a running job, and when a held job counts as abandoned.

A worker leases each job as it takes it (a row in the state database, `bot/state/store.py`),
renews its leases and locks from a heartbeat thread, and drops the lease only when the job
finished, failed for good or went back to the queue. A job whose worker died is therefore
never lost: its lease is found abandoned and the job queued again (`JobQueue.reclaim`). The
queue itself (huey) forgets a job the moment a worker takes it; the lease is what makes the
delivery at-least-once, and the jobs' idempotence (the comment's marker, the run's
checkpoints) is what keeps the effect exactly-once.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

#: A lease not renewed for this long is abandoned: its worker died or lost the database.
LEASE_S = 60.0
#: How often a worker renews its leases and locks (several renewals fit in one lease).
HEARTBEAT_S = LEASE_S / 4
#: How often a worker looks for abandoned leases of other workers.
RECLAIM_S = LEASE_S / 2
#: The owner of a lease whose job is in the queue: the queue holds it now.
QUEUED = ""
#: How long past its due time a queued job may wait before its lease counts as lost, when
#: the queue no longer holds its task (a worker took it and died before leasing it).
QUEUED_GRACE_S = 5 * LEASE_S
_HOST_CHARS = 40  # owners fit the 64 characters of the locks table's owner column


def this_host() -> str:
    """The host name as owners carry it."""
    return socket.gethostname()[:_HOST_CHARS]


def new_owner() -> str:
    """A lease owner for this process: host, pid and a random part (pids are reused)."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_process(owner: str) -> tuple[str, int] | None:
    """The (host, pid) an owner names, or None when it names none."""
    host, _, rest = owner.rpartition(":")
    host, _, pid = host.rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() and rest else None


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    stat = Path(f"/proc/{pid}/stat")
    try:
        # The state follows the command name in parentheses: "Z" is a zombie, dead already.
        return stat.read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): os.kill said it exists


def abandoned(owner: str, expires_at: float, now: float, host: str,
              alive: Callable[[int], bool], in_queue: bool = True) -> bool:
    """The one rule: a lease is abandoned when it lapsed, or its holder was a process of this
    host that is gone (a prompt restart then recovers at once, without waiting it out); a
    queued one only when it lapsed and the queue no longer holds its task (`in_queue`)."""
    if owner == QUEUED:
        return expires_at < now and not in_queue
    if expires_at < now:
        return True
    holder = owner_process(owner)
    return holder is not None and holder[0] == host and not alive(holder[1])


def exhausted(attempts: int, retries: int) -> bool:
    """Whether a job taken `attempts` times without ending (its worker died each time) has
    used up its retries: it fails for good instead of taking another worker down."""
    return attempts > retries
