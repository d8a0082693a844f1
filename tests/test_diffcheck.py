"""Suggested diffs checked against real repositories, a normal one and a bare clone: only
edits of existing text files that apply cleanly to the commit and keep them parsing pass,
and the repository is left exactly as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.diffcheck import MAX_DIFF_BYTES, MAX_FILES, check_diff, diff_files
from navbot.core.errors import RepositoryError, UnknownCommitError
from tests.gitfixture import GitFixture

CALC = '''"""Arithmetic."""


def add(a, b):
    return a + b


def halve(value):
    return value / 2
'''
BROKEN = '''def ok():
    return 1


def broken(:
    return 2
'''
NOTES = "Notes\n-- a line that starts with two dashes\nend\n"

GOOD = '''--- a/calc.py
+++ b/calc.py
@@ -5,5 +5,5 @@ def add(a, b):
     return a + b


 def halve(value):
-    return value / 2
+    return value // 2
'''
SECOND_FILE = '''--- a/pkg/util.py
+++ b/pkg/util.py
@@ -1,2 +1,2 @@
 def shout(text):
-    return text.upper()
+    return text.upper() + "!"
'''
WRONG_CONTEXT = GOOD.replace("     return a + b", "     return a - b")
BREAKS_SYNTAX = GOOD.replace("+    return value // 2", "+    return (value // 2")
DASHES = '''--- a/notes.txt
+++ b/notes.txt
@@ -1,3 +1,2 @@
 Notes
--- a line that starts with two dashes
 end
'''


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A work-tree repository with two commits (halve changes in the second)."""
    repo = GitFixture(tmp_path_factory.mktemp("diffcheck") / "work")
    first = repo.commit("Start", {"calc.py": CALC.replace("value / 2", "value * 0.5"),
                                  "broken.py": BROKEN, "notes.txt": NOTES,
                                  "pkg/__init__.py": "",
                                  "pkg/util.py": "def shout(text):\n    return text.upper()\n",
                                  "logo.png": "\0PNG\0binary"})
    second = repo.commit("Halve by division", {"calc.py": CALC})
    return repo.path, [first, second]


@pytest.fixture(scope="module", params=["work", "bare"])
def repo(request: pytest.FixtureRequest, origin: tuple[Path, list[str]]) -> Path:
    """The repository itself, or a bare clone of it (as the App keeps them)."""
    if request.param == "work":
        return origin[0]
    bare = origin[0].parent / "bare.git"
    if not bare.exists():
        subprocess.run(["git", "clone", "-q", "--bare", str(origin[0]), str(bare)], check=True)
    return bare


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def snapshot(repo: Path) -> dict[str, object]:
    """Everything a check could disturb: objects, refs, the index and the work tree."""
    git_dir = (repo / git(repo, "rev-parse", "--git-dir").strip()).resolve()
    index = git_dir / "index"
    return {"objects": git(repo, "count-objects", "-v"), "refs": git(repo, "show-ref", "--head"),
            "index": index.read_bytes() if index.exists() else None,
            "status": git(repo, "status", "--porcelain") if index.exists() else None,
            "files": sorted(str(p.relative_to(git_dir)) for p in git_dir.rglob("*"))}


def test_a_good_diff_passes_and_names_its_files(repo: Path) -> None:
    result = check_diff(repo, "HEAD", GOOD + SECOND_FILE)
    assert result.ok, result.reason
    assert result.files == ("calc.py", "pkg/util.py")
    assert "applies cleanly" in result.reason


def test_the_diff_is_checked_against_the_given_commit(
        repo: Path, origin: tuple[Path, list[str]]) -> None:
    first, second = origin[1]
    assert check_diff(repo, second, GOOD).ok
    older = check_diff(repo, first, GOOD)
    assert not older.ok
    assert older.reason.startswith(f"does not apply to {first[:12]}: error: patch failed: calc.py")


