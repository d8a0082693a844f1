"""Jobs: what the webhook view (or the CLI) asks a worker to do, as a name and plain ids.

A job never carries GitHub objects or issue text: the worker reads the current state from
GitHub when it runs, so a job is small, serializable and safe to repeat. Its arguments are
checked when it is made, so a job with an id of the wrong type never reaches the queue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from navbot.core.errors import NavbotError

#: Every job a worker knows, with the arguments it requires.
JOB_ARGS: dict[str, tuple[str, ...]] = {
    "sync_installation": ("installation_id",),
    "forget_installation": ("installation_id",),
    "suspend_installation": ("installation_id", "suspended"),
    "sync_repository": ("installation_id", "repo_id", "full_name"),
    "forget_repository": ("installation_id", "repo_id", "full_name"),
    "ingest_history": ("installation_id", "repo_id", "full_name"),
    "analyse_issue": ("installation_id", "repo_id", "full_name", "number", "trigger"),
}
#: Arguments a job may carry besides its required ones (None when absent).
JOB_OPTIONAL_ARGS: dict[str, tuple[str, ...]] = {
    # maintainer: whether a command's author is one (in shadow mode only theirs are answered)
    "analyse_issue": ("comment_id", "delivery_id", "maintainer"),
}

#: The `/navbot` commands; with an issue event (opened, edited, reopened) they are what can
#: start an analysis. `focus` carries a maintainer's note ("/navbot focus on the parser").
COMMANDS = ("run", "rerun", "help", "stop", "focus")
#: The issue events that start an analysis.
ISSUE_TRIGGERS = ("opened", "reopened", "edited")
#: Every trigger an `analyse_issue` job may name.
TRIGGERS = frozenset(ISSUE_TRIGGERS + COMMANDS)

#: Who counts as a maintainer: their notes steer a run, and they may stop navbot.
MAINTAINER_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

#: GitHub's ids are positive and fit a signed 64-bit column (BigInteger).
MAX_ID = 2**63 - 1
#: Issue numbers are stored in a 32-bit column.
MAX_NUMBER = 2**31 - 1
# owner/name as GitHub allows them; "." and ".." are refused as a name because full names
# become paths (the clone's folder).
FULL_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}")
#: GitHub's delivery ids are UUIDs; this is also what the webhook view accepts.
DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class JobError(NavbotError, ValueError):
    """A job's name or arguments are not what its worker takes."""


def _is_int(value: Any, high: int) -> bool:
    # bool is an int to Python, never an id to GitHub.
    return type(value) is int and 0 < value <= high


def _is_id(value: Any) -> bool:
    return _is_int(value, MAX_ID)


def _is_number(value: Any) -> bool:
    return _is_int(value, MAX_NUMBER)


def _is_full_name(value: Any) -> bool:
    return isinstance(value, str) and FULL_NAME.fullmatch(value) is not None


def _is_trigger(value: Any) -> bool:
    return isinstance(value, str) and value in TRIGGERS


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_delivery_id(value: Any) -> bool:
    return isinstance(value, str) and DELIVERY_ID.fullmatch(value) is not None


#: What each argument must be, by name; optional ones may also be None.
ARG_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "installation_id": (_is_id, "a positive 64-bit integer"),
    "repo_id": (_is_id, "a positive 64-bit integer"),
    "comment_id": (_is_id, "a positive 64-bit integer"),
    "number": (_is_number, "a positive 32-bit integer"),
    "full_name": (_is_full_name, "owner/name"),
    "trigger": (_is_trigger, f"one of {sorted(TRIGGERS)}"),
    "suspended": (_is_bool, "true or false"),
    "maintainer": (_is_bool, "true or false"),
    "delivery_id": (_is_delivery_id, "a delivery id"),
}


def job_problem(name: str, args: dict[str, Any]) -> str | None:
    """Why `name(args)` is not a job a worker can run, or None when it is."""
    if name not in JOB_ARGS:
        return f"unknown job {name!r}"
    required = JOB_ARGS[name]
    allowed = (*required, *JOB_OPTIONAL_ARGS.get(name, ()))
    missing = [a for a in required if a not in args]
    if missing:
        return f"missing {missing}"
    unknown = sorted(str(a) for a in args if a not in allowed)
    if unknown:
        return f"unknown argument(s) {unknown}"
    for arg, value in args.items():
        check, expected = ARG_CHECKS[arg]
        if not (check(value) or (value is None and arg not in required)):
            return f"{arg} must be {expected}"
    return None


@dataclass(frozen=True)
class Job:
    """One unit of background work: a job name and its JSON-safe arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = job_problem(self.name, self.args)
        if problem is not None:
            raise JobError(f"bad job {self.name!r}: {problem}")

    @property
    def key(self) -> str:
        """A stable description for logs and the failed-jobs list."""
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"{self.name}({shown})"
