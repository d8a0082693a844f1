"""Which files are source code, in which language, and the tree-sitter grammar for each.

Grammars come from the per-language `tree-sitter-*` wheels, which bundle compiled parsers,
so nothing is downloaded at run time. Queries live beside this module as `queries/<lang>.scm`.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib import resources
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Query

#: language name -> (module, function returning the grammar pointer)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    ".rb": "ruby", ".rake": "ruby",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}


def language_for(path: str) -> str | None:
    """The language whose symbols we extract from `path`, or None for plain text files."""
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower())


@cache
def grammar(language: str) -> Language:
    """The tree-sitter Language object for `language` (loaded once per process)."""
    from tree_sitter import Language

    module_name, func = GRAMMARS[language]
    module = importlib.import_module(module_name)
    return Language(getattr(module, func)())


@cache
def query(language: str) -> Query:
    """The compiled tags query from `queries/<language>.scm`."""
    from tree_sitter import Query

    return Query(grammar(language), query_source(language))


def query_source(language: str) -> str:
    """The text of `queries/<language>.scm`, after the files its `; inherits:` line names."""
    source = resources.files("indexer").joinpath("queries", f"{language}.scm").read_text()
    first = source.split("\n", 1)[0]
    if not first.startswith("; inherits:"):
        return source
    parents = [name.strip() for name in first.removeprefix("; inherits:").split(",")]
    return "\n".join([*(query_source(name) for name in parents), source])