def test_wrong_context_fails_with_gits_reason(repo: Path) -> None:
    result = check_diff(repo, "HEAD", WRONG_CONTEXT)
    assert not result.ok
    assert "patch failed: calc.py:5" in result.reason


def test_wrong_hunk_counts_fail(repo: Path) -> None:
    result = check_diff(repo, "HEAD", GOOD.replace("@@ -5,5 +5,5 @@", "@@ -5,7 +5,5 @@"))
    assert not result.ok
    assert "corrupt patch" in result.reason


def test_breaking_python_syntax_fails(repo: Path) -> None:
    result = check_diff(repo, "HEAD", BREAKS_SYNTAX)
    assert not result.ok
    assert result.reason == "after the diff, calc.py no longer parses"


def test_pre_existing_syntax_errors_are_not_held_against_the_diff(repo: Path) -> None:
    diff = '''--- a/broken.py
+++ b/broken.py
@@ -1,3 +1,3 @@
 def ok():
-    return 1
+    return 10

'''
    result = check_diff(repo, "HEAD", diff)
    assert result.ok, result.reason


def test_a_removed_line_starting_with_dashes_is_not_a_header(repo: Path) -> None:
    assert diff_files(DASHES) == ["notes.txt"]
    result = check_diff(repo, "HEAD", DASHES)
    assert result.ok, result.reason
    assert result.files == ("notes.txt",)


def test_prose_around_the_diff_and_a_missing_final_newline_are_tolerated(repo: Path) -> None:
    fenced = "Here is the fix:\n\n```diff\n" + GOOD + "```\n"
    assert check_diff(repo, "HEAD", fenced).ok
    assert check_diff(repo, "HEAD", GOOD.rstrip("\n")).ok


def test_git_style_and_unprefixed_headers(repo: Path) -> None:
    git_style = "diff --git a/calc.py b/calc.py\nindex 0000000..1111111 100644\n" + GOOD
    assert check_diff(repo, "HEAD", git_style).ok
    plain = GOOD.replace("a/calc.py", "calc.py").replace("b/calc.py", "calc.py")
    assert check_diff(repo, "HEAD", plain).files == ("calc.py",)
    assert check_diff(repo, "HEAD", plain).ok
    mixed = GOOD.replace("a/calc.py", "calc.py")
    assert "mixes paths" in check_diff(repo, "HEAD", mixed).reason


@pytest.mark.parametrize(("diff", "reason"), [
    ("", "the diff is empty"),
    ("just some prose\n", "no file headers"),
    (GOOD.replace("calc.py", "missing.py"), "missing.py does not exist at "),
    ("--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n", "creates new.py"),
    ("diff --git a/new.py b/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/new.py\n"
     "@@ -0,0 +1 @@\n+x = 1\n", "creates new.py"),
    ("diff --git a/calc.py b/calc.py\ndeleted file mode 100644\n--- a/calc.py\n+++ /dev/null\n"
     "@@ -1 +0,0 @@\n-x\n", "deletes calc.py"),
    ("diff --git a/calc.py b/maths.py\nsimilarity index 100%\nrename from calc.py\n"
     "rename to maths.py\n", "renames maths.py"),
    (GOOD.replace("+++ b/calc.py", "+++ b/maths.py"), "renames calc.py to maths.py"),
    ("diff --git a/logo.png b/logo.png\nindex 1111111..2222222 100644\n"
     "Binary files a/logo.png and b/logo.png differ\n", "changes the binary file logo.png"),
    ("diff --git a/calc.py b/calc.py\nold mode 100644\nnew mode 100755\n", "changes the mode"),
    (GOOD.replace("calc.py", "../calc.py"), "unsafe path: ../calc.py"),
    (GOOD.replace("a/calc.py", "a/pkg/../calc.py").replace("b/calc.py", "b/pkg/../calc.py"),
     "unsafe path: pkg/../calc.py"),
    (GOOD.replace("a/calc.py", "/etc/calc.py").replace("b/calc.py", "/etc/calc.py"),
     "unsafe path: /etc/calc.py"),
    (GOOD.replace("calc.py", ".git/config"), "unsafe path: .git/config"),
    (GOOD.replace("calc.py", "pkg"), "pkg does not exist at "),
    ("--- a/logo.png\n+++ b/logo.png\n@@ -1 +1 @@\n-x\n+y\n", "logo.png is a binary file"),
    ("--- a/calc.py\n+++ b/calc.py\n", "no hunks for calc.py"),
])
def test_diffs_that_are_not_edits_of_existing_text_files_are_rejected(
        repo: Path, diff: str, reason: str) -> None:
    result = check_diff(repo, "HEAD", diff)
    assert not result.ok
    assert reason in result.reason


