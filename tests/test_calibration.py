"""`navbot calibrate`: past fixes as examples, hiding a fix from itself, the threshold table
and choice, and the command end to end on a real repository with fixes in its history."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from indexer.graph import GraphData
from navbot.calibrations import calibration_file, load_calibration
from navbot.cli import main
from navbot.cli_calibrate import calibrate_repository
from navbot.config import Settings, load_settings
from navbot.state import StateStore
from retrieval.calibration import (
    Choice,
    Outcome,
    choose_threshold,
    describe,
    fix_examples,
    strip_references,
    threshold_grid,
    threshold_table,
    wilson_lower_bound,
)
from retrieval.history_signal import HistorySignal
from retrieval.params import default_params
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
        "48% of issues (threshold 0.62, measured on 120 past fixes, 30 of them from commit "
        "messages).")
    assert describe(fitted, 120, {"issue": 120}, "owner/repo").endswith(
        "(threshold 0.62, measured on 120 past fixes).")
    fallback = Choice(0.55, 0.7, 0.4, 8, False, "too few posts")
    assert describe(fallback, 20, {"commit message": 20}, "acme/shop") == (
        "navbot could not fit a threshold for acme/shop: too few posts. It keeps the default "
        "threshold 0.55, at which it was right 70% of the time and would post on 40% of "
        "issues (measured on 20 past fixes, all of them from commit messages).")
    silent = Choice(0.55, None, 0.0, 0, False, "nothing posted")
    assert "would not have posted on any of them" in describe(silent, 3, {"pull request": 3})
    assert "no usable past fixes" in describe(silent, 0, {})


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
    assert "measured on 12 past fixes, all of them from commit messages" in saved["sentence"]
    rows = {row["threshold"]: row for row in saved["table"]}
    always = rows[0.05]
    assert always["coverage"] == 1.0 and always["precision"] >= 0.75  # the texts name the code
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
    calibration = calibrate_repository(fast, str(shop), limit=8, target_precision=0.5,
                                       min_posted=3)
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

    result = runner.invoke(main, ["calibrate", "Acme/Shop", "--json", "--limit", "20"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
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
    cases = {
        str(plain): "not a git repository",
        "nobody/nothing": "not a repository the App is installed on",
        "no such thing": "not an owner/repo name",
        str(unfixed): "no usable past fixes",
    }
    for target, message in cases.items():
        result = runner.invoke(main, ["calibrate", target])
        assert result.exit_code != 0, target
        assert result.output.startswith("navbot: error: ") and message in result.output, \
            result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert load_calibration(fast, unfixed) is None
    assert load_calibration(fast, tmp_path / "missing") is None
