"""Webhook routing: which jobs each event queues, who may trigger them, /navbot commands.

Deliveries go through the real app and queue, with the helpers of test_webhooks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.state.job import Job
from tests.deliveries import load_payload
from tests.test_webhooks import SHOP, post
from webhooks.commands import parse_command
from webhooks.installations import MAX_REPOSITORY_JOBS
from webhooks.router import Router, is_from_bot

DOCS = {"installation_id": 42, "repo_id": 1296270, "full_name": "octo-org/docs"}
BOT = {"login": "navbot[bot]", "id": 9919, "type": "Bot"}

# Routing ----------------------------------------------------------------------------------

def analyse(trigger: str, delivery_id: str, **extra: Any) -> Job:
    """The analyse_issue job expected for issue #7."""
    return Job("analyse_issue", {**SHOP, "number": 7, "trigger": trigger,
                                 "delivery_id": delivery_id, **extra})


ROUTES = [
    ("issues", "issues.opened", {}, lambda d: [analyse("opened", d)]),
    ("issues", "issues.opened", {"action": "reopened"}, lambda d: [analyse("reopened", d)]),
    ("issues", "issues.edited", {}, lambda d: [analyse("edited", d)]),
    ("issues", "issues.edited", {"changes": {"title": {"from": "Discount broken"}}},
     lambda d: [analyse("edited", d)]),
    ("issues", "issues.edited", {"changes": {"milestone": {"from": None}}}, lambda d: []),
    ("issues", "issues.opened", {"action": "labeled"}, lambda d: []),
    ("issue_comment", "issue_comment.created", {},
     lambda d: [analyse("rerun", d, comment_id=2109876543, maintainer=True)]),
    # In shadow mode only a maintainer's command is answered on the issue: the job says whose.
    ("issue_comment", "issue_comment.created", {"comment__author_association": "NONE"},
     lambda d: [analyse("rerun", d, comment_id=2109876543, maintainer=False)]),
    ("issue_comment", "issue_comment.created", {"action": "edited"}, lambda d: []),
    ("issue_comment", "issue_comment.created", {"comment__body": "Thanks, looking at it."},
     lambda d: []),
    ("issue_comment", "issue_comment.created",
     {"issue__pull_request": {"url": "https://api.github.com/repos/octo-org/shop/pulls/7"}},
     lambda d: []),
    ("push", "push", {}, lambda d: [Job("sync_repository", SHOP)]),
    ("push", "push", {"sender": BOT}, lambda d: [Job("sync_repository", SHOP)]),
    ("push", "push", {"ref": "refs/heads/fix-discount-total"}, lambda d: []),
    ("push", "push", {"ref": "refs/tags/v1.4.0"}, lambda d: []),
    ("push", "push", {"deleted": True}, lambda d: []),
    ("push", "push", {"ref": "refs/heads/develop", "repository__default_branch": "develop"},
     lambda d: [Job("sync_repository", SHOP)]),
    ("installation", "installation.created", {},
     lambda d: [Job("sync_installation", {"installation_id": 42})]),
    ("installation", "installation.deleted", {},
     lambda d: [Job("forget_installation", {"installation_id": 42})]),
    ("installation", "installation.created", {"action": "suspend"},
     lambda d: [Job("suspend_installation", {"installation_id": 42, "suspended": True})]),
    ("installation", "installation.created", {"action": "unsuspend"},
     lambda d: [Job("suspend_installation", {"installation_id": 42, "suspended": False})]),
    ("installation", "installation.created", {"action": "new_permissions_accepted"},
     lambda d: []),
    ("installation_repositories", "installation_repositories.added", {},
     lambda d: [Job("sync_repository", SHOP), Job("sync_repository", DOCS)]),
    ("installation_repositories", "installation_repositories.added",
     {"action": "removed", "repositories_added": [],
      "repositories_removed": [{"id": 1296270, "name": "docs", "full_name": "octo-org/docs",
                                "private": True}]},
     lambda d: [Job("forget_repository", DOCS)]),
    ("pull_request", "pull_request.closed", {}, lambda d: [Job("ingest_history", SHOP)]),
    ("pull_request", "pull_request.closed", {"sender": BOT},
     lambda d: [Job("ingest_history", SHOP)]),
    ("pull_request", "pull_request.closed", {"pull_request__merged": False}, lambda d: []),
    ("pull_request", "pull_request.closed", {"action": "opened"}, lambda d: []),
    ("star", "issues.opened", {"action": "created"}, lambda d: []),
    ("projects_v2_item", "issues.opened", {"action": "reordered"}, lambda d: []),
    # Events navbot does not act on are not read beyond their action, whatever they hold.
    ("star", "issues.opened", {"action": "created", "issue": [], "installation": "x"},
     lambda d: []),
    ("issues", "issues.opened", {"action": "labeled", "issue": 42}, lambda d: []),
]


