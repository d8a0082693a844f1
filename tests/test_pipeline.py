"""The checkpointed pipeline: stages in order, resume, independent failures, limits, notes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.pipeline import analysis
from bot.pipeline.analysis import STAGE_NAMES, analyse
from bot.pipeline.env import IndexedRepo, RunEnv, Thresholds
from bot.pipeline.model import Composed, Located
from bot.pipeline.runner import RunInputs, StageSpec
from bot.repo_config import RepoConfig
from bot.state.runs import RunStore
from bot.state.store import StateStore
from indexer.gitrepo import GitRepo
from indexer.store import IndexStore
from navbot.core.config import Settings, load_settings
from navbot.core.errors import RepositoryError
from retrieval.params import default_params
from retrieval.search_index import SearchIndex
from retrieval.searcher import open_search
from tests.comment_fake import InMemoryComments
from tests.evalfixture import ISSUES, build_eval_repo


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, SearchIndex]:
    """The eval shop repository, indexed once for these tests (lexical signals only)."""
    root = tmp_path_factory.mktemp("pipeline")
    build_eval_repo(root / "shop")
    settings = load_settings(home=root / "home", embeddings=False)
    search, _ = open_search(settings, root / "shop")
    return settings, root / "shop", search


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """Runs in a fresh state database."""
    return RunStore(StateStore(f"sqlite:///{tmp_path / 'state.db'}").engine)


def _env(shop: tuple[Settings, Path, SearchIndex], **overrides: Any) -> RunEnv:
    settings, path, search = shop
    commit = GitRepo(path).resolve_commit("HEAD")
    graph = IndexStore.for_path(settings, path).load_graph()
    values: dict[str, Any] = {
        "repo": IndexedRepo("octo-org/shop", "main", commit, 60.0, path),
        "search": lambda: search, "graph": lambda: graph, "config": RepoConfig(),
        "params": default_params(), "thresholds": Thresholds(0.3, 0.3, 0.45, "default"),
        "client": InMemoryComments()}
    values.update(overrides)
    return RunEnv(**values)


def _inputs(issue: str = "cart", run_id: str = "run-1", **extra: Any) -> RunInputs:
    title, body = ISSUES[issue].split("\n\n", 1)
    return RunInputs(run_id=run_id, full_name="octo-org/shop", number=7, trigger="opened",
                     title=title, body=body, **extra)


def _budget() -> Any:
    from navbot.llm.client import RunBudget

    return RunBudget(max_calls=4, max_tokens=10_000)


def _started(store: RunStore, run_id: str) -> list[str]:
    return [e["stage"] for e in store.events(run_id) if e["kind"] == "stage_start"]


def test_a_run_goes_through_every_stage_and_records_them(shop: Any, store: RunStore) -> None:
    comments = InMemoryComments()
    run = analyse(_inputs(), _env(shop, client=comments), store, _budget(), wall_s=60)
    assert run is not None
    assert _started(store, "run-1") == list(STAGE_NAMES)
    composed = run.output("compose", Composed)
    assert composed is not None and composed.answer.files[0].path == "shop/cart.py"
    assert "files" in composed.cleared
    assert composed.answer.symbols and composed.answer.symbols[0].path == "shop/cart.py"
    # What else may change comes from the graph: the cart's test imports it.
    assert any(a.kind == "test" for a in composed.answer.also)
    row = store.run("run-1")
    assert row is not None and row["status"] == "finished" and row["outcome"] == "create"
    assert "confidence" in row["reasons"]["files"]
    [body] = comments.bodies(7)
    assert "shop/cart.py" in body
    kinds = {e["kind"] for e in store.events("run-1")}
    assert {"candidates", "gates", "stage_end"} <= kinds
    # Finished runs are not run again.
    assert analyse(_inputs(), _env(shop), store, _budget(), 60) is None


def test_a_resumed_run_skips_the_stages_it_completed(shop: Any, store: RunStore) -> None:
    calls: list[str] = []
    original = analysis.STAGES

    def crash_in(name: str) -> tuple[StageSpec, ...]:
        def boom(run: Any) -> Any:
            raise KeyboardInterrupt  # like a killed process: nothing after it runs
        return tuple(StageSpec(s.name, s.output, boom) if s.name == name else
                     StageSpec(s.name, s.output, _counting(s.compute, s.name, calls), s.timed,
                               s.critical) for s in original)

    analysis.STAGES = crash_in("suggest")
    try:
        with pytest.raises(KeyboardInterrupt):
            analyse(_inputs(), _env(shop), store, _budget(), 60)
    finally:
        analysis.STAGES = original
    assert calls == ["understand", "locate", "related"]
    assert store.run("run-1")["status"] == "running"  # type: ignore[index]
    resumed = analyse(_inputs(), _env(shop), store, _budget(), 60)
    assert resumed is not None
    assert _started(store, "run-1") == ["understand", "locate", "related", "suggest",
                                        "suggest", "compose", "post"]
    located = resumed.output("locate", Located)
    assert located is not None and located.files[0].path == "shop/cart.py"
    stages = {s["stage"]: s for s in store.checkpoints("run-1")}
    assert stages["locate"]["attempts"] == 1 and stages["compose"]["status"] == "done"


def _counting(compute: Callable[[Any], Any], name: str, calls: list[str]
              ) -> Callable[[Any], Any]:
    def counted(run: Any) -> Any:
        calls.append(name)
        return compute(run)
    return counted


def test_a_failed_stage_leaves_the_others_to_answer(shop: Any, store: RunStore) -> None:
    def broken_graph() -> Any:
        raise RepositoryError("the index store is unreadable")

    run = analyse(_inputs(), _env(shop, graph=broken_graph), store, _budget(), 60)
    assert run is not None
    assert "suggest" in run.failures and "RepositoryError" in run.failures["suggest"]
    composed = run.output("compose", Composed)
    assert composed is not None and "files" in composed.cleared
    assert "changes" not in composed.cleared
    assert composed.gates["changes"].startswith("suggesting failed")
    reasons = store.run("run-1")["reasons"]  # type: ignore[index]
    assert "RepositoryError" in reasons["suggest failed"]


def test_nothing_confident_means_a_silent_run_with_reasons(shop: Any, store: RunStore) -> None:
    inputs = RunInputs(run_id="weather", full_name="octo-org/shop", number=9,
                       trigger="opened", title="What will the weather be tomorrow?",
                       body="Will it rain in Lisbon?")
    run = analyse(inputs, _env(shop), store, _budget(), 60)
    assert run is not None
    row = store.run("weather")
    assert row is not None and row["outcome"] == "silent"
    assert row["reasons"]["files"] and row["reasons"]["related"]


def test_past_the_wall_time_only_compose_runs(shop: Any, store: RunStore) -> None:
    run = analyse(_inputs(), _env(shop), store, _budget(), wall_s=-1)
    assert run is not None
    assert set(run.failures) == {"understand", "locate", "related", "suggest"}
    assert all("RunLimitError" in error for error in run.failures.values())
    composed = run.output("compose", Composed)
    assert composed is not None and composed.cleared == frozenset()


def test_a_maintainer_note_mid_run_restarts_with_it(shop: Any, store: RunStore) -> None:
    notes: list[str] = []
    started = time.time()

    def notes_after_locate() -> list[str]:
        if any(e["kind"] == "stage_end" and e["stage"] == "locate"
               for e in store.events("run-1")):
            notes[:] = ["Look at the pricing module: round_price is where it goes wrong."]
        return list(notes)

    run = analyse(_inputs("cart"), _env(shop, notes=notes_after_locate), store, _budget(), 60)
    assert run is not None
    feedback = [e for e in store.events("run-1") if e["kind"] == "feedback"]
    assert len(feedback) == 1 and feedback[0]["at"] >= started
    assert _started(store, "run-1").count("understand") == 2
    understood = run.outputs["understand"]
    assert understood.notes == tuple(notes)
    assert "round_price" in understood.text


def test_an_explicit_request_on_an_issue_not_about_the_code_says_so(
        shop: Any, store: RunStore) -> None:
    # A gate that finds nothing about this code (the bias alone: aboutness 0.007).
    params = dataclasses.replace(default_params(), about={"bias": -5.0},
                                 about_lexical={"bias": -5.0}, about_threshold=0.5)
    inputs = RunInputs(run_id="printer", full_name="octo-org/shop", number=11, trigger="run",
                       title="Printer prints blank pages",
                       body="Since the update my printer only prints blank pages from the "
                            "cart screen.", explicit=True)
    run = analyse(inputs, _env(shop, params=params), store, _budget(), 60)
    assert run is not None
    composed = run.output("compose", Composed)
    assert composed is not None and "files" not in composed.cleared
    assert composed.gates["files"] == "not about this code: aboutness 0.01 < 0.50"
    assert "files" not in composed.answer.sections
    assert composed.answer.note is not None
    assert "not think this issue is about this repository's code" in composed.answer.note
    assert "aboutness 0.01" in composed.answer.note


def test_an_explicit_request_below_the_confidence_gate_shows_leads(
        shop: Any, store: RunStore) -> None:
    thresholds = Thresholds(0.999, 0.999, 0.45, "default")
    run = analyse(_inputs(explicit=True), _env(shop, thresholds=thresholds), store, _budget(),
                  60)
    assert run is not None
    composed = run.output("compose", Composed)
    assert composed is not None and "files" not in composed.cleared
    assert "files" in composed.answer.sections and composed.answer.files
    assert composed.answer.note is not None and "not confident" in composed.answer.note
