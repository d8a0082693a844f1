"""What else may need to change with a suggested edit, read off the knowledge graph.

Pure: graph data (and the text of doc files) in, plain records out. Each record says in one
sentence why it is there, with a path and line a maintainer can open to check it.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.graph import GraphData
from indexer.resolve import file_id, symbol_id
from retrieval.paths import is_test_path

KINDS = ("caller", "test", "subclass", "doc", "co_change")  # also the order of the answer
MIN_CO_CHANGES = 2
MIN_NAME_LENGTH = 4
MAX_CITED = 3  # call sites or mentions quoted in one reason
# Names so generic that a doc mentioning them says nothing about the target.
COMMON_NAMES = frozenset({
    "main", "run", "get", "set", "init", "setup", "test", "call", "name", "value", "data",
    "item", "items", "keys", "values", "update", "close", "open", "start", "stop", "read",
    "write", "load", "save", "copy", "send", "join", "next", "self", "args", "kwargs",
})
DOC_EXTENSIONS = (".md", ".markdown", ".rst", ".txt", ".adoc")
DOC_DIRS = ("doc", "docs")
# .txt files that are build or dependency lists, not prose
NOT_DOCS = ("requirements", "constraints", "cmakelists")


@dataclass(frozen=True)
class AlsoChange:
    """A place that may need to change too, and why."""

    path: str
    reason: str
    kind: str  # one of KINDS
    symbol: str | None = None
    lines: tuple[int, int] | None = None


@dataclass
class _Candidate:
    """An AlsoChange being put together, with what ranks it."""

    path: str
    kind: str
    symbol: str | None
    lines: tuple[int, int] | None
    strength: int
    cited: list[str] = field(default_factory=list)
    verb: str = ""

    def finished(self) -> AlsoChange:
        """The record, its reason quoting at most MAX_CITED sites."""
        more = len(self.cited) - MAX_CITED
        reason = f"{self.verb} {', '.join(self.cited[:MAX_CITED])}"
        if more > 0:
            reason += f" and {more} more"
        return AlsoChange(path=self.path, reason=reason, kind=self.kind, symbol=self.symbol,
                          lines=self.lines)


class _Tables:
    """The graph's nodes and the edges this module follows, indexed by their target."""

    def __init__(self, graph: GraphData) -> None:
        self.nodes: dict[str, dict[str, Any]] = dict(graph.nodes)
        self.calls_into: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.imports_into: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.subclasses: dict[str, list[str]] = defaultdict(list)
        self.members: dict[str, list[str]] = defaultdict(list)
        self.owner: dict[str, str] = {}
        self.defined_in: dict[str, list[str]] = defaultdict(list)
        self.co_changes: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for source, target, kind, attrs in graph.edges:
            if kind == "calls":
                self.calls_into[target].append((source, attrs))
            elif kind == "imports":
                self.imports_into[target].append((source, attrs))
            elif kind == "inherits":
                self.subclasses[target].append(source)
            elif kind == "defines":
                self.defined_in[source].append(target)
            elif kind == "contains" and source.startswith("sym:"):
                self.members[source].append(target)
                self.owner[target] = source
            elif kind == "co_changes":
                weight = int(attrs.get("weight", 0))
                self.co_changes[source].append((target, weight))
                self.co_changes[target].append((source, weight))

    def symbol(self, node: str) -> dict[str, Any] | None:
        """The attributes of a symbol node, or None for any other node."""
        attrs = self.nodes.get(node)
        return attrs if attrs is not None and attrs.get("kind") == "symbol" else None

    def with_members(self, node: str) -> list[str]:
        """A symbol and everything nested in it."""
        found, pending = [], [node]
        while pending:
            current = pending.pop()
            found.append(current)
            pending.extend(self.members.get(current, []))
        return found

    def all_subclasses(self, node: str) -> list[str]:
        """Classes inheriting from `node`, directly or not, nearest first."""
        seen: dict[str, None] = {}
        pending = list(self.subclasses.get(node, []))
        while pending:
            current = pending.pop(0)
            if current not in seen and current != node:
                seen[current] = None
                pending.extend(self.subclasses.get(current, []))
        return list(seen)


