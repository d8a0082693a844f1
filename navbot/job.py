"""Jobs: what the webhook view (or the CLI) asks a worker to do, as a name and plain ids.

A job never carries GitHub objects or issue text: the worker reads the current state from
GitHub when it runs, so a job is small, serializable and safe to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

#: The `/navbot` commands; with an issue event (opened, edited, reopened) they are what can
#: start an analysis. `focus` carries a maintainer's note ("/navbot focus on the parser").
COMMANDS = ("run", "rerun", "help", "stop", "focus")

#: Who counts as a maintainer: their notes steer a run, and they may stop navbot.
MAINTAINER_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Job:
    """One unit of background work: a job name and its JSON-safe arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [a for a in JOB_ARGS.get(self.name, ()) if a not in self.args]
        if self.name not in JOB_ARGS or missing:
            raise ValueError(f"bad job {self.name!r}: missing {missing}")

    @property
    def key(self) -> str:
        """A stable description for logs and the failed-jobs list."""
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"{self.name}({shown})"
