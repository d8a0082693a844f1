"""Evaluation rows: reading and checking them, gold derived from patches, finding repositories.

A bad row never stops a run: it becomes a `Skipped` entry with a reason and the run goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.facts import FileFacts
from navbot.core.errors import EvalDataError

REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")
PSEUDO_SPANS = frozenset({"imports", "impl"})
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


@dataclass
class Instance:
    """One issue with the files (and symbols) its fix changed."""

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    gold_files: list[str]
    gold_spans: dict[str, list[str]] | None = None
    patch: str | None = None


@dataclass
class Skipped:
    """A row the run could not use, and why."""

    instance_id: str
    reason: str


@dataclass
class Dataset:
    """The usable instances of a data file, and the rows that were skipped."""

    instances: list[Instance] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _as_structure(value: Any) -> Any:
    # Some exports store lists and dicts as JSON strings.
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        return json.loads(value)
    return value


def _instance(row: Mapping[str, Any]) -> Instance:
    missing = [name for name in REQUIRED if not row.get(name)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    gold_files = _as_structure(row.get("gold_files"))
    patch = row.get("patch") or None
    if not gold_files:
        if not patch:
            raise ValueError("neither gold_files nor patch")
        gold_files = files_from_patch(patch)
    if not isinstance(gold_files, list) or not all(isinstance(f, str) for f in gold_files):
        raise ValueError("gold_files is not a list of paths")
    spans = _as_structure(row.get("gold_spans")) or None
    if spans is not None and not isinstance(spans, dict):
        raise ValueError("gold_spans is not an object")
    return Instance(str(row["instance_id"]), str(row["repo"]), str(row["base_commit"]),
                    str(row["problem_statement"]), gold_files, spans, patch)


def load_dataset(path: Path) -> Dataset:
    """Read JSONL rows; a row that is not usable is skipped with its reason."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"cannot read {path}: {exc}") from None
    dataset = Dataset()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        label = f"line {number}"
        try:
            row = json.loads(text)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            label = str(row.get("instance_id") or label)
            dataset.instances.append(_instance(row))
        except (ValueError, TypeError) as exc:
            dataset.skipped.append(Skipped(label, f"{path.name} line {number}: {exc}"))
    return dataset


def select(instances: Iterable[Instance], repo: str | None = None,
           ids: Iterable[str] | None = None, limit: int | None = None) -> list[Instance]:
    """The instances a run covers: by repository, by id, then the first `limit` of them."""
    wanted = set(ids) if ids else None
    chosen = [i for i in instances
              if (repo is None or i.repo == repo) and (wanted is None or i.instance_id in wanted)]
    return chosen[:limit] if limit is not None else chosen


def files_from_patch(patch: str) -> list[str]:
    """The files a unified diff changes (the old path of a deleted file)."""
    return list(changed_lines(patch))


def changed_lines(patch: str) -> dict[str, set[int]]:
    """Old-side line numbers each file's hunks touch (insertions count at their position)."""
    changes: dict[str, set[int]] = {}
    old_path: str | None = None
    current: set[int] | None = None
    line = 0
    for text in patch.splitlines():
        if text.startswith("--- "):
            old_path = _diff_path(text[4:])
        elif text.startswith("+++ "):
            new_path = _diff_path(text[4:])
            path = new_path or old_path
            current = changes.setdefault(path, set()) if path else None
        elif (match := _HUNK.match(text)) is not None:
            line = int(match.group(1))
        elif current is not None and text.startswith("-"):
            current.add(line)
            line += 1
        elif current is not None and text.startswith("+"):
            current.add(max(line - 1, 1))
        elif current is not None and text.startswith(" "):
            line += 1
    return changes


def _diff_path(raw: str) -> str | None:
    raw = raw.split("\t")[0].strip()
    if raw == "/dev/null":
        return None
    return raw[2:] if raw.startswith(("a/", "b/")) else raw


def spans_from_patch(patch: str, facts: Mapping[str, FileFacts]) -> dict[str, list[str]]:
    """Symbols a patch touches: the innermost definition around each changed line."""
    spans: dict[str, list[str]] = {}
    for path, lines in changed_lines(patch).items():
        defs = facts[path].defs if path in facts else []
        touched: dict[str, None] = {}
        for line in sorted(lines):
            around = [d for d in defs if d.start_line <= line <= d.end_line]
            if around:
                touched.setdefault(min(around, key=lambda d: d.end_line - d.start_line).qualname)
            else:
                touched.setdefault("impl")
        spans[path] = list(touched)
    return spans


def gold_symbols(spans: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(path, qualname) pairs of the gold spans, without the module-level pseudo-spans."""
    return [(path, name) for path, names in spans.items() for name in names
            if name not in PSEUDO_SPANS]


def find_repository(repos_dir: Path, slug: str) -> Path | None:
    """The git directory for `owner/name` under `repos_dir` (`owner+name` or `owner/name`)."""
    owner, _, name = slug.partition("/")
    for base in (repos_dir / f"{owner}+{name}", repos_dir / owner / name):
        for candidate in (base, base / "repo", base / "repo.git", base / f"{name}.git"):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                return candidate
            if (candidate / ".git").exists():
                return candidate
    return None
