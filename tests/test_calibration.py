"""`navbot calibrate`: past fixes as examples, hiding a fix from itself, replaying each
against the code before it (time windows, cuts, skips, a scratch index), the threshold table
and choice, and the command end to end on real repositories with fixes in their history."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.state.store import StateStore
from indexer.gitrepo import GitRepo
from indexer.graph import GraphData
from indexer.store import IndexStore
from navbot.cli.calibrate import format_calibration, resolve_target
from navbot.cli.main import main
from navbot.core.config import Settings, load_settings
from retrieval.calibration.examples import (
    ALREADY_FIXED,
    NO_EARLIER_CODE,
    NO_FILES_YET,
    NO_FIX_COMMIT,
    FixExample,
    Window,
    at_cut,
    describe,
    fix_examples,
    plan_windows,
    strip_references,
    time_windows,
)
from retrieval.calibration.replay import SCRATCH_DIR, replay, replay_before_fixes, scratch_settings
from retrieval.calibration.stored import (
    AT_INDEXED_COMMIT,
    BEFORE_EACH_FIX,
    calibration_file,
    load_calibration,
)
from retrieval.calibration.thresholds import (
    Choice,
    Outcome,
    choose_threshold,
    threshold_grid,
    threshold_table,
    wilson_lower_bound,
)
from retrieval.calibration.workflow import calibrate_repository
from retrieval.corpus import DOCUMENTS_DIR, DocumentCache
from retrieval.history_signal import HistorySignal
from retrieval.params import default_params
from retrieval.searcher import apply_github_history, open_search, search_dir
from retrieval.text import tokenize
from tests.evalfixture import build_eval_repo
from tests.gitfixture import GitFixture

SEARCHABLE = {"shop/cart.py", "shop/pricing.py", "shop/emails.py", "shop/inventory.py",
              "tests/test_cart.py", *(f"shop/m{i}.py" for i in range(25))}


class Graph:
    """A hand-built history graph: commits, PRs and issues with the edges the indexer makes."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[tuple[str, str, str, dict[str, Any]]] = []

    def commit(self, sha: str, message: str, stamp: int, files: Sequence[str],
               fixes: Sequence[str] = (), pr: int | None = None) -> str:
        node = f"commit:{sha}"
        self.nodes[node] = {"kind": "commit", "sha": sha, "title": message.split("\n")[0],
                            "message": message, "timestamp": stamp, "merge": False}
        self._link(node, files, fixes)
        if pr is not None:
            self.edges.append((node, f"pr:{pr}", "part_of", {}))
        return node

    def pull(self, number: int, files: Sequence[str], fixes: Sequence[str], title: str = "",
             body: str = "", merged: bool = True, merge_commit: str = "") -> None:
        node = f"pr:{number}"
        self.nodes[node] = {"kind": "pr", "number": number, "title": title,
                            "merge_commit": merge_commit, "squash": False,
                            "github": {"title": title, "body": body, "merged": merged}}
        self._link(node, files, fixes)

    def issue(self, target: str, title: str = "", body: str = "") -> None:
        number = int(target.rsplit("#", 1)[-1].removeprefix("issue:"))
        attrs: dict[str, Any] = {"kind": "issue", "number": number,
                                 "repo": target.split(":", 1)[1].split("#")[0]
                                 if "#" in target else None}
        if title:
            attrs["github"] = {"title": title, "body": body, "state": "closed"}
        self.nodes[target] = attrs

    def _link(self, node: str, files: Sequence[str], fixes: Sequence[str]) -> None:
        self.edges += [(node, f"file:{path}", "modifies", {}) for path in files]
        for target in fixes:
            self.nodes.setdefault(target, {})
            if not self.nodes[target]:
                self.issue(target)
            self.edges.append((node, target, "fixes", {}))

    def data(self) -> GraphData:
        return GraphData(list(self.nodes.items()), self.edges)


