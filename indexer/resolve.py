"""Resolve imports to repository files and call/base names to definitions (best effort).

Pure functions over FileFacts. Resolution is global (a new file can change what another
file's import means), which is why the graph is always rebuilt from all facts.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from indexer.facts import MODULE, FileFacts, ImportRef
from indexer.parse import CLASS_LIKE

MAX_AMBIGUOUS = 3  # a name defined more often than this in scope is too vague to link
MAX_PACKAGE_FILES = 50  # a Go/Java package import links at most this many files
JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".d.ts")


@dataclass
class Resolution:
    """Edges found by resolution, as (source id, target id, attributes)."""

    imports: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    inherits: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)


def symbol_id(path: str, qualname: str) -> str:
    """The graph node id of a symbol."""
    return f"sym:{path}::{qualname}"


def file_id(path: str) -> str:
    """The graph node id of a file."""
    return f"file:{path}"


def python_module_names(paths: Iterable[str]) -> dict[str, str]:
    """Dotted module name of each Python file, counted from its top-most package."""
    py = [p for p in paths if p.endswith((".py", ".pyi"))]
    packages = {posixpath.dirname(p) for p in py if posixpath.basename(p) == "__init__.py"}
    names = {}
    for path in py:
        directory = posixpath.dirname(path)
        stem = posixpath.basename(path).rsplit(".", 1)[0]
        parts = [] if stem == "__init__" else [stem]
        while directory and directory in packages:
            parts.insert(0, posixpath.basename(directory))
            directory = posixpath.dirname(directory)
        if parts:
            names[path] = ".".join(parts)
    return names


class _Index:
    """Lookup tables over all files, built once per resolution."""

    def __init__(self, facts: Mapping[str, FileFacts]) -> None:
        self.facts = facts
        self.paths = set(facts)
        self.py_module_of = python_module_names(self.paths)
        self.py_path_of: dict[str, str] = {}
        for path in sorted(self.py_module_of):
            self.py_path_of.setdefault(self.py_module_of[path], path)
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        self.dir_files: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.paths):
            parts = path.split("/")
            for i in range(len(parts)):
                self.by_suffix["/".join(parts[i:])].append(path)
            self.dir_files[posixpath.dirname(path)].append(path)
        self.dir_suffix: dict[str, list[str]] = defaultdict(list)
        for directory in sorted(self.dir_files):
            parts = directory.split("/") if directory else []
            for i in range(len(parts)):
                self.dir_suffix["/".join(parts[i:])].append(directory)
        self.defs_by_name: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for path in sorted(facts):
            for d in facts[path].defs:
                self.defs_by_name[d.name].append((path, d.qualname, d.kind))

    def unique_suffix(self, suffix: str) -> str | None:
        matches = self.by_suffix.get(suffix.lstrip("/"), [])
        return matches[0] if len(matches) == 1 else None

    def first_existing(self, candidates: Iterable[str]) -> str | None:
        for candidate in candidates:
            normalized = posixpath.normpath(candidate)
            if normalized in self.paths:
                return normalized
        return None


def _python_targets(index: _Index, path: str, ref: ImportRef) -> list[tuple[str, list[str]]]:
    source = ref.source
    level = len(source) - len(source.lstrip("."))
    rest = source[level:]
    if level:
        module = index.py_module_of.get(path, "")
        package = module.split(".") if path.endswith("__init__.py") else module.split(".")[:-1]
        if level > 1:
            package = package[: len(package) - (level - 1)]
        base = ".".join(package + ([rest] if rest else []))
    else:
        base = rest
    targets: dict[str, list[str]] = {}
    for name in ref.names:
        submodule = index.py_path_of.get(f"{base}.{name}" if base else name)
        if submodule and name != "*":
            targets.setdefault(submodule, [])
        elif base in index.py_path_of:
            targets.setdefault(index.py_path_of[base], []).append(name)
    if not ref.names:
        parts = base.split(".")
        for end in range(len(parts), 0, -1):
            found = index.py_path_of.get(".".join(parts[:end]))
            if found:
                targets.setdefault(found, [])
                break
    return list(targets.items())


def _relative_candidates(path: str, source: str, extensions: Iterable[str]) -> list[str]:
    base = posixpath.join(posixpath.dirname(path), source)
    candidates = [base] + [base + ext for ext in extensions]
    candidates += [posixpath.join(base, "index" + ext) for ext in extensions]
    return candidates


def _package_files(index: _Index, directory_suffix: str, extension: str) -> list[str]:
    directories = index.dir_suffix.get(directory_suffix, [])
    if len(directories) != 1:
        return []
    files = [p for p in index.dir_files[directories[0]]
             if p.endswith(extension) and not p.endswith("_test.go")]
    return files[:MAX_PACKAGE_FILES]


def _import_targets(index: _Index, facts: FileFacts, ref: ImportRef
                    ) -> list[tuple[str, list[str]]]:
    """Repository files an import refers to, each with the names taken from it."""
    language, path, source = facts.language, facts.path, ref.source
    if language == "python":
        return _python_targets(index, path, ref)
    found: str | None = None
    if language in ("javascript", "typescript", "tsx"):
        if source.startswith("."):
            found = index.first_existing(_relative_candidates(path, source, JS_EXTENSIONS))
    elif language == "go":
        parts = source.split("/")
        for start in range(len(parts)):
            files = _package_files(index, "/".join(parts[start:]), ".go")
            if files:
                return [(f, []) for f in files]
    elif language == "java":
        dotted = source.removeprefix("static ").removesuffix(".*")
        if source.endswith(".*"):
            return [(f, []) for f in _package_files(index, dotted.replace(".", "/"), ".java")]
        parts = dotted.split(".")
        for end in (len(parts), len(parts) - 1):
            found = index.unique_suffix("/".join(parts[:end]) + ".java")
            if found:
                break
    elif language == "rust":
        found = _rust_target(index, path, source)
    elif language == "ruby":
        name = source if source.endswith(".rb") else source + ".rb"
        found = index.first_existing([posixpath.join(posixpath.dirname(path), name)])
        found = found or index.unique_suffix(name)
    elif language in ("c", "cpp"):
        found = index.first_existing([posixpath.join(posixpath.dirname(path), source)])
        found = found or index.unique_suffix(source)
    return [(found, list(ref.names))] if found and found != path else []


def _rust_target(index: _Index, path: str, source: str) -> str | None:
    parts = [p for p in source.replace("::", "/").split("/") if p]
    directory = posixpath.dirname(path)
    if len(parts) == 1 and parts[0] not in ("crate", "self", "super"):
        # `mod foo;` next to the declaring file
        stem = posixpath.basename(path).rsplit(".", 1)[0]
        here = directory if stem in ("mod", "lib", "main") else posixpath.join(directory, stem)
        return index.first_existing(
            [posixpath.join(here, parts[0] + ".rs"), posixpath.join(here, parts[0], "mod.rs")])
    if not parts or parts[0] not in ("crate", "self", "super"):
        return None
    root = directory
    if parts[0] == "crate":
        while root and posixpath.basename(root) != "src":
            root = posixpath.dirname(root)
    elif parts[0] == "super":
        root = posixpath.dirname(directory)
    rest = parts[1:]
    for end in range(len(rest), 0, -1):
        stem = posixpath.join(root, *rest[:end])
        found = index.first_existing([stem + ".rs", posixpath.join(stem, "mod.rs")])
        if found:
            return found
    return None


def _candidates(index: _Index, facts: FileFacts, name: str, imported: Mapping[str, list[str]],
                imported_files: Iterable[str], class_only: bool) -> list[str]:
    """Symbol ids a bare `name` used in `facts.path` most plausibly means."""
    defs = index.defs_by_name.get(name, [])
    if class_only:
        defs = [d for d in defs if d[2] in CLASS_LIKE]
    if not defs:
        return []
    local = [d for d in defs if d[0] == facts.path]
    if not local and name in imported:
        local = [d for d in defs if d[0] in imported[name]]
    if not local:
        files = set(imported_files)
        local = [d for d in defs if d[0] in files]
    if not local:
        local = defs if len(defs) == 1 else []
    if len(local) > MAX_AMBIGUOUS:
        return []
    return [symbol_id(path, qualname) for path, qualname, _ in local]


def resolve(facts: Mapping[str, FileFacts]) -> Resolution:
    """Import, call and inheritance edges across all files."""
    index = _Index(facts)
    result = Resolution()
    for path in sorted(facts):
        item = facts[path]
        if item.language is None:
            continue
        imported_names: dict[str, list[str]] = defaultdict(list)
        imported_files: dict[str, int] = {}
        for ref in item.imports:
            for target, names in _import_targets(index, item, ref):
                if target not in imported_files:
                    imported_files[target] = ref.line
                for name in names:
                    imported_names[name.rsplit(".", 1)[-1]].append(target)
        for target, line in imported_files.items():
            result.imports.append((file_id(path), file_id(target), {"line": line}))
        for call in item.calls:
            source = file_id(path) if call.caller == MODULE else symbol_id(path, call.caller)
            for target in _candidates(index, item, call.name, imported_names, imported_files,
                                      class_only=False):
                if target != source:
                    result.calls.append(
                        (source, target, {"line": call.line, "count": call.count}))
        for definition in item.defs:
            for base in definition.bases:
                name = base.replace("::", ".").rsplit(".", 1)[-1].split("<", 1)[0].strip()
                for target in _candidates(index, item, name, imported_names, imported_files,
                                          class_only=True):
                    source = symbol_id(path, definition.qualname)
                    if target != source:
                        result.inherits.append((source, target, {"base": base}))
    return result
