"""The `navbot` CLI: index and show, and one-line errors for bad input."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from filelock import FileLock

import indexer.build
from navbot.cli.main import main
from navbot.core.config import load_settings, repo_key_for_path
from navbot.core.errors import ConfigError, HomeError, InputError
from tests.evalfixture import ISSUES, build_eval_repo
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
    assert result.stderr == ("navbot: error: invalid settings: NAVBOT_MAX_FILE_BYTES: Input "
                             "should be a valid integer, unable to parse string as an integer "
                             "(got 'lots')\n")


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


def _one_error_line(result: Result) -> str:
    """The one line a failed command wrote (asserting there is exactly one and no traceback)."""
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("navbot: error: ") and "Traceback" not in result.stderr
    return lines[0].removeprefix("navbot: error: ")


@pytest.mark.parametrize("content, problem", [
    ("Cart total is wrong for caf\xe9 orders".encode("latin-1"),
     "is not UTF-8 text: byte 0xe9 at byte offset 27 (invalid continuation byte)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     "is not UTF-8 text: byte 0x89 at byte offset 0 (invalid start byte)"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00",  # valid UTF-8, and still binary
     "is not text: a NUL byte at byte offset 7"),
    (codecs.BOM_UTF8 + "Prix erron\xe9 ".encode("latin-1"),  # offsets count the BOM too
     "is not UTF-8 text: byte 0xe9 at byte offset 13 (invalid continuation byte)"),
])
def test_an_issue_file_that_is_not_utf8_text_is_one_line(runner: CliRunner, tmp_path: Path,
                                                         content: bytes, problem: str) -> None:
    issue = tmp_path / "issue.md"
    issue.write_bytes(content)
    result = runner.invoke(main, ["ask", str(tmp_path / "shop"), "--issue-file", str(issue)])
    assert result.exit_code == InputError.exit_code == 65
    assert _one_error_line(result) == f"--issue-file {issue} {problem}"
    piped = runner.invoke(main, ["ask", str(tmp_path / "shop"), "--issue-file", "-"],
                          input=content)
    assert piped.exit_code == 65 and _one_error_line(piped) == f"--issue-file <stdin> {problem}"


def test_an_issue_argument_that_is_not_utf8_is_one_line(runner: CliRunner,
                                                        tmp_path: Path) -> None:
    # What Python makes of argv bytes that are not UTF-8 (surrogate escapes).
    undecodable = os.fsdecode(b"Prix erron\xe9 au panier")
    result = runner.invoke(main, ["ask", str(tmp_path / "shop"), undecodable])
    assert result.exit_code == 65
    assert _one_error_line(result) == ("the ISSUE argument is not UTF-8 text: byte 0xe9 at "
                                       "byte offset 10 (invalid continuation byte)")


def test_an_issue_file_with_a_bom_is_read_as_its_text(runner: CliRunner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAVBOT_EMBEDDINGS", "false")  # the rule is about bytes, not vectors
    path = tmp_path / "shop"
    build_eval_repo(path)
    issue = tmp_path / "issue.md"
    issue.write_bytes(codecs.BOM_UTF8 + ISSUES["cart"].encode("utf-8"))
    from_file = runner.invoke(main, ["ask", str(path), "--issue-file", str(issue), "--json"])
    assert from_file.exit_code == 0, from_file.output
    from_argument = runner.invoke(main, ["ask", str(path), ISSUES["cart"], "--json"])
    assert json.loads(from_file.stdout) == json.loads(from_argument.stdout)
    assert json.loads(from_file.stdout)["files"][0]["path"] == "shop/cart.py"


def _immutable(directory: Path) -> bool:
    """Make `directory` unwritable even for root (chattr +i); False where that cannot be done."""
    directory.mkdir()
    made = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
    if made.returncode != 0:
        return False
    try:
        (directory / "probe").touch()
    except PermissionError:
        return True
    return False


def _unwritable_home(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A home no one can write, even root, and the reason the system gives."""
    # Tests run as root, for whom permission bits (chmod 0o500) change nothing: a home whose
    # parent is a regular file cannot be created, and an immutable directory (chattr +i)
    # cannot be written by anyone.
    if kind == "immutable":
        home = tmp_path / "frozen-home"
        if not _immutable(home):
            pytest.skip("chattr +i is not supported on this filesystem")
        return home, "Operation not permitted"
    (tmp_path / "plain-file").write_text("not a directory\n")
    return tmp_path / "plain-file" / "home", "Not a directory"


@pytest.mark.parametrize("kind", ["under a regular file", "immutable"])
@pytest.mark.parametrize("command", [["index", "{repo}"], ["ask", "{repo}", "Cart total"],
                                     ["status"]])
def test_an_unwritable_home_is_one_line_naming_it(runner: CliRunner, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, kind: str,
                                                  command: list[str]) -> None:
    home, reason = _unwritable_home(tmp_path, kind)
    monkeypatch.setenv("NAVBOT_HOME", str(home))
    repo = GitFixture(tmp_path / "repo")
    repo.commit("First", {"app.py": "def main():\n    pass\n"})
    try:
        result = runner.invoke(main, [a.format(repo=repo.path) for a in command])
    finally:
        subprocess.run(["chattr", "-i", str(home)], capture_output=True)
    assert result.exit_code == HomeError.exit_code == 73
    assert _one_error_line(result) == (f"cannot write to the data directory {home} "
                                       f"(NAVBOT_HOME or --home): {reason}")