@pytest.mark.parametrize(("event", "name", "overrides", "expected"), ROUTES)
def test_each_event_routes_to_its_jobs(
        client: FlaskClient, webhook_secret: str, run_jobs: Callable[[], list[Job]],
        event: str, name: str, overrides: dict[str, Any],
        expected: Callable[[str], list[Job]]) -> None:
    reply = post(client, event, load_payload(name, **overrides), webhook_secret,
                 delivery_id="route-1")

    assert reply.status_code == 202
    assert reply.json == {"status": "queued", "jobs": [job.key for job in expected("route-1")]}
    assert run_jobs() == expected("route-1")


@pytest.mark.parametrize(("event", "name"), [
    ("issues", "issues.opened"), ("issues", "issues.edited"),
    ("issue_comment", "issue_comment.created"),
])
@pytest.mark.parametrize("sender", [
    BOT, {"login": "dependabot[bot]", "id": 49699333, "type": "User"}])
def test_bots_cannot_trigger_analysis(client: FlaskClient, webhook_secret: str,
                                      run_jobs: Callable[[], list[Job]], event: str,
                                      name: str, sender: dict[str, Any]) -> None:
    reply = post(client, event, load_payload(name, sender=sender), webhook_secret)

    assert (reply.status_code, reply.json["jobs"]) == (202, [])
    assert run_jobs() == []


def test_is_from_bot() -> None:
    assert is_from_bot({"sender": BOT})
    assert is_from_bot({"sender": {"login": "renovate[bot]", "type": "User"}})
    assert not is_from_bot(load_payload("issues.opened"))
    assert not is_from_bot({})


def test_router_runs_every_matching_handler_in_order() -> None:
    router = Router()
    sync = Job("sync_installation", {"installation_id": 1})
    forget = Job("forget_installation", {"installation_id": 1})
    router.register("installation")(lambda payload, delivery_id: [sync])
    router.register("installation", "deleted")(lambda payload, delivery_id: [forget])

    assert router.route("installation", {"action": "deleted"}, "d") == [sync, forget]
    assert router.route("installation", {"action": "created"}, "d") == [sync]
    assert router.route("push", {"action": "deleted"}, "d") == []


# Fan-out ----------------------------------------------------------------------------------

def _repositories(count: int) -> list[dict[str, Any]]:
    return [{"id": 5_000_000 + i, "node_id": f"R_{i}", "name": f"repo-{i}",
             "full_name": f"octo-org/repo-{i}", "private": True} for i in range(count)]


@pytest.mark.parametrize(("action", "key"), [("added", "repositories_added"),
                                             ("removed", "repositories_removed")])