def test_only_allowed_files_may_be_edited(repo: Path) -> None:
    result = check_diff(repo, "HEAD", GOOD + SECOND_FILE, allowed={"calc.py"})
    assert not result.ok
    assert result.reason == "pkg/util.py is not among the files navbot suggested"
    assert check_diff(repo, "HEAD", GOOD + SECOND_FILE, allowed=["calc.py", "pkg/util.py"]).ok


def test_the_diff_size_is_bounded(repo: Path) -> None:
    huge = GOOD + "\n" + "x" * MAX_DIFF_BYTES
    assert "larger than 64 KB" in check_diff(repo, "HEAD", huge).reason
    many = "".join(GOOD.replace("calc.py", f"f{i}.py") for i in range(MAX_FILES + 1))
    result = check_diff(repo, "HEAD", many)
    assert not result.ok
    assert f"touches {MAX_FILES + 1} files" in result.reason


def test_missing_or_broken_repositories_raise(tmp_path: Path, repo: Path) -> None:
    with pytest.raises(RepositoryError, match="no such directory"):
        check_diff(tmp_path / "nowhere", "HEAD", GOOD)
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepositoryError, match="not a git repository"):
        check_diff(tmp_path / "plain", "HEAD", GOOD)
    with pytest.raises(UnknownCommitError):
        check_diff(repo, "0" * 40, GOOD)
    with pytest.raises(UnknownCommitError):
        check_diff(repo, "--output=/tmp/x", GOOD)


def test_a_corrupt_repository_raises(tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "corrupt")
    repo.commit("Start", {"calc.py": CALC})
    tree = repo.git("rev-parse", "HEAD^{tree}")
    (repo.path / ".git" / "objects" / tree[:2] / tree[2:]).unlink()  # a fresh repo is loose
    with pytest.raises(RepositoryError, match="cannot read"):
        check_diff(repo.path, "HEAD", GOOD)


def test_checks_leave_the_repository_untouched(repo: Path) -> None:
    before = snapshot(repo)
    for diff in (GOOD + SECOND_FILE, WRONG_CONTEXT, BREAKS_SYNTAX, DASHES,
                 GOOD.replace("calc.py", "missing.py")):
        check_diff(repo, "HEAD", diff)
    assert snapshot(repo) == before
    if repo.name == "bare.git":
        assert not (repo / "index").exists()


def test_diff_files_reads_every_header_style() -> None:
    assert diff_files(GOOD + SECOND_FILE) == ["calc.py", "pkg/util.py"]
    assert diff_files("--- calc.py\t2024-01-01 10:00\n+++ calc.py\t2024-01-02 10:00\n"
                      "@@ -1 +1 @@\n-a\n+b\n") == ["calc.py"]
    quoted = ('diff --git "a/my file.py" "b/my file.py"\n--- "a/my file.py"\n'
              '+++ "b/my file.py"\n@@ -1 +1 @@\n-a\n+b\n')
    assert diff_files(quoted) == ["my file.py"]
    octal = '--- "a/caf\\303\\251.py"\n+++ "b/caf\\303\\251.py"\n@@ -1 +1 @@\n-a\n+b\n'
    assert diff_files(octal) == ["café.py"]
    assert diff_files("--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n") == ["old.py"]
    assert diff_files("no diff here") == []