# Examples ----------------------------------------------------------------------------------
def test_commit_fixes_become_examples_newest_first() -> None:
    g = Graph()
    g.commit("a1", "Round prices half up\n\nround_price truncated. Fixes #3", 100,
             ["shop/pricing.py", "tests/test_cart.py"], ["issue:3"])
    g.commit("b2", "Cart total applies discounts; closes #5, fixes #6", 200,
             ["shop/cart.py"], ["issue:5", "issue:6"])
    g.commit("c3", "Test the cart, fixes #7", 300, ["tests/test_cart.py"], ["issue:7"])
    g.commit("d4", "Big refactor, fixes #8", 400, [f"shop/m{i}.py" for i in range(21)],
             ["issue:8"])
    g.commit("e5", "Fix the other project, closes owner/other#9", 500, ["shop/cart.py"],
             ["issue:owner/other#9"])
    g.commit("f6", "Reword the readme, fixes #10", 600, ["README.md"], ["issue:10"])
    g.commit("g7", "Reserve refuses orders beyond stock (#11)", 700, ["shop/inventory.py"],
             ["issue:11"])
    g.commit("h8", "Follow-up for #11: name the sku", 800,
             ["shop/inventory.py", "shop/emails.py"], ["issue:11"])
    g.commit("i9", "Unrelated cleanup", 900, ["shop/cart.py"])

    examples = fix_examples(g.data(), SEARCHABLE)

    # #7 only touched tests, #8 too many files, owner/other#9 is elsewhere, #10 no code.
    assert [e.issue for e in examples] == ["#11", "#6", "#5", "#3"]
    eleven, six, five, three = examples
    assert three.gold == ("shop/pricing.py",)  # the test file is not gold
    assert three.text == "Round prices half up\n\nround_price truncated."
    assert three.source == "commit message" and three.hide_shas == ("a1",)
    assert three.when == 100 and three.hide_prs == ()
    assert five.gold == six.gold == ("shop/cart.py",)
    assert five.text == six.text == "Cart total applies discounts"
    # Two commits fixed #11: gold is their union, the text the first one's, when the last.
    assert eleven.gold == ("shop/emails.py", "shop/inventory.py")
    assert eleven.text == "Reserve refuses orders beyond stock"
    assert eleven.hide_shas == ("g7", "h8") and eleven.when == 800


def test_pull_request_fixes_take_the_issue_text_github_knows() -> None:
    g = Graph()
    g.issue("issue:21", "Crash when a customer has no email",
            "KeyError: 'email' in send_receipt")
    g.commit("a1", "Guard the missing address", 100, ["shop/emails.py"], pr=20)
    g.commit("m20", "Merge pull request #20 from bob/email", 110, [])
    g.pull(20, ["shop/emails.py", "tests/test_cart.py"], ["issue:21"], "Guard emails",
           "Closes #21", merge_commit="m20")
    g.pull(23, ["shop/pricing.py"], ["issue:22"], "Round half up (#22)",
           "Fixes #22.\n\nround_price now rounds to the nearest cent.")
    g.pull(25, ["shop/cart.py"], ["issue:24"], "Never merged", "Fixes #24", merged=False)
    g.commit("b2", "Count stock per sku, fixes #26", 50, ["shop/inventory.py"], ["issue:26"])
    items = [{"number": 26, "kind": "issue", "title": "Stock goes negative", "body": "Reserve"},
             {"number": 23, "kind": "pr", "title": "Round half up", "body": ""}]

    examples = {e.issue: e for e in fix_examples(g.data(), SEARCHABLE, items)}

    assert set(examples) == {"#21", "#22", "#26"}  # #24's PR was closed without merging
    emails = examples["#21"]
    assert emails.source == "issue"
    assert emails.text == "Crash when a customer has no email\n\nKeyError: 'email' in send_receipt"
    assert emails.gold == ("shop/emails.py",)
    assert emails.hide_prs == (20,) and emails.hide_shas == ("m20",) and emails.when == 110
    rounding = examples["#22"]  # no issue text anywhere: the PR's description stands in
    assert rounding.source == "pull request"
    assert rounding.text == "Round half up\n\nround_price now rounds to the nearest cent."
    assert rounding.hide_prs == (23,) and rounding.when == 0
    stock = examples["#26"]  # ingested issue text wins over the commit message
    assert (stock.source, stock.text) == ("issue", "Stock goes negative\n\nReserve")


@pytest.mark.parametrize(("message", "expected"), [
    ("Add circles; fixes #3", "Add circles"),
    ("Merge pull request #7 from bob/feature\n\nDocument circles", "Document circles"),
    ("Round half up (#12)\n\nResolves: owner/shop#4 and fixes #5\n\n"
     "Signed-off-by: Ada <ada@example.com>", "Round half up"),
    ("Fix totals\n\nSee https://github.com/acme/shop/issues/31 for GH-9 details.",
     "Fix totals\n\nSee for details."),
])
def test_references_and_closing_phrases_are_stripped(message: str, expected: str) -> None:
    assert strip_references(message) == expected