@dataclass
class _Targets:
    """What is being changed: whole files, and symbols (with their members)."""

    files: set[str] = field(default_factory=set)
    whole_files: set[str] = field(default_factory=set)
    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)

    def covers(self, node: str, path: str) -> bool:
        """Whether `node` (in `path`) is part of what is being changed anyway."""
        return node in self.symbols or path in self.whole_files


def _resolve_targets(tables: _Tables, targets: Sequence[tuple[str, str | None]]) -> _Targets:
    """Targets as graph nodes; a path or symbol the graph lacks adds nothing it cannot."""
    found = _Targets()
    for path, qualname in targets:
        if file_id(path) not in tables.nodes:
            continue
        found.files.add(path)
        if qualname is None:
            found.whole_files.add(path)
            roots = tables.defined_in.get(file_id(path), [])
        else:
            root = symbol_id(path, qualname)
            roots = [root] if tables.symbol(root) else []
        for root in roots:
            for node in tables.with_members(root):
                attrs = tables.symbol(node)
                if attrs is not None:
                    found.symbols[node] = attrs
    return found


def _site(path: str, line: object) -> str:
    return f"{path}:{line}" if line is not None else path


def _span(attrs: Mapping[str, Any]) -> tuple[int, int] | None:
    start, end = attrs.get("start_line"), attrs.get("end_line")
    return (int(start), int(end)) if start is not None and end is not None else None


def _at_line(line: int | None) -> tuple[int, int] | None:
    return (int(line), int(line)) if line is not None else None


def _kind_for(path: str, kind: str) -> str:
    """Code in a test file is listed as a test, whatever led to it."""
    return "test" if is_test_path(path) else kind


def _callers(tables: _Tables, found: _Targets) -> list[_Candidate]:
    """Symbols (or module-level code) calling the targets, from outside them."""
    by_source: dict[str, _Candidate] = {}
    for target in sorted(found.symbols):
        for source, attrs in tables.calls_into.get(target, []):
            node = tables.nodes.get(source, {})
            path = node.get("path")
            if path is None or found.covers(source, path):
                continue
            line = attrs.get("line")
            candidate = by_source.get(source)
            if candidate is None:
                is_symbol = node.get("kind") == "symbol"
                candidate = by_source[source] = _Candidate(
                    path=path, kind=_kind_for(path, "caller"),
                    symbol=node.get("qualname") if is_symbol else None,
                    lines=_span(node) if is_symbol else _at_line(line), strength=0, verb="calls")
            candidate.strength += int(attrs.get("count", 1))
            candidate.cited.append(f"`{found.symbols[target]['qualname']}` ({_site(path, line)})")
    return list(by_source.values())


def _importing_tests(tables: _Tables, found: _Targets) -> list[_Candidate]:
    """Test files importing a target file."""
    tests = []
    for path in sorted(found.files):
        for source, attrs in tables.imports_into.get(file_id(path), []):
            test_path = tables.nodes.get(source, {}).get("path")
            if test_path is None or not is_test_path(test_path) or test_path in found.files:
                continue
            line = attrs.get("line")
            tests.append(_Candidate(
                path=test_path, kind="test", symbol=None,
                lines=_at_line(line), strength=0,
                cited=[f"`{path}` ({_site(test_path, line)})"], verb="imports"))
    return tests


def _subclasses(tables: _Tables, found: _Targets) -> list[_Candidate]:
    """Subclasses of target classes, and overrides of target methods in subclasses."""
    candidates = []
    for target, attrs in sorted(found.symbols.items()):
        for sub in tables.all_subclasses(target):
            sub_attrs = tables.symbol(sub)
            if sub_attrs is None or found.covers(sub, sub_attrs["path"]):
                continue
            candidates.append(_inheritor(sub_attrs, f"`{attrs['qualname']}`", "subclasses"))
        owner = tables.owner.get(target)
        if owner is None or owner in found.symbols:
            continue  # a whole class is the target: its subclasses are listed already
        for sub in tables.all_subclasses(owner):
            sub_attrs = tables.symbol(sub)
            if sub_attrs is None:
                continue
            override = symbol_id(sub_attrs["path"], f"{sub_attrs['qualname']}.{attrs['name']}")
            over_attrs = tables.symbol(override)
            if over_attrs is None or found.covers(override, over_attrs["path"]):
                continue
            candidates.append(_inheritor(
                over_attrs, f"`{attrs['qualname']}` in subclass `{sub_attrs['qualname']}`",
                "overrides"))
    return candidates


