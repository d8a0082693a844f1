"""The App end to end: signed webhooks → queue (huey on SQLite) → worker → clone, index,
ingest and analysis → the one comment, against the local GitHub double over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.state.runs import RunStore
from indexer.store import IndexStore
from navbot.cli.main import main
from retrieval.searcher import open_search
from retrieval.text import tokenize
from tests.apphost import INSTALLATION, SHOP, AppHost, install_shop
from tests.deliveries import load_payload
from tests.evalfixture import ISSUES
from tests.github_double import GitHubDouble


def push_gift_cards(app: AppHost) -> str:
    """Commit a new file to main, deliver the push and work; return the new head."""
    new_head = app.repo.commit("Gift cards", {"shop/giftcards.py": "def redeem(code):\n"
                                             "    '''Redeem a gift card.'''\n"})
    payload = load_payload("push", installation__id=INSTALLATION, repository__id=app.repo_id,
                           repository__full_name=SHOP, repository__default_branch="main",
                           ref="refs/heads/main", after=new_head)
    assert app.deliver("push", payload).status_code == 202
    app.work()
    return new_head


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppHost]:
    """navbot installed on octo-org/shop with its past fix, synced, embeddings on."""
    with GitHubDouble() as github:
        yield install_shop(tmp_path, github, history=True, embeddings=True)


def test_installation_clones_indexes_and_ingests(app: AppHost) -> None:
    row = app.state.repository(app.repo_id)
    assert row is not None
    assert row["index_commit"] == app.repo.git("rev-parse", "main")
    assert {i["number"] for i in app.state.items(app.repo_id)} == {3, 4}
    assert app.state.installations()[0]["account"] == "octo-org"
    # The clone came over HTTP with the installation token, which never touched the disk.
    assert app.github.requests_to("GET", r"^/git/octo-org/shop\.git/")
    clone = app.settings.clone_dir(SHOP)
    token = next(iter(app.github.tokens))
    assert all(token not in p.read_text(errors="ignore")
               for p in clone.rglob("*") if p.is_file() and p.stat().st_size < 1_000_000)


def test_opened_issue_gets_one_comment_and_edits_update_it(app: AppHost) -> None:
    title, body = ISSUES["cart"].split("\n\n", 1)
    app.github.add_issue(SHOP, 7, title, body)
    opened = app.issue_event(7, "opened")
    assert app.deliver("issues", opened, delivery_id="d-7").status_code == 202
    app.work()
    [comment] = app.comments(7)
    assert "shop/cart.py" in comment["body"]
    assert "#3" in comment["body"]  # the past issue fixed by PR #4
    assert "@" not in comment["body"].replace("@\u200b", "")

    # A redelivery is acknowledged and not processed again; a second delivery of the same
    # text analyses nothing either.
    assert app.deliver("issues", opened, delivery_id="d-7").status_code == 200
    assert app.deliver("issues", opened, delivery_id="d-7b").status_code == 202
    app.work()
    writes = len(app.github.writes)
    assert len(app.comments(7)) == 1

    # A cosmetic edit changes nothing.
    app.github.add_issue(SHOP, 7, title + "!", body.upper())
    edited = app.issue_event(7, "edited", changes={"body": {"from": body}})
    assert app.deliver("issues", edited).status_code == 202
    app.work()
    assert len(app.github.writes) == writes

    # A material edit that moves the answer edits the same comment in place.
    app.github.add_issue(SHOP, 7, title, ISSUES["emails"])
    assert app.deliver("issues", edited).status_code == 202
    app.work()
    [updated] = app.comments(7)
    assert updated["id"] == comment["id"]
    assert "shop/emails.py" in updated["body"]
    assert [w["action"] for w in app.github.writes[writes:]] == ["edit_comment"]


def test_forged_signature_enqueues_nothing(app: AppHost) -> None:
    app.github.add_issue(SHOP, 8, "Rounding", ISSUES["rounding"])
    response = app.deliver("issues", app.issue_event(8, "opened"), secret="not-the-secret")
    assert response.status_code == 401
    assert app.queue.depth() == 0
    assert app.work() == 0 and app.comments(8) == []


def test_unconfident_issue_stays_silent_until_asked(app: AppHost) -> None:
    app.github.add_issue(SHOP, 9, "Weather", "It rains a lot lately, any thoughts?")
    assert app.deliver("issues", app.issue_event(9, "opened")).status_code == 202
    app.work()
    assert app.comments(9) == []
    assert app.state.thread(app.repo_id, 9).outcome == "silent"

    command, payload = app.command(9, "/navbot help")
    assert app.deliver("issue_comment", payload).status_code == 202
    app.work()
    [answer] = app.comments(9)
    assert "/navbot stop" in answer["body"]
    reaction = next(w for w in app.github.writes if w["action"] == "react")
    assert reaction["comment_id"] == command and reaction["content"] == "eyes"


def test_stop_keeps_navbot_quiet_on_later_edits(app: AppHost) -> None:
    title, body = ISSUES["stock"].split("\n\n", 1)
    app.github.add_issue(SHOP, 10, title, body)
    # From the issue's author, who may stop navbot without being a maintainer.
    author = load_payload("issue_comment.created")["issue"]["user"]
    _, payload = app.command(10, "/navbot stop", comment__author_association="NONE",
                             comment__user=author)
    assert app.deliver("issue_comment", payload).status_code == 202
    app.work()
    assert app.state.thread(app.repo_id, 10).stopped
    app.github.add_issue(SHOP, 10, title, ISSUES["cart"])
    edited = app.issue_event(10, "edited", changes={"body": {"from": body}})
    assert app.deliver("issues", edited).status_code == 202
    app.work()
    assert app.comments(10) == []


def test_push_moves_the_index_forward(app: AppHost) -> None:
    new_head = push_gift_cards(app)
    row = app.state.repository(app.repo_id)
    assert row is not None and row["index_commit"] == new_head


def _graph(app: AppHost) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str]]]:
    store = IndexStore.for_path(app.settings, app.settings.clone_dir(SHOP))
    graph = store.load_graph()
    return dict(graph.nodes), {(u, v, kind) for u, v, kind, _ in graph.edges}


def test_merged_pull_requests_join_the_history_graph_and_survive_reindexing(app: AppHost) -> None:
    nodes, edges = _graph(app)
    assert nodes["pr:4"]["github"]["title"] == "Apply discounts in Cart.total"
    assert nodes["issue:3"]["github"]["state_reason"] == "completed"
    assert {("pr:4", "file:shop/cart.py", "modifies"), ("pr:4", "issue:3", "fixes"),
            ("author:@alice", "pr:4", "authored")} <= edges

    app.github.add_pull(SHOP, 5, "Gift cards lose their balance on refund",
                        "A refunded order never credits the gift card again.",
                        files=["shop/pricing.py", "docs/gone.md"])
    payload = load_payload("pull_request.closed", installation__id=INSTALLATION,
                           repository__id=app.repo_id, repository__full_name=SHOP,
                           number=5, pull_request__number=5, pull_request__merged=True)
    assert app.deliver("pull_request", payload).status_code == 202
    app.work()
    nodes, edges = _graph(app)
    assert ("pr:5", "file:shop/pricing.py", "modifies") in edges
    assert ("pr:5", "file:docs/gone.md", "modifies") not in edges  # not in the repository
    search, _ = open_search(app.settings, app.settings.clone_dir(SHOP))
    assert search.history is not None
    files, evidence = search.history.score(tokenize("gift card balance after a refund"))
    assert max(files, key=files.__getitem__) == "shop/pricing.py"
    assert evidence["shop/pricing.py"].startswith('changed by similar PR #5 "Gift cards')

    push_gift_cards(app)
    nodes, edges = _graph(app)
    assert nodes["pr:5"]["github"]["merged"] is True
    assert {("pr:4", "issue:3", "fixes"), ("pr:5", "file:shop/pricing.py", "modifies")} <= edges


def test_github_errors_and_rate_limits_are_survived(app: AppHost) -> None:
    title, body = ISSUES["rounding"].split("\n\n", 1)
    app.github.add_issue(SHOP, 11, title, body)
    app.github.fail_next("GET", r"/issues/11$", 500)
    app.github.fail_next("GET", r"/issues/11$", 429, headers={"Retry-After": "1"})
    app.github.fail_next("POST", r"/issues/11/comments$", 502)  # not retried blindly…
    assert app.deliver("issues", app.issue_event(11, "opened")).status_code == 202
    app.work()  # …but the job is, and it finds no comment yet, so it posts exactly one
    assert len(app.comments(11)) == 1
    assert "shop/pricing.py" in app.comments(11)[0]["body"]
    assert list(app.state.failures()) == []


def test_status_shows_config_errors_feedback_and_failures(app: AppHost) -> None:
    from click.testing import CliRunner

    from navbot.cli.main import main

    app.repo.commit("Configure navbot", {".github/navbot.yml": "mode: sometimes\n"})
    title, body = ISSUES["cart"].split("\n\n", 1)
    app.github.add_issue(SHOP, 12, title, body)
    assert app.deliver("issues", app.issue_event(12, "opened")).status_code == 202
    app.work()
    [comment] = app.comments(12)  # the invalid config fell back to the defaults (auto)
    app.github.add_reaction(comment["id"], "+1", user="alice")
    app.github.add_reaction(comment["id"], "+1", user="carol")
    _, payload = app.command(12, "/navbot rerun")
    assert app.deliver("issue_comment", payload).status_code == 202
    app.work()
    assert len(app.comments(12)) == 1
    app.state.record_failure("sync_repository(full_name=octo-org/gone)", "GitHubError: 404")

    result = CliRunner().invoke(main, ["--home", str(app.settings.home), "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    [repo] = status["repositories"]
    assert repo["full_name"] == SHOP and repo["index_commit"]
    assert "mode" in repo["config_error"]
    assert status["feedback"] == {"thumbs_up": 2, "thumbs_down": 0}
    assert status["queue"] == {"backend": "sqlite", "reachable": True, "depth": 0}
    assert status["failed_jobs"][0]["error"] == "GitHubError: 404"
    text = CliRunner().invoke(main, ["--home", str(app.settings.home), "status"]).output
    assert "invalid .github/navbot.yml" in text and "failed jobs: 1" in text


def test_uninstall_forgets_everything(app: AppHost) -> None:
    clone = app.settings.clone_dir(SHOP)
    assert clone.exists()
    payload = load_payload("installation.deleted", installation__id=INSTALLATION)
    assert app.deliver("installation", payload).status_code == 202
    app.work()
    assert not clone.exists()
    assert app.state.repositories() == [] and app.state.installations() == []
    assert not list((app.settings.home / "repos").iterdir())


FOREIGN_ISSUE = ("Matrix.det() is wrong for a symbolic tridiagonal matrix",
                 "```python\nfrom sympy import Matrix, symbols\nx = symbols('x')\n"
                 "M = Matrix([[x, 1, 0], [1, x, 1], [0, 1, x]])\nprint(M.det())\n```\n\n"
                 "Expected `x**3 - 2*x`, got `x**3 - x`. The Bareiss method seems to drop a "
                 "term when the pivot is symbolic.")
OFFTOPIC_ISSUES = {
    21: ("useEffect runs twice in development",
         "My component fetches data in useEffect with an empty dependency array and the "
         "request fires two times. React 18, StrictMode on. Is this expected?"),
    22: ("Printer driver crashes when printing PDFs",
         "Every time I print a PDF the HP driver crashes with error 0x0000011b on Windows 11. "
         "Reinstalling the driver did not help."),
    23: ("Please add a Code of Conduct", "Most projects have one now; it would make "
                                         "newcomers feel welcome."),
}


def test_issues_not_about_the_code_stay_silent_and_say_why_when_asked(app: AppHost) -> None:
    app.github.add_issue(SHOP, 20, *FOREIGN_ISSUE)
    for number, (title, body) in OFFTOPIC_ISSUES.items():
        app.github.add_issue(SHOP, number, title, body)
    for number in (20, *OFFTOPIC_ISSUES):
        assert app.deliver("issues", app.issue_event(number, "opened")).status_code == 202
    app.work()
    runs = {run["number"]: run for run in RunStore.for_settings(app.settings).recent_runs(
        20, SHOP) if run["status"] == "finished"}
    for number in (20, *OFFTOPIC_ISSUES):
        assert app.comments(number) == []
        assert app.state.thread(app.repo_id, number).outcome == "silent"
        assert runs[number]["reasons"]["files"].startswith(
            ("not about this code", "no term of the issue")), runs[number]["reasons"]
    assert not [w for w in app.github.writes if w["action"] in ("create_comment", "edit_comment")]
    listed = CliRunner().invoke(main, ["--home", str(app.settings.home), "runs", "--repo", SHOP])
    assert listed.exit_code == 0 and "silent" in listed.output
    assert "(not about this code: aboutness" in listed.output

    # Asked explicitly, navbot answers, saying plainly that it sees nothing of this code.
    _, payload = app.command(21, "/navbot")
    assert app.deliver("issue_comment", payload).status_code == 202
    app.work()
    [answer] = app.comments(21)
    assert "not think this issue is about this repository's code" in answer["body"]
    assert "Relevant files" not in answer["body"]


def test_focus_on_an_unconfident_issue_answers(app: AppHost) -> None:
    app.github.add_issue(SHOP, 24, "Weather", "It rains a lot lately, any thoughts?")
    assert app.deliver("issues", app.issue_event(24, "opened")).status_code == 202
    app.work()
    assert app.comments(24) == []
    command, payload = app.command(24, "/navbot focus the rounding of prices to cents")
    assert app.deliver("issue_comment", payload).status_code == 202
    app.work()
    [answer] = app.comments(24)  # it used to react with 👀 and then stay silent
    assert "navbot" in answer["body"]
    reaction = next(w for w in app.github.writes if w["action"] == "react")
    assert reaction["comment_id"] == command and reaction["content"] == "eyes"