def test_a_hidden_fix_cannot_find_itself() -> None:
    g = Graph()
    g.commit("a1", "Round prices half up at the cent, fixes #3", 100, ["shop/pricing.py"],
             ["issue:3"])
    g.commit("b2", "Cart discount codes", 200, ["shop/cart.py"])
    g.commit("c3", "Inventory cents rounding", 300, ["shop/inventory.py"], pr=40)
    g.pull(40, ["shop/inventory.py"], [], "Inventory cents rounding", "half up")
    graph = g.data()
    signal = HistorySignal.from_graph(graph, SEARCHABLE)
    [example] = fix_examples(graph, SEARCHABLE)
    tokens = tokenize(example.text)

    files, evidence = signal.score(tokens)
    assert "shop/pricing.py" in files and "commit a1" in evidence["shop/pricing.py"]
    assert [r.issues for r in signal.related(tokens)] == [["#3"]]

    hidden = signal.hiding(example.hide_shas, example.hide_prs)
    files, _ = hidden.score(tokens)
    assert "shop/pricing.py" not in files and "shop/inventory.py" in files
    assert hidden.related(tokens) == []
    assert hidden.changes is signal.changes and hidden.lexical is signal.lexical
    assert "shop/pricing.py" in signal.score(tokens)[0]  # the original is untouched
    # A pull request is hidden by its number.
    assert "shop/inventory.py" not in hidden.hiding((), (40,)).score(tokens)[0]


# The table and the choice --------------------------------------------------------------------
OUTCOMES = ([Outcome(0.8, True)] * 10 + [Outcome(0.5, True)] * 3 + [Outcome(0.5, False)] * 2
            + [Outcome(0.2, False)] * 5)


def test_threshold_table_counts_precision_and_coverage() -> None:
    table = threshold_table(OUTCOMES, [0.9, 0.1, 0.3, 0.6])
    assert [(r.threshold, r.posted, r.coverage) for r in table] == [
        (0.1, 20, 1.0), (0.3, 15, 0.75), (0.6, 10, 0.5), (0.9, 0, 0.0)]
    assert [r.precision for r in table] == [13 / 20, 13 / 15, 1.0, None]
    grid = threshold_grid([0.62])
    assert grid[0] == 0.05 and grid[-1] == 0.95 and 0.62 in grid and len(grid) == 20


def test_wilson_lower_bound_distrusts_small_samples() -> None:
    assert wilson_lower_bound(0, 0) is None
    assert wilson_lower_bound(10, 10) == pytest.approx(0.8589, abs=1e-4)
    assert wilson_lower_bound(100, 100) == pytest.approx(0.9838, abs=1e-4)
    assert wilson_lower_bound(13, 15) == pytest.approx(0.7177, abs=1e-4)
    assert wilson_lower_bound(90, 100) < 0.9 < (wilson_lower_bound(95, 100) or 0.0)


def test_choice_is_the_lowest_confidently_precise_threshold_or_the_fallback() -> None:
    table = threshold_table(OUTCOMES, [0.1, 0.3, 0.6, 0.9])
    # 10 right out of 10 at 0.6: precise, but not provably 90% precise on so few posts.
    assert [r.lower_bound for r in table][-1] is None
    fitted = choose_threshold(table, 0.85, 10, fallback=0.3)
    assert (fitted.threshold, fitted.precision, fitted.coverage, fitted.posted, fitted.fitted
            ) == (0.6, 1.0, 0.5, 10, True)
    # 13 of 15 (87%) at 0.3 passed the old rule for 85%; its lower bound (72%) does not.
    assert choose_threshold(table, 0.7, 10, fallback=0.9).threshold == 0.3

    fallback = choose_threshold(table, 0.9, 10, fallback=0.3)
    assert (fallback.threshold, fallback.posted, fallback.fitted) == (0.3, 15, False)
    assert fallback.precision == 13 / 15
    assert fallback.reason == ("no threshold reached 90% precision with 90% confidence over "
                               "at least 10 posts (best: 100% at 0.60 over 10 posts, at least "
                               "86% with 90% confidence)")
    silent = choose_threshold(threshold_table([Outcome(0.0, False)] * 4, [0.1, 0.5]),
                              fallback=0.5)
    assert not silent.fitted and silent.precision is None and silent.posted == 0
    assert silent.reason == "no past fix was confident enough to post at any threshold"
    few = choose_threshold(threshold_table([Outcome(0.7, True)] * 4, [0.5]), fallback=0.5)
    assert "fewer than 10 past fixes" in few.reason and few.precision == 1.0


def test_sentences_say_what_was_measured() -> None:
    fitted = Choice(0.62, 0.91, 0.48, 58, True, "")
    assert describe(fitted, 120, {"issue": 90, "commit message": 30}, "owner/repo") == (
        "When navbot posts files on owner/repo it is right 91% of the time; it would post on "
        "48% of issues (threshold 0.62, measured on 120 past fixes, each against the code "
        "before it, 30 of them from commit messages).")
    assert describe(fitted, 120, {"issue": 120}, "owner/repo").endswith(
        "(threshold 0.62, measured on 120 past fixes, each against the code before it).")
    assert describe(fitted, 1, {"issue": 1}).endswith(
        "(threshold 0.62, measured on 1 past fix, against the code before it).")
    assert describe(fitted, 120, {"issue": 120}, method=AT_INDEXED_COMMIT).endswith(
        "(threshold 0.62, measured on 120 past fixes at the indexed commit).")
    fallback = Choice(0.55, 0.7, 0.4, 8, False, "too few posts")
    assert describe(fallback, 20, {"commit message": 20}, "acme/shop") == (
        "navbot could not fit a threshold for acme/shop: too few posts. It keeps the default "
        "threshold 0.55, at which it was right 70% of the time and would post on 40% of "
        "issues (measured on 20 past fixes, each against the code before it, all of them "
        "from commit messages).")
    silent = Choice(0.55, None, 0.0, 0, False, "nothing posted")
    assert "would not have posted on any of them" in describe(silent, 3, {"pull request": 3})
    assert "no usable past fixes" in describe(silent, 0, {})


