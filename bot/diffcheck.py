"""Whether a suggested unified diff may be shown: it edits existing text files, applies cleanly
to the indexed commit, and leaves every file it touches parsing as well as before.

The edge runs git against a throwaway index and object directory (the repository's objects
are only read, as alternates), so neither a bare mirror nor a work tree, its index or its refs
is ever modified. Parsing the diff itself is pure.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from indexer.gitrepo import run_git
from indexer.languages import grammar, language_for
from navbot.core.errors import GitTimeoutError, NavbotError, RepositoryError, UnknownCommitError

MAX_DIFF_BYTES = 64 * 1024
MAX_FILES = 10
GIT_TIMEOUT_S = 60.0
TEXT_MODES = ("100644", "100755")
# Variables that would point git at another repository, index or object store than ours.
_LOCAL_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
                   "GIT_PREFIX", "GIT_GRAFT_FILE", "GIT_REPLACE_REF_BASE", "GIT_SHALLOW_FILE")
_FLAG_REASONS = {
    "new": "creates {path}", "deleted": "deletes {path}", "rename": "renames {path}",
    "copy": "copies {path}", "binary": "changes the binary file {path}",
    "mode": "changes the mode of {path}",
}


@dataclass(frozen=True)
class DiffCheck:
    """The verdict on a diff: whether it may be shown, why (not), and the files it edits."""

    ok: bool
    reason: str
    files: tuple[str, ...]


@dataclass
class _FilePatch:
    """One file's part of a diff, as its headers describe it."""

    git_paths: tuple[str, str] | None = None  # from `diff --git a/x b/y`
    has_names: bool = False  # the ---/+++ lines were seen
    old: str | None = None  # None: /dev/null, or no ---/+++ lines
    new: str | None = None
    hunks: int = 0
    flags: set[str] = field(default_factory=set)


class _Rejected(NavbotError):
    """The diff cannot be shown; the message says why in one line."""


def _quoted_end(text: str) -> int:
    """The index of the quote closing the C-style quoted name `text` starts with, or -1."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i
        else:
            i += 1
    return -1


def _unquote(name: str) -> str:
    """A path as git writes it, without C-style quoting."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    escapes = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b",
               "f": b"\f", "r": b"\r", "v": b"\v"}
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode()
            i += 1
        elif body[i + 1] in escapes:
            out += escapes[body[i + 1]]
            i += 2
        else:  # git writes other bytes as three octal digits
            digits = body[i + 1:i + 4]
            out.append(int(digits, 8) & 0xFF if digits.isdigit() else ord("?"))
            i += 4
    return out.decode("utf-8", errors="replace")


def _header_path(line: str) -> str | None:
    """The path of a `---`/`+++` line (without a trailing timestamp); None for /dev/null."""
    text = line[4:].rstrip("\r")
    end = _quoted_end(text) if text.startswith('"') else -1
    name = _unquote(text[:end + 1]) if end > 0 else text.split("\t", 1)[0].rstrip()
    return None if name == "/dev/null" else name


def _git_header_paths(rest: str) -> tuple[str, str] | None:
    """The two names of a `diff --git` line (quoted, or split where they match)."""
    if rest.startswith('"'):
        end = _quoted_end(rest)
        return (_unquote(rest[:end + 1]), _unquote(rest[end + 2:])) if end > 0 else None
    half = len(rest) // 2
    if rest[half:half + 1] == " " and rest[:half][2:] == rest[half + 1:][2:]:
        return rest[:half], rest[half + 1:]
    old, sep, new = rest.rpartition(" b/")
    return (old, "b/" + new) if sep else None


def _hunk_counts(line: str) -> tuple[int, int] | None:
    """Old and new line counts of a `@@ -a,b +c,d @@` header."""
    try:
        old, new = line.split("@@")[1].split()
        counts = [int(side.split(",")[1]) if "," in side else 1 for side in (old, new)]
    except (IndexError, ValueError):
        return None
    return counts[0], counts[1]


def _parse(diff: str) -> list[_FilePatch]:
    """File patches in diff order; text between them is ignored, as `git apply` does."""
    patches: list[_FilePatch] = []
    current: _FilePatch | None = None
    old_left = new_left = 0
    lines = diff.split("\n")
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if old_left > 0 or new_left > 0:
            # Inside a hunk, lines are counted the way git counts them (an empty line is
            # context), so a removed line that starts with "-- " is not taken for a header.
            tag = line[:1]
            if tag in ("", " ", "-", "+", "\\"):
                old_left -= tag in ("", " ", "-")
                new_left -= tag in ("", " ", "+")
                continue
            old_left = new_left = 0
        if line.startswith("diff --git "):
            current = _FilePatch(git_paths=_git_header_paths(line[11:]))
            patches.append(current)
        elif line.startswith("--- ") and lines[index + 1:index + 2] != [] and \
                lines[index + 1].startswith("+++ "):
            if current is None or current.git_paths is None or current.has_names:
                current = _FilePatch()
                patches.append(current)
            current.has_names = True
            current.old = _header_path(line)
        elif line.startswith("+++ ") and current is not None and current.has_names:
            current.new = _header_path(line)
            if current.old is None:
                current.flags.add("new")
            if current.new is None:
                current.flags.add("deleted")
        elif line.startswith("@@ ") and current is not None:
            counts = _hunk_counts(line)
            if counts is not None:
                current.hunks += 1
                old_left, new_left = counts
        elif current is not None:
            _note_extended_header(current, line)
    return patches


