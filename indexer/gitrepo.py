"""The git edge: everything the indexer reads, straight from git objects.

Reading objects (never the work tree) means bare mirrors work and nothing on disk is
modified. This is the only indexer module that runs git, and `run_git` is navbot's one git
runner: the App's clones and diff checks call it too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from navbot.core.errors import GitTimeoutError, RepositoryError, UnknownCommitError

GIT_TIMEOUT_S = 600.0  # one call; a 2,000-commit `git log` of sympy takes a few seconds
# A repository's own config could otherwise start programs (an fsmonitor hook) or write
# index extensions on a read; every call overrides them.
SAFE_CONFIG = ("-c", "core.fsmonitor=false", "-c", "core.splitIndex=false",
               "-c", "core.untrackedCache=false")

# Unit and record separators cannot appear in sane commit metadata, so they delimit fields.
_LOG_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%B%x1f"
_MODE_SYMLINK = "120000"
_MODE_SUBMODULE = "160000"
_LOG_BATCH = 2000  # commits per `git log`; a batch with an absent blob is bisected


class _AbsentObject(RepositoryError):
    """git needed a blob the repository does not have."""


@dataclass(frozen=True)
class TreeEntry:
    """One blob in a commit's tree."""

    path: str
    blob: str
    size: int | None  # None: the object is absent (a partial clone or a trimmed mirror)


@dataclass(frozen=True)
class FileChange:
    """One file a commit changed, with its line counts (None for binary files)."""

    path: str
    added: int | None
    removed: int | None
    old_path: str | None = None