# Windows, cuts and skips ---------------------------------------------------------------------
def example(number: int, when: int, shas: Sequence[str],
            gold: Sequence[str] = ("shop/cart.py",)) -> FixExample:
    return FixExample(f"#{number}", f"issue {number}", "issue", tuple(gold), tuple(shas), (),
                      when)


def test_fixes_are_cut_into_time_windows_oldest_first() -> None:
    examples = [example(n, 100 * n, [f"s{n}"]) for n in range(1, 11)]
    assert [[e.issue for e in w] for w in time_windows(examples, 4)] == [
        ["#1", "#2"], ["#3", "#4", "#5"], ["#6", "#7"], ["#8", "#9", "#10"]]
    assert time_windows(examples, 1) == [tuple(examples)]
    assert [len(w) for w in time_windows(examples[:2], 4)] == [1, 1]  # never an empty one
    assert time_windows([], 3) == []


def test_each_window_is_cut_before_all_its_fix_commits() -> None:
    times = {"f0": 5, "f1": 10, "f2": 20, "f3": 30, "f4": 40, "f6": 60}
    parents = {"f1": "f0", "f2": "f1", "f3": "f2", "f4": "f3", "f6": "f4"}  # f0: the root

    def before_all(shas: list[str]) -> str | None:
        """As git would say: the newest common ancestor of the commits' parents."""
        def line(commit: str | None) -> set[str]:
            found = set()
            while commit is not None:
                found.add(commit)
                commit = parents.get(commit)
            return found
        heads = [parents[sha] for sha in shas if sha in parents]
        common = set.intersection(*map(line, heads)) if heads else set()
        return max(common, key=times.__getitem__, default=None)

    # Newest first, as fix_examples gives them. #3 was fixed by f1, then again by f4; git
    # knows no commit of #5 (a pull request merged elsewhere), so it cannot be placed.
    examples = [example(6, 60, ["f6"]), example(5, 50, ["m5"]), example(3, 40, ["f1", "f4"]),
                example(9, 30, ["f3"]), example(2, 20, ["f2"])]

    windows, unplaced = plan_windows(examples, 2, times, before_all)

    assert unplaced == 1
    assert [(w.cut, [e.issue for e in w.examples]) for w in windows] == [
        ("f1", ["#2", "#9"]),  # before f2 and f3
        ("f0", ["#3", "#6"]),  # before f1 too: #3's first fix, not the f4 that dates it
    ]
    [first] = plan_windows([example(1, 5, ["f0"])], 4, times, before_all)[0]
    assert first.cut is None  # the first commit has no code before it


def test_a_fix_already_in_the_code_or_without_its_files_yet_is_skipped() -> None:
    window = Window("c5", (
        example(1, 10, ["c1"]),  # a commit date that lies: c1 is already in c5
        example(2, 60, ["c6"], ["shop/cart.py", "shop/gifts.py"]),
        example(3, 70, ["c7"], ["shop/gifts.py"]),  # the fix created gifts.py
        example(4, 80, ["c8", "c2"]),  # a follow-up of a fix already in the code
        example(5, 90, ["c9"])))
    in_c5 = {"c1", "c2", "c3", "c4", "c5"}.__contains__

    kept, skipped = at_cut(window, in_c5, ["shop/cart.py", "shop/pricing.py"])

    assert [e.issue for e in kept] == ["#2", "#5"]
    assert kept[0].gold == ("shop/cart.py",)  # only what the search can find at the cut
    assert kept[1] == window.examples[4]
    assert skipped == {ALREADY_FIXED: 2, NO_FILES_YET: 1}
    assert at_cut(Window(None, window.examples), in_c5, ["shop/cart.py"]) == (
        [], {NO_EARLIER_CODE: 5})