def _note_extended_header(patch: _FilePatch, line: str) -> None:
    """Record what a git extended header line says about the file."""
    for prefix, flag in (("new file mode", "new"), ("deleted file mode", "deleted"),
                         ("rename from", "rename"), ("rename to", "rename"),
                         ("copy from", "copy"), ("copy to", "copy"),
                         ("Binary files ", "binary"), ("GIT binary patch", "binary"),
                         ("old mode", "mode"), ("new mode", "mode")):
        if line.startswith(prefix):
            patch.flags.add(flag)


def _strip_level(patches: Sequence[_FilePatch]) -> int:
    """1 when every name carries git's a/ and b/ prefixes, 0 when none does."""
    names = [(p.old, "a/") for p in patches if p.old] + [(p.new, "b/") for p in patches if p.new]
    for patch in patches:
        if patch.git_paths:
            names += [(patch.git_paths[0], "a/"), (patch.git_paths[1], "b/")]
    prefixed = [name.startswith(prefix) for name, prefix in names]
    if all(prefixed):
        return 1
    if not any(prefixed):
        return 0
    raise _Rejected("the diff mixes paths with and without the a/ and b/ prefixes")


def _stripped(name: str, level: int) -> str:
    return name.split("/", 1)[1] if level and "/" in name else name


def _patch_path(patch: _FilePatch, level: int) -> str | None:
    name = patch.new or patch.old
    if name is None and patch.git_paths:
        name = patch.git_paths[1]
    return _stripped(name, level) if name else None


def diff_files(diff: str) -> list[str]:
    """The files a unified diff touches, in diff order, without a/ and b/ prefixes."""
    patches = _parse(diff)
    try:
        level = _strip_level(patches)
    except _Rejected:
        level = 1
    paths = (_patch_path(patch, level) for patch in patches)
    return list(dict.fromkeys(path for path in paths if path))


def _validated_files(diff: str, allowed: Collection[str] | None) -> tuple[list[str], int]:
    """The files of a diff that only edits existing text files, and its -p level."""
    if not diff.strip():
        raise _Rejected("the diff is empty")
    if len(diff.encode("utf-8", errors="replace")) > MAX_DIFF_BYTES:
        raise _Rejected(f"the diff is larger than {MAX_DIFF_BYTES // 1024} KB")
    patches = _parse(diff)
    if not patches:
        raise _Rejected("no file headers (--- a/path, +++ b/path) found in the diff")
    level = _strip_level(patches)
    files: list[str] = []
    for patch in patches:
        path = _patch_path(patch, level) or "?"
        if patch.flags:
            what = _FLAG_REASONS[min(patch.flags)].format(path=path)
            raise _Rejected(f"the diff {what}; a suggestion only edits existing text files")
        if patch.old is None or patch.new is None:
            raise _Rejected(f"no ---/+++ lines for {path}")
        old, new = _stripped(patch.old, level), _stripped(patch.new, level)
        if old != new:
            raise _Rejected(f"the diff renames {old} to {new}")
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or ".git" in parts or "" in parts:
            raise _Rejected(f"the diff has an unsafe path: {path}")
        if not patch.hunks:
            raise _Rejected(f"the diff has no hunks for {path}")
        if allowed is not None and path not in allowed:
            raise _Rejected(f"{path} is not among the files navbot suggested")
        files.append(path)
    files = list(dict.fromkeys(files))
    if len(files) > MAX_FILES:
        raise _Rejected(f"the diff touches {len(files)} files; at most {MAX_FILES} are shown")
    return files, level