def _inheritor(attrs: Mapping[str, Any], label: str, verb: str) -> _Candidate:
    """A subclass or an override (`attrs`) citing what it inherits from (`label`)."""
    path = attrs["path"]
    return _Candidate(path=path, kind=_kind_for(path, "subclass"), symbol=attrs["qualname"],
                      lines=_span(attrs), strength=1,
                      cited=[f"{label} ({_site(path, attrs.get('start_line'))})"], verb=verb)


def _doc_names(found: _Targets) -> list[str]:
    """Target names specific enough that a doc mentioning them is about them, longest first
    (so that `Cart.total` is one mention, not two)."""
    names = set()
    for attrs in found.symbols.values():
        name, qualname = attrs.get("name") or "", attrs.get("qualname") or ""
        if name.startswith("__"):
            continue
        if len(name) >= MIN_NAME_LENGTH and name not in COMMON_NAMES:
            names.add(name)
        if "." in qualname:
            names.add(qualname)
    return sorted(names, key=lambda name: (-len(name), name))


def _docs(found: _Targets, docs: Mapping[str, str]) -> list[_Candidate]:
    """Doc files mentioning a target's name as a whole, case-sensitive word."""
    names = _doc_names(found)
    if not names:
        return []
    pattern = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, names)) + r")(?![\w])")
    candidates = []
    for path in sorted(docs):
        if path in found.files:
            continue
        mentions = [(number, match.group(1))
                    for number, line in enumerate(docs[path].splitlines(), start=1)
                    for match in pattern.finditer(line)]
        if mentions:
            candidates.append(_Candidate(
                path=path, kind="doc", symbol=None, lines=(mentions[0][0], mentions[-1][0]),
                strength=len(mentions), verb="mentions",
                cited=[f"`{name}` ({path}:{number})" for number, name in mentions]))
    return candidates


def _co_changes(tables: _Tables, found: _Targets) -> list[_Candidate]:
    """Files that changed together with a target file in at least MIN_CO_CHANGES commits."""
    best: dict[str, tuple[int, str]] = {}
    for path in sorted(found.files):
        for other, weight in tables.co_changes.get(file_id(path), []):
            other_path = tables.nodes.get(other, {}).get("path")
            if other_path is None or other_path in found.files or weight < MIN_CO_CHANGES:
                continue
            if other_path not in best or weight > best[other_path][0]:
                best[other_path] = (weight, path)
    return [_Candidate(path=other, kind="co_change", symbol=None, lines=None, strength=weight,
                       verb=f"changed together in {weight} commits with",
                       cited=[f"`{target}`"])
            for other, (weight, target) in best.items()]


def also_change(graph: GraphData, targets: Sequence[tuple[str, str | None]],
                docs: Mapping[str, str] | None = None, limit: int = 8) -> list[AlsoChange]:
    """Other places that may need to change with `targets` ((path, qualname or None) pairs):
    callers, tests, subclasses, docs and files that usually change with them."""
    tables = _Tables(graph)
    found = _resolve_targets(tables, targets)
    candidates = [*_callers(tables, found), *_importing_tests(tables, found),
                  *_subclasses(tables, found), *_docs(found, docs or {}),
                  *_co_changes(tables, found)]
    candidates.sort(key=lambda c: (KINDS.index(c.kind), -c.strength, c.path, c.symbol or "",
                                   c.lines or (0, 0)))
    answer: dict[tuple[str, str | None], AlsoChange] = {}
    for candidate in candidates:
        if len(answer) >= limit:
            break
        answer.setdefault((candidate.path, candidate.symbol), candidate.finished())
    return list(answer.values())


def doc_paths(paths: Iterable[str]) -> list[str]:
    """The paths among `paths` that are documentation: prose files, READMEs, doc folders."""
    docs = []
    for path in paths:
        name = posixpath.basename(path)
        stem, extension = posixpath.splitext(name.lower())
        in_doc_dir = any(part.lower() in DOC_DIRS for part in path.split("/")[:-1])
        if is_test_path(path) or stem.startswith(NOT_DOCS):
            continue
        if extension in DOC_EXTENSIONS or name.upper().startswith("README") or \
                (in_doc_dir and not extension):
            docs.append(path)
    return sorted(set(docs))
