"""The crash suite: real `navbot worker` processes killed at chosen moments of their jobs,
then started again at once. Every issue still gets exactly one comment, a push still moves
the index, and no run is left "running".

The moment is chosen by holding one request in the GitHub double (over real HTTP) and
killing the worker while it waits for the answer, so nothing depends on timing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.comment import MARKER
from navbot.cli.main import main
from tests.apphost import INSTALLATION, SHOP, AppHost, install_shop
from tests.crashkit import HoldingGitHub, kill, start_worker, stop, worker_env
from tests.deliveries import load_payload
from tests.evalfixture import ISSUES
from tests.gitfixture import GitFixture
from tests.waiting import wait_for


@dataclass
class Shop:
    """The App installed on the shop, and how to run workers against it."""

    github: HoldingGitHub
    host: AppHost
    env: dict[str, str]
    log: Path
    repo: GitFixture

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a `navbot worker`."""
        return start_worker(self.env, self.log, *args)

    def comments(self, number: int) -> list[dict[str, object]]:
        """navbot's comments on an issue."""
        return [c for c in self.github.comments(SHOP, number) if MARKER in str(c["body"])]

    def settled(self) -> bool:
        """No job is queued, scheduled or leased."""
        return self.host.queue.depth() == 0 and self.host.state.leases() == []

    def running_runs(self) -> list[str]:
        """The runs `navbot runs` shows as still running."""
        result = CliRunner().invoke(main, ["--home", str(self.host.settings.home), "runs",
                                           "--json", "--limit", "1000"])
        assert result.exit_code == 0, result.output
        return [r["run_id"] for r in json.loads(result.output) if r["status"] == "running"]

    def log_tail(self) -> str:
        """The end of the workers' log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The shop, installed, cloned and indexed once for the whole suite."""
    tmp_path = tmp_path_factory.mktemp("crash")
    with HoldingGitHub() as github:
        host = install_shop(tmp_path, github)
        yield Shop(github, host, worker_env(host.overrides, github.private_key_pem),
                   tmp_path / "workers.log", GitFixture(tmp_path / "shop"))


@dataclass(frozen=True)
class Moment:
    """Where in an issue's job the worker dies: the request it is waiting on."""

    method: str
    path: str  # `{n}` is the issue's number
    after: bool = False  # GitHub already acted on the request when the worker dies
    skip: int = 0  # matching requests let through before the one held
    command: bool = False  # the job comes from a `/navbot` comment, not an opened issue


MOMENTS = {
    # Before the run exists: the job itself must survive.
    "reading the issue": Moment("GET", r"/issues/{n}$"),
    "reading .github/navbot.yml": Moment("GET", r"/contents/\.github/navbot\.yml$"),
    "the 👀 reaction to a command": Moment("POST", r"/issues/comments/\d+/reactions$",
                                           command=True),
    # Mid-run: the maintainers' notes are read at each stage boundary; the second read comes
    # after understand and locate are checkpointed.
    "between pipeline stages": Moment("GET", r"/issues/{n}/comments$", skip=1),
    # The comment is on its way and not stored yet.
    "during the comment POST": Moment("POST", r"/issues/{n}/comments$"),
    # The comment is stored at GitHub, the worker never hears back.
    "after the comment POST": Moment("POST", r"/issues/{n}/comments$", after=True),
}
ISSUE_TEXTS = ["cart", "emails", "rounding", "stock", "rounding", "cart"]


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_worker_killed_mid_job_and_restarted_leaves_exactly_one_comment(
        shop: Shop, moment: str) -> None:
    spec = MOMENTS[moment]
    index = list(MOMENTS).index(moment)
    number = 30 + index
    title, body = ISSUES[ISSUE_TEXTS[index]].split("\n\n", 1)
    shop.github.add_issue(SHOP, number, title, body)
    hold = shop.github.hold(spec.method, spec.path.format(n=number), spec.after, spec.skip)
    if spec.command:
        comment_id = shop.github.add_comment(SHOP, number, "/navbot")
        shop.host.accept("issue_comment", load_payload(
            "issue_comment.created", installation__id=INSTALLATION,
            repository__id=shop.host.repo_id, repository__full_name=SHOP,
            issue__number=number, comment__id=comment_id, comment__body="/navbot"))
    else:
        shop.host.accept("issues", shop.github.issue_webhook(SHOP, number, "opened"))

    first = shop.worker()
    try:
        hold.wait_reached()
        kill(first)
    finally:
        hold.release()
    if spec.after:
        assert len(shop.comments(number)) == 1  # posted, but the worker never knew
    else:
        assert shop.comments(number) == []

    second = shop.worker()  # at once: the dead worker's lease is not waited out
    try:
        wait_for(lambda: shop.comments(number) and shop.settled(), 90,
                 f"the comment after a kill {moment}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the workers' log ends:\n{shop.log_tail()}") from None
    finally:
        assert stop(second) == 0

    [comment] = shop.comments(number)
    assert "shop/" in str(comment["body"])
    assert shop.running_runs() == []


def test_a_push_whose_fetch_was_killed_still_moves_the_index(shop: Shop) -> None:
    new_head = shop.repo.commit("Gift cards", {"shop/giftcards.py": "def redeem(code):\n"
                                               "    '''Redeem a gift card.'''\n"})
    hold = shop.github.hold("GET", r"^/git/octo-org/shop\.git/")
    shop.host.accept("push", load_payload(
        "push", installation__id=INSTALLATION, repository__id=shop.host.repo_id,
        repository__full_name=SHOP, repository__default_branch="main",
        ref="refs/heads/main", after=new_head))
    first = shop.worker()
    try:
        hold.wait_reached()
        kill(first)
    finally:
        hold.release()
    assert (shop.host.state.repository(shop.host.repo_id) or {})["index_commit"] != new_head

    second = shop.worker()
    try:
        wait_for(lambda: (shop.host.state.repository(shop.host.repo_id) or {})
                 .get("index_commit") == new_head and shop.settled(), 90,
                 "the index at the pushed commit")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the workers' log ends:\n{shop.log_tail()}") from None
    finally:
        assert stop(second) == 0


def test_sigterm_returns_an_unfinished_job_which_the_next_worker_finishes(
        shop: Shop) -> None:
    title, body = ISSUES["emails"].split("\n\n", 1)
    shop.github.add_issue(SHOP, 40, title, body)
    hold = shop.github.hold("GET", r"/issues/40/comments$")
    shop.host.accept("issues", shop.github.issue_webhook(SHOP, 40, "opened"))
    first = shop.worker("--grace", "0.5")
    try:
        hold.wait_reached()
        assert stop(first) == 0  # the job outlived the grace: it goes back to the queue
    finally:
        hold.release()
    assert "1 unfinished job(s) queued again" in shop.log.read_text()
    assert shop.host.queue.depth() == 1

    second = shop.worker()
    try:
        wait_for(lambda: shop.comments(40) and shop.settled(), 90, "the returned job's comment")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the workers' log ends:\n{shop.log_tail()}") from None
    finally:
        assert stop(second) == 0
    assert len(shop.comments(40)) == 1
    assert shop.running_runs() == []