@dataclass(frozen=True)
class CommitRecord:
    """A commit as the history graph needs it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    timestamp: int
    message: str
    changes: tuple[FileChange, ...]


def run_git(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            stdin: bytes | None = None, timeout: float = GIT_TIMEOUT_S
            ) -> subprocess.CompletedProcess[bytes]:
    """Run git with the safe config, in `cwd` if given; git's exit status is the caller's."""
    command = ["git", *SAFE_CONFIG, *(["-C", str(cwd)] if cwd is not None else []), *args]
    try:
        return subprocess.run(command, input=stdin, capture_output=True, env=env,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GitTimeoutError(f"git {args[0]} timed out after {timeout:.0f} s") from None
    except FileNotFoundError:
        raise RepositoryError("git is not installed or not on PATH") from None
    except OSError as exc:
        raise RepositoryError(f"cannot run git: {exc.strerror or exc}") from None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class GitRepo:
    """A git repository (bare or not) read through the git command line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise RepositoryError(f"{self.path}: no such directory")
        result = self._run(["rev-parse", "--git-dir"], check=False)
        if result.returncode != 0:
            raise RepositoryError(f"{self.path}: not a git repository")
        self.git_dir = (self.path / _decode(result.stdout).strip()).resolve()

    def _run(self, args: list[str], *, check: bool = True, stdin: bytes | None = None
             ) -> subprocess.CompletedProcess[bytes]:
        result = run_git(args, cwd=self.path, stdin=stdin)
        if check and result.returncode != 0:
            raise RepositoryError(f"git {args[0]} failed: {_decode(result.stderr).strip()}")
        return result

    def resolve_commit(self, rev: str = "HEAD") -> str:
        """The full sha of `rev`, which must name a commit."""
        if rev.startswith("-"):
            raise UnknownCommitError(f"{rev!r} is not a commit")
        result = self._run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], check=False)
        if result.returncode != 0:
            raise UnknownCommitError(f"{self.path}: unknown commit {rev!r}")
        return _decode(result.stdout).strip()

    def commit_time(self, commit: str) -> int:
        """The committer timestamp of `commit`, in seconds since the epoch."""
        return int(_decode(self._run(["show", "-s", "--format=%ct", commit]).stdout).strip())

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is reachable from `descendant`."""
        result = self._run(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
        return result.returncode == 0

    def merge_base(self, commits: list[str]) -> str | None:
        """The best common ancestor of all `commits`; None when they share none."""
        if len(commits) == 1:
            return commits[0]
        result = self._run(["merge-base", "--octopus", *commits], check=False)
        found = _decode(result.stdout).split()
        return found[0] if result.returncode == 0 and found else None

    def remote_slug(self) -> str | None:
        """`owner/name` parsed from the origin remote's URL, if there is one."""
        result = self._run(["config", "--get", "remote.origin.url"], check=False)
        url = _decode(result.stdout).strip().removesuffix("/").removesuffix(".git")
        parts = url.replace(":", "/").split("/")
        if result.returncode != 0 or len(parts) < 2 or not all(parts[-2:]):
            return None
        return f"{parts[-2]}/{parts[-1]}"

    def list_tree(self, commit: str) -> list[TreeEntry]:
        """All regular blobs of `commit`; symlinks and submodules are left out."""
        out = self._run(["ls-tree", "-r", "-l", "-z", "--full-tree", commit]).stdout
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, blob, size = meta.split()
            if kind != b"blob" or mode.decode() in (_MODE_SYMLINK, _MODE_SUBMODULE):
                continue
            # ls-tree prints "BAD" instead of a size when the blob is not in the repository.
            known = size.isdigit()
            entries.append(TreeEntry(_decode(raw_path), blob.decode(),
                                     int(size) if known else None))
        return entries

    def read_file(self, commit: str, path: str) -> bytes:
        """The content of `path` at `commit`."""
        return self._run(["cat-file", "blob", f"{commit}:{path}"]).stdout

    def read_blobs(self, blobs: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Yield (sha, content) for each blob, through one `git cat-file --batch` process."""
        proc = subprocess.Popen(
            ["git", *SAFE_CONFIG, "-C", str(self.path), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for blob in blobs:
                proc.stdin.write(blob.encode() + b"\n")
                proc.stdin.flush()
                yield blob, _read_batch_object(proc.stdout, blob)
        finally:
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()

    def rev_list(self, commit: str, max_count: int) -> list[str]:
        """Shas of the newest `max_count` commits reachable from `commit`, newest first."""
        if max_count <= 0:
            return []
        out = self._run(["rev-list", f"--max-count={max_count}", commit]).stdout
        return _decode(out).split()

    def read_commits(self, shas: list[str]) -> list[CommitRecord]:
        """Metadata and per-file line counts of exactly these commits, in the given order.

        Merge commits come without changes: diffing them against a parent would count a
        whole branch again.
        """
        records: list[CommitRecord] = []
        for start in range(0, len(shas), _LOG_BATCH):
            records.extend(self._read_commit_batch(shas[start:start + _LOG_BATCH]))
        return records

    def _read_commit_batch(self, shas: list[str]) -> list[CommitRecord]:
        try:
            return parse_log(self._log(shas, ["--numstat", "-M"]))
        except _AbsentObject:
            # Line counts need blob contents, and some are absent (a partial clone or a
            # trimmed mirror): narrow down to the commits concerned and take only their paths.
            if len(shas) == 1:
                return parse_log(self._log(shas, ["--name-only", "--no-renames"]),
                                 counts=False)
            middle = len(shas) // 2
            return (self._read_commit_batch(shas[:middle])
                    + self._read_commit_batch(shas[middle:]))

    def _log(self, shas: list[str], diff_options: list[str]) -> bytes:
        if not shas:
            return b""
        result = self._run(
            ["log", "--no-walk=unsorted", "--stdin", "-z", *diff_options, "--no-color",
             f"--format={_LOG_FORMAT}"],
            stdin="\n".join(shas).encode(), check=False,
        )
        error = _decode(result.stderr).strip()
        if result.returncode != 0 and "unable to read" in error:
            raise _AbsentObject(error)
        if result.returncode != 0:
            raise RepositoryError(f"git log failed: {error}")
        return result.stdout


def _read_batch_object(stream: IO[bytes], blob: str) -> bytes:
    header = stream.readline()
    if header.endswith(b" missing\n"):
        raise RepositoryError(f"object {blob} is missing from the repository")
    size = int(header.split()[2])
    data = stream.read(size)
    stream.read(1)  # the newline git writes after every object
    return data


def parse_log(out: bytes, counts: bool = True) -> list[CommitRecord]:
    """Parse `git log -z --numstat` (or, without `counts`, `--name-only`) output written
    with :data:`_LOG_FORMAT`."""
    records = []
    for chunk in out.split(b"\x1e")[1:]:
        head, _, tail = chunk.partition(b"\x1f\x00")
        sha, parents, name, email, stamp, message = _decode(head).split("\x1f", 5)
        message = message.removesuffix("\x1f")
        records.append(
            CommitRecord(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email.lower(),
                timestamp=int(stamp or 0),
                message=message.strip(),
                changes=tuple(_parse_numstat(tail.lstrip(b"\n")) if counts
                              else _parse_names(tail.lstrip(b"\n"))),
            )
        )
    return records


def _parse_names(raw: bytes) -> Iterator[FileChange]:
    for token in raw.split(b"\0"):
        if token.strip():
            yield FileChange(path=_decode(token.lstrip(b"\n")), added=None, removed=None)


def _parse_numstat(raw: bytes) -> Iterator[FileChange]:
    tokens = iter(raw.split(b"\0"))
    for token in tokens:
        if not token.strip():
            continue
        added, removed, path = _decode(token.lstrip(b"\n")).split("\t", 2)
        old_path = None
        if not path:  # a rename: old and new paths follow as their own tokens
            old_path, path = _decode(next(tokens)), _decode(next(tokens))
        yield FileChange(
            path=path,
            added=None if added == "-" else int(added),
            removed=None if removed == "-" else int(removed),
            old_path=old_path,
        )
