"""`navbot eval` end to end on the tiny eval set, and its handling of bad rows."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from navbot.cli.main import main
from navbot.core.config import Settings
from navbot.evaluation.data import load_dataset
from navbot.evaluation.report import CsvLog
from navbot.evaluation.runner import EvalRun
from retrieval.params import default_params
from tests.evalfixture import build_eval_repo, eval_rows, write_jsonl

KEYS = {"n", "file_acc@1", "file_acc@3", "file_acc@5", "file_acc@10", "mrr", "func_acc@5",
        "func_acc@10", "coverage", "precision", "latency_p50_s", "latency_p99_s"}


@pytest.fixture
def eval_set(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Repos dir (acme+shop layout), a data file with the five instances, and the commits."""
    repos = tmp_path / "repos"
    shas = build_eval_repo(repos / "acme+shop")
    data = write_jsonl(tmp_path / "eval.jsonl", list(eval_rows(shas)))
    return repos, data, shas


def test_eval_end_to_end(runner: CliRunner, eval_set, tmp_path: Path) -> None:
    repos, data, _ = eval_set
    out = tmp_path / "out"
    result = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--json",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert set(report) >= KEYS and set(report["bm25"]) >= KEYS
    assert report["n"] == 5 and report["skipped"] == [] and not report["interrupted"]
    # Every issue names its code outright or describes it in the code's own words.
    assert report["file_acc@1"] == 1.0 and report["mrr"] == 1.0
    assert report["file_acc@10"] >= report["bm25"]["file_acc@10"]
    # Function gold: four instances with spans (the pseudo-span "imports" is ignored), and
    # one derived from the patch (main).
    assert report["n_func"] == 5
    assert report["func_acc@10"] == 1.0
    # initial → emails (x2) → cli (side branch, descends) → stock (does not descend: full).
    assert report["index"]["full_n"] == 2 and report["index"]["incremental_n"] == 3
    assert [row["threshold"] for row in report["risk_coverage"]][:2] == [0.0, 0.1]
    # Every row has the aboutness gate: the --verbose issue names nothing of the shop's code
    # and shares few of its words, so even at 0 one issue of five stays silent.
    assert report["risk_coverage"][0]["coverage"] == 0.8
    # Silence, in the same run: one repository, so no foreign issues; the off-topic corpus
    # asked of its index, where nothing posts.
    assert (report["foreign_n"], report["offtopic_n"], report["offtopic_fit_n"]) == (0, 50, 50)
    assert report["offtopic_posts"] == 0 and report["offtopic_post_rate"] == 0.0
    assert report["foreign_post_rate"] is None
    negatives = [json.loads(line) for line in (out / "negatives.jsonl").read_text().splitlines()]
    assert len(negatives) == 100 and {n["kind"] for n in negatives} == {"offtopic"}
    assert all(n["silence"] for n in negatives)

    rows = list(csv.DictReader((out / "instances.csv").open()))
    assert [r["instance_id"] for r in rows] == [
        "acme__shop-cart", "acme__shop-emails", "acme__shop-rounding", "acme__shop-verbose",
        "acme__shop-stock"]
    verbose = next(r for r in rows if r["instance_id"] == "acme__shop-verbose")
    assert json.loads(verbose["gold_files"]) == ["shop/cli.py"]
    assert json.loads(verbose["gold_funcs"]) == ["shop/cli.py::main"]
    assert json.loads(verbose["top5"])[0] == "shop/cli.py"
    assert len((out / "signals.jsonl").read_text().splitlines()) == 5
    assert json.loads((out / "results.json").read_text())["n"] == 5


def test_eval_markdown_table(runner: CliRunner, eval_set) -> None:
    repos, data, _ = eval_set
    result = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "| metric | navbot | BM25 | navbot/BM25 |" in result.output
    assert "| file_acc@1 (%) | 100.0 |" in result.output
    assert "navbot eval: 2 instances" in result.output


