"""Killing a worker mid-run: the queued-again job resumes from the checkpoints, one comment.

The worker is a real `navbot worker` process on the SQLite queue, talking to the GitHub
double and the OpenAI double over HTTP. The strong model's suggestion request is held until
the process is killed, so the run dies after understand, locate and related completed. The
next worker, started at once, finds the dead worker's lease and queues the job again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.comment import MARKER
from bot.state.runs import RunStore
from tests.apphost import SHOP, install_shop
from tests.crashkit import kill, start_worker, stop, worker_env
from tests.evalfixture import ISSUES, cart_diff
from tests.github_double import GitHubDouble
from tests.openai_double import OpenAIDouble
from tests.waiting import wait_for


def scripted_llm(on_suggest: Callable[[], None]) -> Callable[[dict[str, Any]], str]:
    """Replies for each prompt by its system text; `on_suggest` runs before a suggestion."""
    def reply(request: dict[str, Any]) -> str:
        system = request["messages"][0]["content"]
        if "sketching a change" in system:
            on_suggest()
            return ("- Apply the cart's discount in `Cart.total`.\n"
                    f"```diff\n{cart_diff()}```\n")
        if "candidate" in system.lower():
            return "1\n2"
        return "Cart.total discount\napply_discount"
    return reply


def test_a_killed_worker_resumes_without_redoing_stages_or_commenting_twice(
        tmp_path: Path) -> None:
    suggesting, release = threading.Event(), threading.Event()

    def hold() -> None:
        suggesting.set()
        release.wait(60)

    with GitHubDouble() as github, OpenAIDouble(responder=scripted_llm(hold)) as llm:
        title, body = ISSUES["cart"].split("\n\n", 1)
        host = install_shop(tmp_path, github, llm_base_url=llm.base_url,
                            llm_api_key="test-key")
        github.add_issue(SHOP, 5, title, body)
        state, overrides = host.state, host.overrides
        host.accept("issues", github.issue_webhook(SHOP, 5, "opened"))  # queued, not run

        env = worker_env(overrides, github.private_key_pem)
        log = tmp_path / "worker.log"
        first = start_worker(env, log)
        try:
            assert suggesting.wait(60), log.read_text()
        finally:
            kill(first)
        release.set()

        runs = RunStore(state.engine)
        [run] = runs.recent_runs()
        done = {c["stage"] for c in runs.checkpoints(run["run_id"])}
        assert run["status"] == "running" and done == {"understand", "locate", "related"}
        assert not [c for c in github.comments(SHOP, 5) if MARKER in c["body"]]

        [lease] = state.leases()  # the job outlived its worker
        assert lease["name"] == "analyse_issue" and lease["attempts"] == 1
        second = start_worker(env, log)  # at once: the lease is not waited out
        try:
            wait_for(lambda: (runs.run(run["run_id"]) or {}).get("status") == "finished", 90,
                     "the resumed run")
        finally:
            assert stop(second) == 0
        comments = [c for c in github.comments(SHOP, 5) if MARKER in c["body"]]

    assert len(comments) == 1
    assert "shop/cart.py" in comments[0]["body"] and "```diff" in comments[0]["body"]
    starts = [e["stage"] for e in runs.events(run["run_id"]) if e["kind"] == "stage_start"]
    assert starts == ["understand", "locate", "related", "suggest", "suggest", "compose",
                      "post"]
    attempts = {c["stage"]: c["attempts"] for c in runs.checkpoints(run["run_id"])}
    assert attempts == dict.fromkeys(("understand", "locate", "related", "suggest", "compose",
                                      "post"), 1)
    assert runs.run(run["run_id"])["outcome"] == "create"  # type: ignore[index]
    assert state.leases() == []