@pytest.mark.parametrize("kind", ["under a regular file", "immutable"])
def test_a_command_that_does_not_check_its_home_still_says_one_line(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # `navbot calibrate` writes its scratch index under the home without checking it first:
    # the system's refusal is still one line naming the path, not an internal error.
    home, reason = _unwritable_home(tmp_path, kind)
    monkeypatch.setenv("NAVBOT_HOME", str(home))
    repo = GitFixture(tmp_path / "repo")
    repo.commit("First", {"app.py": "def main():\n    pass\n"})
    try:
        result = runner.invoke(main, ["calibrate", str(repo.path)])
    finally:
        subprocess.run(["chattr", "-i", str(home)], capture_output=True)
    assert result.exit_code == 73
    line = _one_error_line(result)
    assert line.startswith(f"{reason}: {home}")


def test_a_home_that_is_a_file_is_one_line(runner: CliRunner, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-file"
    home.write_text("")
    monkeypatch.setenv("NAVBOT_HOME", str(home))
    result = runner.invoke(main, ["index", str(tmp_path)])
    assert result.exit_code == 73
    assert _one_error_line(result) == (f"the data directory {home} (NAVBOT_HOME or --home) "
                                       "is a file, not a directory")


@pytest.mark.parametrize("variable, value, problem", [
    ("NAVBOT_IGNORE", "[broken", "NAVBOT_IGNORE: not a JSON list (Expecting value at "
     "character 1); write a JSON list of strings or comma-separated values (got '[broken')"),
    ("NAVBOT_SKIP_DIRS", '["vendor", 3]', "NAVBOT_SKIP_DIRS (item 1): Input should be a "
     "valid string"),
    ("NAVBOT_EMBEDDINGS", "maybe", "NAVBOT_EMBEDDINGS: Input should be a valid boolean, "
     "unable to interpret input (got 'maybe')"),
    ("NAVBOT_LLM_MODE", "record", "NAVBOT_LLM_MODE: Input should be 'live' or 'replay' "
     "(got 'record')"),
    ("NAVBOT_CHROMA_URL", "localhost:8000", "NAVBOT_CHROMA_URL: not a http:// or https:// "
     "URL"),
    ("NAVBOT_CHROMA_URL", "http://localhost:port", "NAVBOT_CHROMA_URL: not a URL: Port "
     "could not be cast to integer value as 'port'"),
    # URLs may hold a password: it is never repeated.
    ("NAVBOT_REDIS_URL", "http://:hunter2@redis.internal", "NAVBOT_REDIS_URL: not a "
     "redis:// or rediss:// or unix:// URL"),
    ("NAVBOT_DATABASE_URL", "postgres :hunter2@db", "NAVBOT_DATABASE_URL: not an SQLAlchemy "
     "database URL (dialect://user:password@host/name)"),
])
def test_a_malformed_setting_is_one_line_naming_its_variable(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str,
        value: str, problem: str) -> None:
    monkeypatch.setenv(variable, value)
    for command in (["index", str(tmp_path)], ["status"]):
        result = runner.invoke(main, command)
        assert result.exit_code == ConfigError.exit_code == 2
        assert _one_error_line(result) == f"invalid settings: {problem}"
        assert "hunter2" not in result.stderr


def test_a_failed_ask_leaves_the_answers_as_they_were(runner: CliRunner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shop"
    build_eval_repo(path)
    assert runner.invoke(main, ["index", str(path)]).exit_code == 0
    before = runner.invoke(main, ["ask", str(path), ISSUES["cart"], "--json"])
    assert before.exit_code == 0, before.output
    ledgers = sorted((tmp_path / "navbot-home" / "chroma" / "navbot-ledgers").glob("*.json"))
    noted = [ledger.read_bytes() for ledger in ledgers]
    assert noted

    monkeypatch.setenv("NAVBOT_EMBEDDING_MODEL", str(tmp_path / "nonexistent"))
    failed = runner.invoke(main, ["ask", str(path), ISSUES["cart"], "--json"])
    assert failed.exit_code == ConfigError.exit_code
    assert _one_error_line(failed) == (f"cannot load embedding model "
                                       f"'{tmp_path / 'nonexistent'}': no such directory; set "
                                       "NAVBOT_EMBEDDING_MODEL to a local model directory")
    assert [ledger.read_bytes() for ledger in ledgers] == noted

    monkeypatch.delenv("NAVBOT_EMBEDDING_MODEL")
    after = runner.invoke(main, ["ask", str(path), ISSUES["cart"], "--json"])
    assert after.exit_code == 0, after.output
    found, again = json.loads(before.stdout), json.loads(after.stdout)
    assert again["files"] == found["files"] and again["confidence"] == found["confidence"]
    assert again == found
    assert any("matched question" in why for why in again["files"][0]["evidence"])