def test_the_scratch_home_lives_in_the_repository_index_folder(tmp_path: Path) -> None:
    live = load_settings(home=tmp_path / "home", chroma_url="http://127.0.0.1:9",
                         database_url=f"sqlite:///{tmp_path / 'state.db'}")
    root = live.repo_dir("shop-1234")
    scratch = scratch_settings(live, root)
    assert scratch.home == root / SCRATCH_DIR
    assert scratch.repo_dir("shop-1234").is_relative_to(root)
    # Its state and questions stay under it too, whatever the live ones use.
    assert scratch.chroma_url is None and scratch.database_url is None
    assert Path(scratch.state_url().removeprefix("sqlite:///")).is_relative_to(root)
    assert scratch.llm_cache_path() == live.llm_cache_path()  # recorded calls are shared
    assert live.home == tmp_path / "home" and live.chroma_url == "http://127.0.0.1:9"


# The command end to end ----------------------------------------------------------------------
FIXES = [  # (message, file): each issue named the way a maintainer's fix commit would
    ("Cart.total ignores discounts\n\nThe cart total should apply the discount. Fixes #1",
     "shop/cart.py"),
    ("round_price rounds down instead of to the nearest cent\n\nFixes #2", "shop/pricing.py"),
    ("Stock.reserve lets stock levels go negative\n\nRaise OutOfStock when the warehouse "
     "holds too few. Fixes #3", "shop/inventory.py"),
    ("send_receipt crashes for a customer without an email\n\nCloses #4", "shop/emails.py"),
    ("Cart.add_item accepts a zero quantity (fixes #5)", "shop/cart.py"),
    ("apply_discount accepts a percent above 100, fixes #6", "shop/pricing.py"),
    ("Stock levels are not copied from the warehouse; fix #7", "shop/inventory.py"),
    ("The receipt email lists items without their quantity\n\nResolves #8", "shop/emails.py"),
    ("Cart items are shared between carts. Fixes #9", "shop/cart.py"),
    ("Discounted prices do not round to whole cents. Fixes #10", "shop/pricing.py"),
    ("Reserving an unknown sku in stock fails. Fixes #11", "shop/inventory.py"),
    ("The receipt mailer sends to the wrong customer. Fixes #12", "shop/emails.py"),
]


