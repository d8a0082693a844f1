"""Turning an issue into queries: an issue is not a query.

From the issue's text this pulls what points at code: file paths, traceback frames,
dotted names, identifiers (in backticks, code blocks, or shaped like code), error types, and
links to files on GitHub.
Pure functions over strings.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from retrieval.text import STOPWORDS, tokenize

_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
_SOURCE_EXTENSIONS = r"(?:py|pyx|pyi|js|jsx|ts|tsx|go|java|rs|rb|c|h|cc|cpp|hpp|cfg|toml|ini)"
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\." + _SOURCE_EXTENSIONS + r")\b")
# A file on GitHub: github.com/OWNER/REPO/blob/REF/PATH, maybe with #L12 or #L12-L20.
_LINK = re.compile(r"https?://github\.com/[\w.-]+/[\w.-]+/blob/[\w.-]+/((?:[\w.-]+/)*[\w-]+\."
                   + _SOURCE_EXTENSIONS + r")\b(?:#L(\d+))?")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_WORD = re.compile(r"\b[A-Za-z_]\w*\b")
_ERROR = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b")
# `import a, b`, `import a.b as c`, `from a.b import c`, also after a `>>> ` prompt.
_IMPORT = re.compile(r"^[ \t]*(?:>>>[ \t]*)?(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b"
                     r"|import[ \t]+([A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?"
                     r"(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?)*))", re.M)
# Words shaped like code: snake_case, camelCase/CamelCase with an inner capital, dunder.
CODE_SHAPED = re.compile(r"^(?:_*[a-z0-9]+(?:_[a-z0-9]+)+_*|_*[A-Za-z][a-z0-9]*[A-Z]\w*|__\w+__)$")
#: Python's own names: builtins, keywords and the methods of its built-in types.
LANGUAGE_NAMES = frozenset(
    [*dir(builtins), *keyword.kwlist, *keyword.softkwlist]
    + [name for kind in (str, bytes, int, float, list, tuple, dict, set, frozenset)
       for name in dir(kind)])


@dataclass(frozen=True)
class Frame:
    """One traceback frame as written in the issue."""

    path: str
    line: int
    function: str | None


@dataclass(frozen=True)
class Link:
    """A link to a file of a repository on GitHub, and the line it points at if any."""

    path: str
    line: int | None


@dataclass
class IssueQueries:
    """What an issue's text says about code, ready for the retrieval signals."""

    text: str
    tokens: list[str]
    paths: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    dotted: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    code: str = ""
    links: list[Link] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # top-level packages the code imports

    @property
    def shape(self) -> str:
        """Rough issue shape: a traceback, code-heavy, or prose."""
        if self.frames:
            return "traceback"
        return "code" if self.code or self.identifiers else "prose"


def is_code_name(name: str) -> bool:
    """Whether `name` is a name of someone's code: code-shaped (snake_case, camelCase) with a
    lower-case letter (not an acronym like HTML), not a dunder and not Python's own."""
    return (name not in LANGUAGE_NAMES and not name.startswith("__")
            and CODE_SHAPED.match(name) is not None and any(c.islower() for c in name))


_Item = TypeVar("_Item", bound=Hashable)


def _unique(items: list[_Item]) -> list[_Item]:
    return list(dict.fromkeys(items))


_VERSION_LINE = re.compile(r"^\s*[\w.\-]+\s*[:=]?\s+v?\d+(\.\d+)+\S*\s*$")
_ENVIRONMENT_MARKERS = ("INSTALLED VERSIONS", "show_versions", "pip freeze", "conda list")


def imported_packages(text: str) -> list[str]:
    """The top-level packages `import` and `from … import` lines of `text` name, in order."""
    found: list[str] = []
    for match in _IMPORT.finditer(text):
        if match.group(1):
            found.append(match.group(1))
        else:
            found += [part.split()[0].split(".")[0] for part in match.group(2).split(",")]
    return _unique(found)


def strip_environment(text: str) -> str:
    """The issue without environment dumps (installed versions, pip or conda lists).

    Issue templates ask for them; their package names match the project's version-printing
    code, never the bug. A fenced or <details> block goes when it names such a dump or is
    mostly `name version` lines.
    """
    def dump(block: str) -> bool:
        lines = [line for line in block.splitlines() if line.strip()]
        versions = sum(1 for line in lines if _VERSION_LINE.match(line))
        return (any(marker in block for marker in _ENVIRONMENT_MARKERS)
                or (len(lines) >= 5 and versions >= len(lines) / 2))

    for pattern in (r"<details>.*?</details>", r"```.*?```"):
        text = re.sub(pattern, lambda m: " " if dump(m.group(0)) else m.group(0), text,
                      flags=re.S)
    return text


def parse_issue(text: str) -> IssueQueries:
    """Extract paths, frames, links, names, identifiers and errors from an issue's text."""
    text = strip_environment(text)
    links = _unique([Link(m.group(1), int(m.group(2)) if m.group(2) else None)
                     for m in _LINK.finditer(text)])
    frames = [Frame(m.group(1).replace("\\", "/"), int(m.group(2)), m.group(3))
              for m in _FRAME.finditer(text)]
    code_parts = _FENCE.findall(text) + _BACKTICKED.findall(text)
    code = "\n".join(code_parts)
    without_urls = re.sub(r"https?://\S+", " ", text)
    paths = _unique([m.group(1) for m in _PATH.finditer(without_urls)]
                    + [f.path for f in frames])
    path_like = set(paths)
    dotted = _unique([d for d in _DOTTED.findall(without_urls)
                      if d not in path_like and not any(d in p for p in path_like)
                      and not re.fullmatch(r"\w+\.(?:py|org|com|io|html|txt|rst|md)", d)])
    identifiers: list[str] = []
    for word in _WORD.findall(code):
        identifiers.append(word)
    for word in _CALLED.findall(without_urls):
        identifiers.append(word)
    for word in _WORD.findall(without_urls):
        if CODE_SHAPED.match(word):
            identifiers.append(word)
    for name in dotted:
        identifiers.extend(name.split("."))
    identifiers = _unique([w for w in identifiers
                           if len(w) > 2 and w.lower() not in STOPWORDS and not w.isdigit()])
    return IssueQueries(
        text=text, tokens=tokenize(text), paths=paths, frames=frames, dotted=dotted,
        identifiers=identifiers, errors=_unique(_ERROR.findall(text)), code=code, links=links,
        imports=imported_packages(text),
    )