def test_bad_rows_are_reported_and_skipped(runner: CliRunner, eval_set, tmp_path: Path
                                           ) -> None:
    repos, _, shas = eval_set
    good = eval_rows(shas)
    data = write_jsonl(tmp_path / "bad.jsonl", [
        good[0],
        {k: v for k, v in good[1].items() if k != "problem_statement"},
        {**good[2], "base_commit": "0" * 40},
        {**good[3], "repo": "acme/missing"},
        "{not json",
        {**good[4], "patch": None},
    ])
    result = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == 1
    reasons = {s["instance_id"]: s["reason"] for s in report["skipped"]}
    assert "missing problem_statement" in reasons["acme__shop-emails"]
    assert "unknown commit" in reasons["acme__shop-rounding"]
    assert "repository acme/missing not found" in reasons["acme__shop-stock"]
    assert "line 5" in reasons["line 5"]
    assert "neither gold_files nor patch" in reasons["acme__shop-verbose"]
    assert "navbot: skipped acme__shop-rounding" in result.output


def test_filters_and_clean_errors(runner: CliRunner, eval_set, tmp_path: Path) -> None:
    repos, data, _ = eval_set
    picked = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--json",
                                  "--instances", "acme__shop-stock,acme__shop-cart"])
    assert json.loads(picked.output.strip().splitlines()[-1])["n"] == 2
    none = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--repo", "x/y"])
    assert none.exit_code == 2 and "no usable instances" in none.output
    assert "Traceback" not in none.output
    missing = runner.invoke(main, ["eval", str(tmp_path / "nope.jsonl"), "--repos", str(repos)])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_owner_slash_name_layout_with_a_bare_mirror(runner: CliRunner, eval_set,
                                                     tmp_path: Path) -> None:
    repos, data, _ = eval_set
    other = tmp_path / "mirrors"
    (other / "acme").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--mirror", str(repos / "acme+shop"),
                    str(other / "acme" / "shop" / "repo")], check=True)
    result = runner.invoke(main, ["eval", str(data), "--repos", str(other), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["n"] == 5


def test_ctrl_c_keeps_partial_results(settings: Settings, eval_set, tmp_path: Path) -> None:
    repos, data, _ = eval_set
    dataset = load_dataset(data)
    log = CsvLog(tmp_path / "instances.csv")
    seen: list[str] = []

    def listener(repo: str, outcome) -> None:
        log.write(outcome)
        seen.append(outcome["instance_id"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    report = EvalRun(settings, repos, default_params(), 0.5, listener).run(
        dataset.instances, dataset.skipped)
    log.close()
    assert report.interrupted and len(report.records) == 2
    assert len(list(csv.DictReader((tmp_path / "instances.csv").open()))) == 2


def test_ctrl_c_in_the_cli_prints_partial_results(runner: CliRunner, eval_set, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import navbot.evaluation.runner as runner_module

    real_locate = runner_module.locate
    calls: list[int] = []

    def interrupted_on_third_call(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_locate(*args, **kwargs)

    monkeypatch.setattr(runner_module, "locate", interrupted_on_third_call)
    repos, data, _ = eval_set
    out = tmp_path / "out"
    result = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--out", str(out)])
    assert result.exit_code == 130
    assert "navbot eval: 2 instances (INTERRUPTED: partial results)" in result.output
    assert "interrupted after 2 instances" in result.output
    assert json.loads((out / "results.json").read_text())["interrupted"] is True
    assert len(list(csv.DictReader((out / "instances.csv").open()))) == 2


def test_an_internal_error_skips_one_instance_and_the_run_goes_on(
        runner: CliRunner, eval_set, monkeypatch: pytest.MonkeyPatch) -> None:
    import navbot.evaluation.runner as runner_module

    real_locate = runner_module.locate

    def fails_on_rounding(search, text, *args, **kwargs):
        if "round_price" in text:
            raise ValueError("unexpected")
        return real_locate(search, text, *args, **kwargs)

    monkeypatch.setattr(runner_module, "locate", fails_on_rounding)
    repos, data, _ = eval_set
    result = runner.invoke(main, ["eval", str(data), "--repos", str(repos), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == 4
    assert report["skipped"] == [{"instance_id": "acme__shop-rounding",
                                  "reason": "internal error: ValueError: unexpected"}]