def git_log(path: Path) -> list[str]:
    """The shas of `path`'s HEAD history, oldest first."""
    return subprocess.run(["git", "-C", str(path), "rev-list", "--reverse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.split()


def build_fixed_repo(path: Path) -> Path:
    """The eval shop plus a dozen fixes that close issues, and two that cannot be examples."""
    build_eval_repo(path)
    repo = GitFixture(path)
    repo._tick = 100
    for n, (message, name) in enumerate(FIXES, start=1):
        text = (path / name).read_text()
        repo.commit(message, {name: f"{text}\n# reviewed in round {n}\n"})
    repo.commit("Test the cart total; fixes #13", {"tests/test_cart.py": "# more tests\n"})
    repo.commit("Reword the readme, fixes #14", {"README.md": "# shop\n\nReworded.\n"})
    return path


@pytest.fixture
def fast(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on the test's home without embeddings, for the command and direct calls."""
    monkeypatch.setenv("NAVBOT_EMBEDDINGS", "false")
    return load_settings(home=home)


def test_calibrate_a_local_repository(runner: CliRunner, fast: Settings, tmp_path: Path) -> None:
    shop = build_fixed_repo(tmp_path / "shop")
    result = runner.invoke(main, ["calibrate", str(shop)])
    assert result.exit_code == 0, result.output

    stored = calibration_file(fast, shop)
    saved = json.loads(stored.read_text())
    assert saved["examples"] == len(FIXES) and saved["sources"] == {"commit message": 12}
    assert saved["commit"] == subprocess.run(["git", "-C", str(shop), "rev-parse", "HEAD"],
                                             capture_output=True, text=True).stdout.strip()
    assert saved["params_version"] == default_params().version
    assert result.output.startswith(saved["sentence"] + "\n")
    assert f"stored in {stored}" in result.output
    assert ("measured on 12 past fixes, each against the code before it, all of them from "
            "commit messages") in saved["sentence"]
    # Four windows of three fixes, each searched before the first of them.
    history = git_log(shop)
    fixes, before_fixes = history[-14:-2], history[-15]
    assert saved["method"] == "before each fix" and saved["skipped"] == {}
    assert saved["windows"] == [
        {"cut": cut, "replayed": 3, "skipped": {}}
        for cut in (before_fixes, fixes[2], fixes[5], fixes[8])]
    assert "replayed before each fix, in 4 time windows\n" in result.output
    rows = {row["threshold"]: row for row in saved["table"]}
    always = rows[0.05]
    # The fixes that name the code (`Cart.total`, `round_price`, …) clear the aboutness gate
    # even without embeddings (this test runs without); the prose-only ones do not.
    assert always["coverage"] >= 5 / 12 and always["precision"] >= 0.75
    assert all(row["false_posts"] == 0 and row["negatives"] == 100 for row in rows.values())
    chosen = rows[saved["threshold"]]
    assert (chosen["precision"], chosen["posted"]) == (saved["precision"], saved["posted"])
    if saved["fitted"]:
        assert saved["precision"] >= 0.9 and saved["posted"] >= 10
        assert rows[saved["threshold"]]["lower_bound"] >= 0.9
        assert not any(r["lower_bound"] is not None and r["lower_bound"] >= 0.9
                       and r["posted"] >= 10 for t, r in rows.items() if t < saved["threshold"])
    else:
        assert saved["threshold"] == default_params().post_threshold
        assert saved["reason"] in saved["sentence"]
    loaded = load_calibration(fast, shop)
    assert loaded is not None and loaded.to_json() == saved


def test_a_lenient_target_fits_and_limit_takes_the_newest(fast: Settings, tmp_path: Path
                                                          ) -> None:
    shop = build_fixed_repo(tmp_path / "shop")
    # The newest eight are mostly prose, which the aboutness gate keeps silent without
    # embeddings: two of them name the code and post.
    calibration = calibrate_repository(fast, resolve_target(fast, str(shop)), limit=8,
                                       target_precision=0.5, min_posted=2)
    assert calibration.examples == 8 and calibration.fitted
    assert calibration.precision is not None and calibration.precision >= 0.5
    assert calibration.sentence.startswith("When navbot posts files on shop it is right ")
    assert "measured on 8 past fixes" in calibration.sentence


def test_calibrate_an_app_repository_uses_its_issues(runner: CliRunner, fast: Settings,
                                                     tmp_path: Path) -> None:
    shop = build_fixed_repo(tmp_path / "shop")
    clone = fast.clone_dir("acme/shop")
    clone.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(shop), str(clone)], check=True)
    state = StateStore(fast.state_url())
    state.save_repository(7, 1, "acme/shop")
    state.save_items(7, [{"number": 2, "kind": "issue", "title": "Prices lose a cent",
                          "body": "round_price(2.675) gives 2.67", "updated_at": "2024-01-01"}])

    result = runner.invoke(main, ["calibrate", "Acme/Shop", "--json", "--limit", "20",
                                  "--windows", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["method"] == BEFORE_EACH_FIX
    assert report["windows"] == [{"cut": git_log(shop)[-15], "replayed": 12, "skipped": {}}]
    assert report["repository"] == "acme/shop" and report["path"] == str(clone)
    assert report["sources"] == {"issue": 1, "commit message": 11}
    assert report["stored"] == str(calibration_file(fast, clone))
    assert "11 of them from commit messages" in report["sentence"]
    loaded = load_calibration(fast, clone)
    assert loaded is not None and loaded.threshold == report["threshold"]


def test_bad_targets_are_clean_errors(runner: CliRunner, fast: Settings, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    unfixed = tmp_path / "unfixed"
    build_eval_repo(unfixed)
    first = tmp_path / "first"  # its only fix is its first commit: no code came before it
    GitFixture(first).commit("Add the cart; fixes #1", {"shop/cart.py": "def total():\n"
                                                                         "    return 0\n"})
    cases = {
        str(plain): "not a git repository",
        "nobody/nothing": "not a repository the App is installed on",
        "no such thing": "not an owner/repo name",
        str(unfixed): "no usable past fixes",
        str(first): "none of its 1 past fixes could be replayed against the code before it "
                    "(no code before the fix: 1)",
    }
    for target, message in cases.items():
        result = runner.invoke(main, ["calibrate", target])
        assert result.exit_code != 0, target
        assert result.output.startswith("navbot: error: ") and message in result.output, \
            result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert load_calibration(fast, unfixed) is None
    assert load_calibration(fast, tmp_path / "missing") is None


def test_lying_dates_do_not_move_a_cut_past_a_fix_and_new_files_are_skipped(
        fast: Settings, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shas = build_eval_repo(shop)
    repo = GitFixture(shop)
    repo._tick = 100
    pricing, cart, inventory = ((shop / "shop" / name).read_text()
                                for name in ("pricing.py", "cart.py", "inventory.py"))
    rounding = repo.commit("round_price rounds down instead of to the nearest cent. Fixes #1",
                           {"shop/pricing.py": pricing + "\n# half up\n"})
    repo.commit("Cart.total ignores discounts. Fixes #2",
                           {"shop/cart.py": cart + "\n# discounted\n"})
    gifts = repo.commit("A gift card cannot be redeemed. Fixes #3", {
        "shop/gifts.py": '"""Gift cards."""\n\n\ndef redeem(card):\n    return card\n'})
    repo._tick = 50  # a commit date that lies: older than #1's fix though it came after
    repo.commit("Stock.reserve lets stock levels go negative. Fixes #4",
                {"shop/inventory.py": inventory + "\n# never negative\n"})
    events: list[tuple[str, int, int]] = []

    calibration = calibrate_repository(fast, resolve_target(fast, str(shop)), min_posted=1,
                                       windows=2, progress=lambda *event: events.append(event))

    # Oldest first by date: #4 (its date lies), #1 | #2, #3. The first window is cut before
    # both its fixes in history, not just before #4's (which would hold #1's fix already).
    assert calibration.windows == [
        {"cut": shas["stock"], "replayed": 2, "skipped": {}},
        {"cut": rounding, "replayed": 1, "skipped": {NO_FILES_YET: 1}},  # no gifts.py yet
    ]
    assert GitRepo(shop).is_ancestor(rounding, gifts)  # a cut at #4's parent would hold #1
    assert calibration.skipped == {NO_FILES_YET: 1}
    assert calibration.examples == 3 and calibration.sources == {"commit message": 3}
    assert "measured on 3 past fixes, each against the code before it" in calibration.sentence
    stored = calibration_file(fast, shop)
    assert ("replayed before each fix, in 2 time windows; skipped its files did not exist "
            "yet: 1") in format_calibration(calibration, stored)
    replays = [done for stage, done, _ in events if stage == "calibrate"]
    assert replays == sorted(replays) and events[-1] == ("calibrate", 4, 4)
    # The live index, then each window's cut, was indexed with progress.
    assert [stage for stage, _, _ in events].count("history") == 3


COUPON_FIX = "Coupon applied before tax is wrong\n\nFixes #1"
PRICE = '''"""Final prices at checkout."""


def final_price(amount, discount_rate, vat_rate):
    """The amount to charge."""
    return (amount - amount * discount_rate) * (1 + vat_rate)
'''
CHECKOUT = {  # each decoy shares one word of the issue; pricing.py none, until its fix
    "checkout/__init__.py": "",
    "checkout/pricing.py": PRICE,
    "checkout/coupons.py": '"""Codes customers type in."""\n\n\ndef parse_coupon(code):\n'
                           '    """The code, cleaned."""\n    return code.strip().upper()\n',
    "checkout/taxes.py": '"""Rates by region."""\n\nRATES = {"eu": 0.2}\n\n\n'
                         'def tax_rate(region):\n    """The rate of `region`."""\n'
                         '    return RATES[region]\n',
    "checkout/errors.py": '"""Errors."""\n\n\nclass WrongCode(Exception):\n'
                          '    """A code that is wrong."""\n',
    "checkout/hooks.py": '"""Hooks run before a payment."""\n\n\ndef check_order(order):\n'
                         '    return bool(order)\n',
    "checkout/shipping.py": "def shipping_cost(weight):\n    return 5 + weight * 2\n",
}


def searched_tokens(settings: Settings, path: Path, name: str) -> set[str]:
    """The tokens the saved search of `settings`' index of `path` holds for file `name`."""
    git = GitRepo(path)
    store = IndexStore.for_path(settings, path)
    documents = DocumentCache(search_dir(settings, store.root.name) / DOCUMENTS_DIR)
    corpus = documents.build(git, store.load_state().facts)
    return set(corpus.file_terms(corpus.files.index(name)))


def test_a_fix_cannot_find_itself_in_the_code_it_wrote(fast: Settings, tmp_path: Path) -> None:
    """The point of replaying before each fix: the indexed code holds what the fix wrote."""
    checkout = tmp_path / "checkout"
    repo = GitFixture(checkout)
    base = repo.commit("Initial checkout", CHECKOUT)
    repo.commit(COUPON_FIX, {"checkout/pricing.py": PRICE.replace(
        "The amount to charge.",
        "The amount to charge: the coupon is applied before tax, as a coupon must be.")})
    live, _ = open_search(fast, checkout)
    graph = IndexStore.for_path(fast, checkout).load_graph()
    [coupon] = fix_examples(graph, live.corpus.files)
    params = default_params()

    at_indexed_commit = replay(live, [coupon], params)
    before_fix = replay_before_fixes(fast, checkout, [coupon], graph, params, windows=4)

    assert [o.hit for o in at_indexed_commit] == [True]  # the old way: it finds its own words
    assert [o.hit for o in before_fix.outcomes] == [False]
    assert before_fix.windows == [{"cut": base, "replayed": 1, "skipped": {}}]
    # What the search held of pricing.py: the fix's words at the indexed commit, none before.
    scratch = scratch_settings(fast, IndexStore.for_path(fast, checkout).root)
    words = set(tokenize(coupon.text))
    assert {"coupon", "tax"} <= words & searched_tokens(fast, checkout, "checkout/pricing.py")
    assert not words & searched_tokens(scratch, checkout, "checkout/pricing.py")


def test_a_fix_of_a_file_that_moved_since_is_judged_by_its_old_path(fast: Settings,
                                                                     tmp_path: Path) -> None:
    checkout = tmp_path / "moved"
    repo = GitFixture(checkout)
    repo.commit("Initial checkout", {f"pkg/{name.split('/')[1]}": text
                                     for name, text in CHECKOUT.items()})
    fixed = PRICE.replace("(1 + vat_rate)", "(1.0 + vat_rate)")
    repo.commit(COUPON_FIX, {"pkg/pricing.py": fixed})
    # Later the package moves under src/, as requests/ became src/requests/.
    repo.commit("Move the package under src", {
        **{f"src/pkg/{name.split('/')[1]}": (fixed if name.endswith("pricing.py") else text)
           for name, text in CHECKOUT.items()},
        **{f"pkg/{name.split('/')[1]}": None for name in CHECKOUT}})
    live, _ = open_search(fast, checkout)
    graph = IndexStore.for_path(fast, checkout).load_graph()
    [coupon] = fix_examples(graph, live.corpus.files)
    assert coupon.gold == ("src/pkg/pricing.py",)  # as the indexed commit names it

    before = replay_before_fixes(fast, checkout, [coupon], graph, default_params(), windows=1)

    assert before.skipped == {} and [e.gold for e in before.examples] == [("pkg/pricing.py",)]
    assert len(before.outcomes) == 1


def test_calibration_leaves_the_live_index_alone(fast: Settings, tmp_path: Path) -> None:
    shop = build_fixed_repo(tmp_path / "shop")
    open_search(fast, shop)
    # GitHub says PR #30 was merged and closed #40; git knows no commit of it.
    apply_github_history(fast, shop, [{"number": 30, "kind": "pr", "title": "Cart coupons",
                                       "body": "", "merged": True, "files": ["shop/cart.py"],
                                       "closes": [40]},
                                      {"number": 40, "kind": "issue", "title": "No coupons",
                                       "body": "The cart ignores coupons."}])
    store = IndexStore.for_path(fast, shop)
    searched = search_dir(fast, store.root.name)

    def live_files() -> dict[str, int]:
        return {str(p.relative_to(store.root)): p.stat().st_mtime_ns
                for p in store.root.rglob("*")
                if p.relative_to(store.root).parts[0] not in {SCRATCH_DIR, "calibration.json"}}

    before, manifest, search_mtime = live_files(), store.manifest(), searched.stat().st_mtime_ns

    calibration = calibrate_repository(fast, resolve_target(fast, str(shop)), windows=2)

    assert live_files() == before and store.manifest() == manifest
    assert searched.stat().st_mtime_ns == search_mtime
    assert calibration.commit == manifest["commit"]
    assert calibration.skipped == {NO_FIX_COMMIT: 1} and calibration.examples == 12
    scratch = IndexStore.for_path(scratch_settings(fast, store.root), shop)
    assert scratch.root.is_relative_to(store.root / SCRATCH_DIR)
    assert scratch.manifest()["commit"] == calibration.windows[-1]["cut"]
    # No overlay in the scratch: a PR merged after the cut would leak the future.
    assert "pr:30" in dict(store.load_graph().nodes)
    assert not (scratch.root / "github.json").exists()
    assert "pr:30" not in dict(scratch.load_graph().nodes)


def test_an_old_calibration_still_loads_and_shows_in_status(runner: CliRunner, fast: Settings,
                                                            tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    build_eval_repo(shop)
    clone = fast.clone_dir("acme/shop")
    clone.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(shop), str(clone)], check=True)
    StateStore(fast.state_url()).save_repository(7, 1, "acme/shop")
    old = {  # what `navbot calibrate` wrote before it replayed before each fix
        "repository": "acme/shop", "path": str(clone), "threshold": 0.45, "precision": 0.92,
        "coverage": 0.5, "posted": 60, "examples": 120, "fitted": True, "reason": "",
        "sentence": "When navbot posts files on acme/shop it is right 92% of the time; it "
                    "would post on 50% of issues (threshold 0.45, measured on 120 past fixes).",
        "commit": git_log(shop)[-1], "computed_at": "2024-05-01T10:00:00+00:00",
        "params_version": 3, "target_precision": 0.9, "sources": {"issue": 120},
        "table": [{"threshold": 0.45, "precision": 0.92, "coverage": 0.5, "posted": 60,
                   "lower_bound": 0.9}]}
    stored = calibration_file(fast, clone)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(old))

    loaded = load_calibration(fast, clone)

    assert loaded is not None and loaded.sentence == old["sentence"]
    assert (loaded.method, loaded.windows, loaded.skipped) == (AT_INDEXED_COMMIT, [], {})
    assert "replayed at the indexed commit" in format_calibration(loaded, stored)
    result = runner.invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert f"    {old['sentence']}" in result.output