class _Git:
    """git in one repository; with a throwaway index and object store once `isolate`d."""

    def __init__(self, repo_path: Path) -> None:
        self.repo_path = Path(repo_path)
        self.env = {k: v for k, v in os.environ.items() if k not in _LOCAL_GIT_VARS}
        self.env["GIT_LITERAL_PATHSPECS"] = "1"  # a path in a diff is never a glob
        if not self.repo_path.is_dir():
            raise RepositoryError(f"{self.repo_path}: no such directory")
        found = self.run(["rev-parse", "--git-path", "objects"], check=False)
        if found.returncode != 0:
            why = found.stderr.decode("utf-8", errors="replace").strip().split("\n")[0]
            raise RepositoryError(f"{self.repo_path}: not a git repository ({why})")
        self.objects = (self.repo_path / found.stdout.decode().strip()).resolve()

    def isolate(self, scratch: Path) -> None:
        """Send index and object writes to `scratch`; the repository's objects stay readable."""
        (scratch / "objects").mkdir()
        self.env.update(GIT_INDEX_FILE=str(scratch / "index"),
                        GIT_OBJECT_DIRECTORY=str(scratch / "objects"),
                        GIT_ALTERNATE_OBJECT_DIRECTORIES=str(self.objects))

    def run(self, args: list[str], *, stdin: bytes | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[bytes]:
        """Run git; a failure (with `check`) or a timeout rejects with git's first error line."""
        try:
            result = run_git(args, cwd=self.repo_path, env=self.env, stdin=stdin,
                             timeout=GIT_TIMEOUT_S)
        except GitTimeoutError as exc:
            raise _Rejected(str(exc)) from exc
        if check and result.returncode != 0:
            lines = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise _Rejected(lines[0] if lines else f"git {args[0]} failed")
        return result

    def entries(self, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Mode and blob of each of `paths` in the index."""
        listing = self.run(["ls-files", "-s", "-z", "--", *paths]).stdout
        found = {}
        for record in filter(None, listing.decode("utf-8", errors="replace").split("\0")):
            meta, path = record.split("\t", 1)
            mode, blob, _stage = meta.split()
            found[path] = (mode, blob)
        return found

    def blob(self, sha: str) -> bytes:
        """The content of a blob."""
        return self.run(["cat-file", "blob", sha]).stdout


def _originals(git: _Git, commit: str, files: Sequence[str]) -> tuple[str, dict[str, bytes]]:
    """The full sha of `commit` and the content of `files` there (the index is read first)."""
    if commit.startswith("-"):
        raise UnknownCommitError(f"{commit!r} is not a commit")
    found = git.run(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], check=False)
    if found.returncode != 0:
        raise UnknownCommitError(f"{git.repo_path}: no commit {commit}")
    sha = found.stdout.decode().strip()
    try:
        git.run(["read-tree", sha])
        entries = git.entries(files)
        blobs = {path: entry[1] for path, entry in entries.items()}
        contents = {path: git.blob(blobs[path]) for path in files if path in blobs}
    except _Rejected as error:  # the commit exists, so this is the repository's fault
        raise RepositoryError(f"{git.repo_path}: cannot read {sha[:12]}: {error}") from error
    for path in files:
        if path not in entries:
            raise _Rejected(f"{path} does not exist at {sha[:12]}")
        if entries[path][0] not in TEXT_MODES:
            raise _Rejected(f"{path} is not a regular file at {sha[:12]}")
        if b"\0" in contents[path]:
            raise _Rejected(f"{path} is a binary file")
    return sha, contents


def _applied(git: _Git, sha: str, diff: str, level: int, files: Sequence[str]
             ) -> dict[str, bytes]:
    """The content of `files` after applying the diff to the throwaway index."""
    patch = (diff if diff.endswith("\n") else diff + "\n").encode("utf-8", errors="replace")
    options = [f"-p{level}", "--whitespace=nowarn"]
    try:
        git.run(["apply", "--cached", "--check", *options], stdin=patch)
    except _Rejected as error:
        raise _Rejected(f"does not apply to {sha[:12]}: {error}") from error
    git.run(["apply", "--cached", *options], stdin=patch)
    # What git changed, not what we parsed, is what counts: the two must agree.
    changed = git.run(["diff-index", "--cached", "--name-status", "-z", sha]).stdout
    fields = changed.decode("utf-8", errors="replace").split("\0")
    for status, path in zip(fields[::2], fields[1::2], strict=False):
        if status != "M" or path not in files:
            raise _Rejected(f"applying the diff would change {path} ({status}), "
                            "which its headers do not name")
    entries = git.entries(files)
    return {path: git.blob(entries[path][1]) for path in files}


def _has_errors(language: str, content: bytes) -> bool:
    from tree_sitter import Parser

    return bool(Parser(grammar(language)).parse(content).root_node.has_error)


def _parse_regressions(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Files that parsed without errors before the diff and with errors after it."""
    broken = []
    for path, content in after.items():
        language = language_for(path)
        if language and _has_errors(language, content) and \
                not _has_errors(language, before[path]):
            broken.append(path)
    return broken


def check_diff(repo_path: Path, commit: str, diff: str,
               allowed: Collection[str] | None = None) -> DiffCheck:
    """Whether `diff` edits only existing text files (of `allowed`), applies cleanly at
    `commit` and keeps them parsing; raises RepositoryError for a missing or broken repo."""
    files: list[str] = []
    try:
        files, level = _validated_files(diff, allowed)
        git = _Git(repo_path)
        with tempfile.TemporaryDirectory(prefix="navbot-diffcheck-") as scratch:
            git.isolate(Path(scratch))
            sha, before = _originals(git, commit, files)
            after = _applied(git, sha, diff, level, files)
        broken = _parse_regressions(before, after)
        if broken:
            raise _Rejected(f"after the diff, {', '.join(broken)} no longer parses")
        return DiffCheck(ok=True, reason=f"applies cleanly to {sha[:12]} and still parses",
                         files=tuple(files))
    except _Rejected as rejected:
        return DiffCheck(ok=False, reason=str(rejected), files=tuple(files))
