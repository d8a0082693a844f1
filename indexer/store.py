"""Per-repository persistence: snapshots of graph, facts and history, and the manifest.

Layout of a repository folder::

    manifest.json          the commit point: which snapshot is current, and what it holds
    .lock                  held while an indexer writes
    snapshots/<id>/        graph.json, facts.json, history.json

A snapshot is written in full under a temporary name and renamed into place, and only then
does the manifest (replaced atomically) point at it. A crash or Ctrl-C at any moment leaves
the previous manifest and snapshot untouched. Everything is JSON: no pickle, because the
data derives from untrusted repositories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from indexer.facts import FileFacts, facts_from_json, facts_to_json
from indexer.gitrepo import CommitRecord, FileChange, GitRepo
from indexer.graph import GraphData, graph_from_json
from navbot.core.errors import IndexLockedError, IndexStoreError
from navbot.core.gc_pause import without_gc

if TYPE_CHECKING:
    from navbot.core.config import Settings

SCHEMA_VERSION = 1


@dataclass
class IndexState:
    """What an earlier index left: enough to move it forward incrementally."""

    manifest: dict[str, Any]
    facts: dict[str, FileFacts]
    skipped: dict[str, tuple[str, str]]
    history: dict[str, CommitRecord]


def _write_json(path: Path, data: Any) -> None:
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(data))
        handle.flush()
        os.fsync(handle.fileno())


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise IndexStoreError(f"{path} is missing; run `navbot index` again") from None
    except orjson.JSONDecodeError as exc:
        raise IndexStoreError(f"{path} is corrupt ({exc}); run `navbot index --full`") from None


def _record_from_json(data: list[Any]) -> CommitRecord:
    sha, parents, name, email, stamp, message, changes = data
    return CommitRecord(sha, tuple(parents), name, email, stamp, message,
                        tuple(FileChange(*c) for c in changes))


def _record_to_json(record: CommitRecord) -> list[Any]:
    return [record.sha, list(record.parents), record.author_name, record.author_email,
            record.timestamp, record.message,
            [[c.path, c.added, c.removed, c.old_path] for c in record.changes]]


class IndexStore:
    """The folder holding one repository's index."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.manifest_path = self.root / "manifest.json"

    @classmethod
    def for_repo(cls, settings: Settings, repo: GitRepo) -> IndexStore:
        """The store of `repo`'s index."""
        # Lazy: the settings module loads pydantic, which reading a store does not need.
        from navbot.core.config import repo_key_for_path

        return cls(settings.repo_dir(repo_key_for_path(repo.path)))

    @classmethod
    def for_path(cls, settings: Settings, path: Path) -> IndexStore:
        """The store of the git repository at `path` (which must be one)."""
        return cls.for_repo(settings, GitRepo(path))

    @contextlib.contextmanager
    def lock(self, timeout: float = 0.0) -> Iterator[None]:
        """Hold the repository's write lock; fail at once (or after `timeout`) if taken."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self.root / ".lock"), timeout=timeout):
                self._remove_stale_temporaries()
                yield
        except Timeout:
            raise IndexLockedError(
                f"another navbot process is indexing into {self.root}; try again when it ends"
            ) from None

    def _remove_stale_temporaries(self) -> None:
        # Left by an interrupted run; harmless but wasted space.
        for leftover in (self.root / "snapshots").glob("*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)

    def exists(self) -> bool:
        """Whether an index was ever completed here."""
        return self.manifest_path.exists()

    def manifest(self) -> dict[str, Any]:
        """The current manifest; raises IndexStoreError when there is no usable index."""
        if not self.exists():
            raise IndexStoreError(f"no index in {self.root}; run `navbot index` first")
        manifest = _read_json(self.manifest_path)
        if manifest.get("schema") != SCHEMA_VERSION:
            raise IndexStoreError(
                f"index in {self.root} has schema {manifest.get('schema')}, this navbot reads "
                f"{SCHEMA_VERSION}; run `navbot index --full`"
            )
        return manifest

    def _replace_manifest(self, manifest: Mapping[str, Any]) -> None:
        temporary = self.root / "manifest.json.tmp"
        _write_json(temporary, manifest)
        os.replace(temporary, self.manifest_path)

    def _snapshot(self, manifest: Mapping[str, Any]) -> Path:
        return self.root / "snapshots" / str(manifest["snapshot"])

    @without_gc
    def load_graph(self) -> GraphData:
        """The current graph."""
        return graph_from_json(_read_json(self._snapshot(self.manifest()) / "graph.json"))

    def replace_graph(self, graph: GraphData) -> None:
        """Replace the current snapshot's graph atomically (the GitHub overlay changed)."""
        snapshot = self._snapshot(self.manifest())
        temporary = snapshot / "graph.json.tmp"
        _write_json(temporary, {"format": "navbot-graph", "schema": SCHEMA_VERSION,
                                "nodes": graph.nodes, "edges": graph.edges})
        os.replace(temporary, snapshot / "graph.json")

    def github_items(self) -> list[dict[str, Any]]:
        """The issues and PRs ingested from GitHub, kept apart so every rebuild reapplies them."""
        path = self.root / "github.json"
        return list(_read_json(path)["items"]) if path.exists() else []

    def save_github_items(self, items: list[dict[str, Any]]) -> None:
        """Replace the ingested issues and PRs atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / "github.json.tmp"
        _write_json(temporary, {"schema": SCHEMA_VERSION, "items": items})
        os.replace(temporary, self.root / "github.json")

    @without_gc
    def load_state(self) -> IndexState:
        """Manifest, facts and history of the current snapshot."""
        manifest = self.manifest()
        snapshot = self._snapshot(manifest)
        facts_data = _read_json(snapshot / "facts.json")
        history_data = _read_json(snapshot / "history.json")
        return IndexState(
            manifest=manifest,
            facts={row[0]: facts_from_json(row) for row in facts_data["files"]},
            skipped={path: (blob, reason) for path, (blob, reason)
                     in facts_data["skipped"].items()},
            history={r[0]: _record_from_json(r) for r in history_data["commits"]},
        )

    def write_snapshot(self, graph: GraphData, facts: Mapping[str, FileFacts],
                       skipped: Mapping[str, tuple[str, str]], history: list[CommitRecord]
                       ) -> str:
        """Write a complete new snapshot, not yet current; return its id for `commit`."""
        snapshot_id = uuid.uuid4().hex[:12]
        snapshots = self.root / "snapshots"
        temporary = snapshots / f"{snapshot_id}.tmp"
        temporary.mkdir(parents=True)
        _write_json(temporary / "graph.json", {
            "format": "navbot-graph", "schema": SCHEMA_VERSION,
            "nodes": graph.nodes, "edges": graph.edges,
        })
        _write_json(temporary / "facts.json", {
            "schema": SCHEMA_VERSION,
            "files": [facts_to_json(f) for _, f in sorted(facts.items())],
            "skipped": {path: list(v) for path, v in sorted(skipped.items())},
        })
        _write_json(temporary / "history.json", {
            "schema": SCHEMA_VERSION, "commits": [_record_to_json(r) for r in history],
        })
        os.replace(temporary, snapshots / snapshot_id)
        return snapshot_id

    def commit(self, manifest: Mapping[str, Any], snapshot_id: str) -> None:
        """Make `snapshot_id` current by replacing the manifest atomically; drop the old one."""
        previous = self._snapshot(_read_json(self.manifest_path)) if self.exists() else None
        self._replace_manifest({**manifest, "schema": SCHEMA_VERSION, "snapshot": snapshot_id})
        if previous is not None and previous.name != snapshot_id:
            shutil.rmtree(previous, ignore_errors=True)
