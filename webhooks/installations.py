"""Installation events: the App was installed, removed, suspended, or given repositories."""

from __future__ import annotations

from typing import Any

from navbot.job import Job
from webhooks.router import router


def _installation_id(payload: dict[str, Any]) -> int:
    return int(payload["installation"]["id"])


@router.register("installation", "created")
def installation_created(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """A new installation: sync it (its repositories are listed by the worker)."""
    return [Job("sync_installation", {"installation_id": _installation_id(payload)})]


@router.register("installation", "deleted")
def installation_deleted(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """The App was uninstalled: forget the installation and its repositories."""
    return [Job("forget_installation", {"installation_id": _installation_id(payload)})]


@router.register("installation", "suspend", "unsuspend")
def installation_suspended(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """An installation was suspended or brought back."""
    return [Job("suspend_installation", {"installation_id": _installation_id(payload),
                                         "suspended": payload["action"] == "suspend"})]


def _repository_jobs(name: str, payload: dict[str, Any], key: str) -> list[Job]:
    installation_id = _installation_id(payload)
    return [Job(name, {"installation_id": installation_id, "repo_id": repo["id"],
                       "full_name": repo["full_name"]})
            for repo in payload.get(key) or []]


@router.register("installation_repositories", "added")
def repositories_added(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Repositories joined the installation: sync each."""
    return _repository_jobs("sync_repository", payload, "repositories_added")


@router.register("installation_repositories", "removed")
def repositories_removed(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Repositories left the installation: forget each."""
    return _repository_jobs("forget_repository", payload, "repositories_removed")