@pytest.mark.parametrize("count", [MAX_REPOSITORY_JOBS + 1, 20_000])
def test_many_repositories_are_one_sync_of_the_installation(
        client: FlaskClient, webhook_secret: str, run_jobs: Callable[[], list[Job]],
        action: str, key: str, count: int) -> None:
    # The worker's sync_installation lists the installation's repositories through the API,
    # queues a sync of each and forgets those it no longer has.
    payload = load_payload("installation_repositories.added", action=action,
                           **{"repositories_added": [], key: _repositories(count)})

    reply = post(client, "installation_repositories", payload, webhook_secret)

    expected = [Job("sync_installation", {"installation_id": 42})]
    assert reply.json == {"status": "queued", "jobs": [job.key for job in expected]}
    assert run_jobs() == expected


def test_up_to_the_limit_each_repository_gets_its_job(
        client: FlaskClient, webhook_secret: str, run_jobs: Callable[[], list[Job]]) -> None:
    repos = _repositories(MAX_REPOSITORY_JOBS)
    payload = load_payload("installation_repositories.added", repositories_added=repos)

    post(client, "installation_repositories", payload, webhook_secret)

    assert run_jobs() == [
        Job("sync_repository", {"installation_id": 42, "repo_id": r["id"],
                                "full_name": r["full_name"]}) for r in repos]


def test_an_installation_with_many_repositories_is_one_job(
        client: FlaskClient, webhook_secret: str, run_jobs: Callable[[], list[Job]]) -> None:
    payload = load_payload("installation.created", repositories=_repositories(20_000))

    reply = post(client, "installation", payload, webhook_secret)

    assert reply.json["jobs"] == ["sync_installation(installation_id=42)"]
    assert run_jobs() == [Job("sync_installation", {"installation_id": 42})]


# Commands ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "command"), [
    ("/navbot", "run"),
    ("/navbot run", "run"),
    ("/navbot rerun", "rerun"),
    ("/navbot help", "help"),
    ("/navbot stop", "stop"),
    ("/navbot please look again", "help"),
    ("/NAVBOT Rerun", "rerun"),
    ("Thanks!\r\n\r\n  /navbot rerun now\r\n", "rerun"),
    ("/navbot stop\n/navbot rerun", "stop"),
    ("```\n/navbot rerun\n```\n/navbot help", "help"),
    ("~~~~ text\n/navbot rerun\n~~~\n/navbot stop\n~~~~", None),
    ("```\n/navbot rerun\n```", None),
    ("> /navbot rerun", None),
    (">/navbot rerun", None),
    ("Try `/navbot rerun` to refresh", None),
    ("foo /navbot rerun", None),
    ("/navbotx rerun", None),
    ("/navbot/rerun", None),
    ("", None),
])
def test_parse_command(body: str, command: str | None) -> None:
    assert parse_command(body) == command


@pytest.mark.parametrize(("commenter", "association", "stops"), [
    ({"login": "mallory", "id": 6666, "type": "User"}, "NONE", False),
    ({"login": "mallory", "id": 6666, "type": "User"}, "CONTRIBUTOR", False),
    ({"login": "alice", "id": 5831, "type": "User"}, "NONE", True),
    ({"login": "carol", "id": 8123, "type": "User"}, "COLLABORATOR", True),
    ({"login": "bob", "id": 7712, "type": "User"}, "MEMBER", True),
    ({"login": "octo-admin", "id": 1, "type": "User"}, "OWNER", True),
])
def test_stop_counts_only_from_the_author_or_maintainers(
        client: FlaskClient, webhook_secret: str, run_jobs: Callable[[], list[Job]],
        commenter: dict[str, Any], association: str, stops: bool) -> None:
    payload = load_payload("issue_comment.created", sender=commenter,
                           comment__user=commenter, comment__body="/navbot stop",
                           comment__author_association=association)

    post(client, "issue_comment", payload, webhook_secret, delivery_id="stop-1")

    maintainer = association in ("COLLABORATOR", "MEMBER", "OWNER")
    expected = ([analyse("stop", "stop-1", comment_id=2109876543, maintainer=maintainer)]
                if stops else [])
    assert run_jobs() == expected
