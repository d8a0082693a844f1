"""Shadow mode and the kill switch, end to end over the GitHub double, and their pure rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.decide import CommentPlan, hold_back, pause_reason, withhold_reason
from bot.pipeline import analysis, post
from bot.pipeline.model import Posted
from bot.pipeline.runner import Run
from bot.shadow import score, track_record
from bot.state.records import ALL_REPOSITORIES, ShadowAnswer
from navbot.cli.main import main
from tests.apphost import SHOP, AppHost, install_shop
from tests.evalfixture import ISSUES
from tests.github_double import GitHubDouble


@pytest.fixture
def shadow(tmp_path: Path) -> Iterator[AppHost]:
    """navbot installed on the shop in shadow mode, the installation default."""
    with GitHubDouble() as github:
        yield install_shop(tmp_path, github, default_mode="shadow")


@pytest.fixture
def auto(tmp_path: Path) -> Iterator[AppHost]:
    """navbot installed on the shop in auto mode."""
    with GitHubDouble() as github:
        yield install_shop(tmp_path, github)


def _open(host: AppHost, number: int, issue: str) -> None:
    title, body = ISSUES[issue].split("\n\n", 1)
    host.github.add_issue(SHOP, number, title, body)
    host.accept("issues", host.issue_event(number, "opened"))
    host.work()


def test_shadow_analyses_writes_nothing_and_a_merged_fix_scores_it(shadow: AppHost) -> None:
    _open(shadow, 7, "cart")
    assert shadow.comment_writes() == [] and shadow.comments(7) == []
    assert shadow.state.thread(shadow.repo_id, 7).outcome == "withheld"
    [kept] = shadow.state.shadow_answers(shadow.repo_id)
    assert kept.would_post and kept.files[0] == "shop/cart.py" and kept.hit is None
    assert kept.reason == "shadow mode"

    shadow.merge_pull(30, "Fix the cart total", "Fixes #7", ["shop/cart.py"])
    [scored] = shadow.state.shadow_answers(shadow.repo_id)
    assert (scored.fix, scored.hit) == (30, True)
    record = track_record(shadow.state.shadow_answers(shadow.repo_id))
    assert (record.would_post, record.scored_posts, record.right_posts) == (1, 1, 1)
    assert shadow.comment_writes() == []


def test_shadow_answers_only_a_maintainers_command(shadow: AppHost) -> None:
    _open(shadow, 8, "rounding")
    _, stranger = shadow.command(8, "/navbot", comment__author_association="NONE")
    shadow.accept("issue_comment", stranger)
    shadow.work()
    assert shadow.comment_writes() == []
    _, member = shadow.command(8, "/navbot", comment__author_association="MEMBER")
    shadow.accept("issue_comment", member)
    shadow.work()
    assert len(shadow.comments(8)) == 1


def test_pause_stops_every_write_and_resume_lets_the_next_run_post(auto: AppHost) -> None:
    assert auto.state.pause(ALL_REPOSITORIES)
    _open(auto, 9, "cart")
    _, payload = auto.command(9, "/navbot", comment__author_association="MEMBER")
    auto.accept("issue_comment", payload)
    auto.work()
    assert auto.github.writes == []  # no comment, and no 👀 reaction either
    [kept] = auto.state.shadow_answers(auto.repo_id)
    assert kept.reason.startswith("paused for every repository")

    assert auto.state.resume(ALL_REPOSITORIES) and not auto.state.resume(ALL_REPOSITORIES)
    _, again = auto.command(9, "/navbot rerun", comment__author_association="MEMBER")
    auto.accept("issue_comment", again)
    auto.work()
    assert len(auto.comments(9)) == 1


def test_a_pause_during_a_run_stops_its_post(auto: AppHost, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    def pause_then_post(run: Run) -> Posted:
        auto.state.pause(SHOP)  # `navbot pause octo-org/shop` after compose, before the post
        return post.run(run)

    stages = tuple(replace(spec, compute=pause_then_post) if spec.name == "post" else spec
                   for spec in analysis.STAGES)
    monkeypatch.setattr(analysis, "STAGES", stages)
    _open(auto, 10, "cart")
    assert auto.comment_writes() == []
    assert auto.state.thread(auto.repo_id, 10).outcome == "withheld"


def test_the_rules() -> None:
    assert pause_reason(True, set(), SHOP) == "paused by NAVBOT_PAUSED"
    assert pause_reason(False, {SHOP.lower()}, SHOP) == f"paused on {SHOP} (navbot pause {SHOP})"
    assert pause_reason(False, {"other/repo"}, SHOP) is None
    assert withhold_reason("auto", "opened", False, None) is None
    assert withhold_reason("shadow", "opened", True, None) == "shadow mode"
    assert withhold_reason("shadow", "run", False, None) == "shadow mode"
    assert withhold_reason("shadow", "run", True, None) is None
    assert withhold_reason("auto", "run", True, "paused") == "paused"
    create = CommentPlan("create", "first answer on this issue")
    assert hold_back(create, None) == create
    assert hold_back(create, "shadow mode").action == "withheld"
    assert hold_back(CommentPlan("silent", "x"), "shadow mode").action == "silent"


def test_score_counts_only_the_first_merged_fix_and_any_listed_file() -> None:
    answers = [ShadowAnswer(1, 5, "r5", True, ("a.py", "b.py"), 0.8, 0.9, True, "s", 1.0),
               ShadowAnswer(1, 6, "r6", False, ("c.py",), 0.3, 0.9, True, "s", 1.0)]
    pull = {"kind": "pr", "title": "A fix", "state": "closed"}
    items = [{**pull, "number": 12, "merged": True, "closes": [5], "files": ["b.py"]},
             {**pull, "number": 11, "merged": False, "closes": [6], "files": ["c.py"]},
             {**pull, "number": 13, "merged": True, "closes": [5], "files": ["z.py"]}]
    [scored] = score(answers, items)
    assert (scored.number, scored.fix, scored.hit) == (5, 12, True)
    record = track_record([scored, answers[1]])
    assert (record.would_post, record.silent, record.right_posts) == (1, 1, 1)
    assert "1 of the 1 would-be posts" in record.sentence()


def test_pause_and_resume_from_the_cli_and_status_shows_them(shadow: AppHost) -> None:
    home = ["--home", str(shadow.settings.home)]
    runner = CliRunner()
    paused = runner.invoke(main, [*home, "pause", SHOP])
    assert paused.exit_code == 0 and paused.output.startswith(f"paused {SHOP}")
    assert shadow.state.paused_scopes().keys() == {SHOP}
    _open(shadow, 11, "cart")
    status = runner.invoke(main, [*home, "status"])
    assert status.exit_code == 0, status.output
    assert f"paused: {SHOP} (no comment is written)" in status.output
    assert "in shadow: would have posted on 1 issue" in status.output
    runs = runner.invoke(main, [*home, "runs"])
    assert "withheld" in runs.output and f"(paused on {SHOP}" in runs.output
    assert f"{SHOP} in shadow: would have posted on 1 issue" in runs.output
    assert runner.invoke(main, [*home, "resume", SHOP]).output == f"resumed {SHOP}\n"
    assert runner.invoke(main, [*home, "resume", "--all"]).output == (
        "every repository was not paused\n")
    both = runner.invoke(main, [*home, "pause", SHOP, "--all"])
    assert both.exit_code == 2 and "not both or neither" in both.output
    bad = runner.invoke(main, [*home, "pause", "not a repo"])
    assert bad.exit_code == 2 and "is not owner/repo" in bad.output
