"""Installation events: the App was installed, removed, suspended, or given repositories."""

from __future__ import annotations

from typing import Any

from bot.state.job import Job
from webhooks.payloads import InstallationEvent, InstallationRepositoriesEvent, Repository, parse
from webhooks.router import router

#: Up to this many repositories of one event get a job each. More become one
#: sync_installation, which lists the installation's repositories through the API in the
#: worker and queues their syncs (and forgets those it no longer has): GitHub waits only
#: 10 s for the answer, and an event can list tens of thousands of repositories.
MAX_REPOSITORY_JOBS = 100


def _installation_job(name: str, payload: dict[str, Any]) -> list[Job]:
    event = parse(InstallationEvent, payload)
    return [Job(name, {"installation_id": event.installation.id})]


@router.register("installation", "created")
def installation_created(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """A new installation: sync it (its repositories are listed by the worker)."""
    return _installation_job("sync_installation", payload)


@router.register("installation", "deleted")
def installation_deleted(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """The App was uninstalled: forget the installation and its repositories."""
    return _installation_job("forget_installation", payload)


@router.register("installation", "suspend", "unsuspend")
def installation_suspended(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """An installation was suspended or brought back."""
    event = parse(InstallationEvent, payload)
    return [Job("suspend_installation", {"installation_id": event.installation.id,
                                         "suspended": event.action == "suspend"})]


def repository_jobs(name: str, installation_id: int, repos: list[Repository]) -> list[Job]:
    """A `name` job per repository, or one sync of the installation when they are many."""
    if len(repos) > MAX_REPOSITORY_JOBS:
        return [Job("sync_installation", {"installation_id": installation_id})]
    return [Job(name, {"installation_id": installation_id, "repo_id": repo.id,
                       "full_name": repo.full_name})
            for repo in repos]


@router.register("installation_repositories", "added")
def repositories_added(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Repositories joined the installation: sync each."""
    event = parse(InstallationRepositoriesEvent, payload)
    return repository_jobs("sync_repository", event.installation.id,
                           event.repositories_added or [])


@router.register("installation_repositories", "removed")
def repositories_removed(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Repositories left the installation: forget each."""
    event = parse(InstallationRepositoriesEvent, payload)
    return repository_jobs("forget_repository", event.installation.id,
                           event.repositories_removed or [])
