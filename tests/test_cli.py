"""The `navbot` CLI: index and show, and clean errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock

import indexer.build
from navbot.cli import main
from navbot.config import load_settings, repo_key_for_path
from tests.gitfixture import GitFixture


def test_index_json_summary(runner: CliRunner, history_repo) -> None:
    repo, shas = history_repo
    result = runner.invoke(main, ["index", str(repo.path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary == {**summary, "commit": shas[-1], "files": 5, "commits": 7,
                       "incremental": False, "failed_files": 0}
    assert set(summary) == {"repo", "commit", "files", "symbols", "edges", "commits",
                            "seconds", "incremental", "failed_files", "embedded",
                            "embed_seconds"}
    assert summary["embedded"] > 0
    again = json.loads(runner.invoke(main, ["index", str(repo.path), "--json"]).output)
    assert again["incremental"] is True
    assert again["embedded"] == 0  # nothing changed, nothing is embedded again


def test_index_text_summary_and_show(runner: CliRunner, history_repo) -> None:
    repo, _ = history_repo
    indexed = runner.invoke(main, ["index", str(repo.path)])
    assert indexed.exit_code == 0 and "5 files" in indexed.output
    shown = runner.invoke(main, ["show", str(repo.path), "shapes/base.py"])
    assert shown.exit_code == 0, shown.output
    assert "class Shape" in shown.output
    assert "imported by:\n  app.py" in shown.output
    assert "Rename core to base" in shown.output
    symbol = runner.invoke(main, ["show", str(repo.path), "shapes.base.area_of", "--json"])
    info = json.loads(symbol.output)
    assert info["target"] == "shapes/base.py::area_of"
    assert info["callers"] == ["app.py::main"]
    assert {"path": "shapes/circle.py", "weight": 2} in info["co_changes"]


@pytest.mark.parametrize("args, message", [
    (["index", "{missing}"], "no such directory"),
    (["index", "{plain}"], "not a git repository"),
    (["index", "{repo}", "--commit", "deadbeef"], "unknown commit 'deadbeef'"),
    (["show", "{repo}", "app.py"], "no index"),
])
def test_bad_input_gets_a_message_not_a_traceback(runner: CliRunner, tmp_path: Path,
                                                  history_repo, args, message) -> None:
    repo, _ = history_repo
    (tmp_path / "plain").mkdir()
    paths = {"missing": tmp_path / "nope", "plain": tmp_path / "plain", "repo": repo.path}
    result = runner.invoke(main, [a.format(**paths) for a in args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit)


def test_unknown_show_target(runner: CliRunner, history_repo) -> None:
    repo, _ = history_repo
    runner.invoke(main, ["index", str(repo.path)])
    result = runner.invoke(main, ["show", str(repo.path), "no/such.py"])
    assert result.exit_code == 1
    assert "neither a file nor a symbol" in result.output


def test_ambiguous_show_target_lists_the_candidates(runner: CliRunner, history_repo) -> None:
    repo, _ = history_repo
    runner.invoke(main, ["index", str(repo.path)])
    result = runner.invoke(main, ["show", str(repo.path), "area"])
    assert result.exit_code == 1
    assert "'area' is ambiguous; use one of: shapes/base.py::Shape.area, " \
           "shapes/circle.py::Circle.area" in result.output


def test_undecodable_and_unparsable_files_are_counted_not_fatal(runner: CliRunner,
                                                                tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "bad")
    (repo.path / "latin.py").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    repo.git("add", "latin.py")
    repo.commit("odd files", {"broken.py": "def broken(:\n    return\n",
                              "fine.py": "def fine():\n    pass\n"})
    result = runner.invoke(main, ["index", str(repo.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["failed_files"] == 2
    manifest_path = next((tmp_path / "navbot-home").glob("repos/*/manifest.json"))
    failed = {f["path"]: f["reason"] for f in json.loads(manifest_path.read_text())
              ["failed_files"]}
    assert failed["latin.py"].startswith("not valid UTF-8")
    assert "syntax errors" in failed["broken.py"]


def test_interrupted_index_leaves_the_previous_one_intact(
        runner: CliRunner, history_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, shas = history_repo
    runner.invoke(main, ["index", str(repo.path), "--commit", shas[1]])
    store_root = load_settings().repo_dir(repo_key_for_path(repo.path))
    before = (store_root / "manifest.json").read_bytes()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    original = indexer.build.assemble
    monkeypatch.setattr(indexer.build, "assemble", interrupt)
    result = runner.invoke(main, ["index", str(repo.path)])
    assert result.exit_code == 130
    assert "interrupted; the previous index is left intact" in result.output
    assert (store_root / "manifest.json").read_bytes() == before
    monkeypatch.setattr(indexer.build, "assemble", original)
    shown = runner.invoke(main, ["show", str(repo.path), "shapes/circle.py"])
    assert shown.exit_code == 0


def test_a_second_indexer_is_refused_while_one_writes(runner: CliRunner, history_repo) -> None:
    repo, _ = history_repo
    store_root = load_settings().repo_dir(repo_key_for_path(repo.path))
    store_root.mkdir(parents=True)
    with FileLock(str(store_root / ".lock")):
        result = runner.invoke(main, ["index", str(repo.path)])
    assert result.exit_code == 1
    assert "another navbot process is indexing" in result.output


def test_invalid_setting_is_reported(runner: CliRunner, history_repo,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = history_repo
    monkeypatch.setenv("NAVBOT_MAX_FILE_BYTES", "lots")
    result = runner.invoke(main, ["index", str(repo.path)])
    assert result.exit_code == 2
    assert "invalid settings: max_file_bytes" in result.output


def test_an_internal_error_is_one_line_unless_debugging(runner: CliRunner, history_repo,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = history_repo

    def broken(*args, **kwargs):
        raise ValueError("something navbot did not expect")

    monkeypatch.setattr(indexer.build.Indexer, "index", broken)
    result = runner.invoke(main, ["index", str(repo.path)])
    assert result.exit_code == 70
    assert "navbot: internal error: ValueError: something navbot did not expect" in result.output
    assert "Traceback" not in result.output
    debug = runner.invoke(main, ["--debug", "index", str(repo.path)])
    assert isinstance(debug.exception, ValueError)
