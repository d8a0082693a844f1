"""Which files the index skips, and why: pure rules over paths, sizes and content."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

BINARY_SNIFF_BYTES = 8192
_BINARY_SUFFIXES = frozenset([
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".pdf", ".zip", ".gz", ".bz2",
    ".xz", ".tar", ".jar", ".whl", ".so", ".dll", ".dylib", ".exe", ".o", ".a", ".pyc",
    ".class", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".wav", ".ogg",
    ".npy", ".npz", ".pkl", ".pickle", ".db", ".sqlite", ".bin",
])
_MINIFIED_SUFFIXES = (".min.js", ".min.css", ".min.mjs", "-min.js", ".bundle.js")
# A library copied in with its version in the name: jquery-3.5.1.js, underscore-1.13.1.js.
_VERSIONED_COPY = re.compile(r"[-_.]v?\d+(\.\d+)+(\.min)?\.(js|mjs|css)$")
_MINIFIED_LINE = 1000  # average characters per line above which JS is generated


@dataclass(frozen=True)
class SkipRules:
    """What to skip: directory names, glob patterns and a size limit."""

    skip_dirs: frozenset[str]
    ignore: tuple[str, ...]
    max_bytes: int

    @classmethod
    def create(cls, skip_dirs: Iterable[str], ignore: Iterable[str], max_bytes: int
               ) -> SkipRules:
        """Build rules from settings values."""
        return cls(frozenset(skip_dirs), tuple(ignore), max_bytes)

    def fingerprint(self) -> str:
        """A stable text that changes whenever the rules do (a changed rule forces a full index)."""
        return f"{sorted(self.skip_dirs)}|{list(self.ignore)}|{self.max_bytes}"


def skip_reason_for_path(path: str, size: int | None, rules: SkipRules) -> str | None:
    """Why `path` is skipped before reading it, or None to read it (size None: blob absent)."""
    if size is None:
        return "blob absent from the repository (partial clone?)"
    parts = PurePosixPath(path).parts
    for part in parts[:-1]:
        if part in rules.skip_dirs:
            return f"vendored or generated directory {part}/"
    for pattern in rules.ignore:
        if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(parts[-1], pattern):
            return f"ignored by pattern {pattern!r}"
    lowered = path.lower()
    if _VERSIONED_COPY.search(lowered):
        return "vendored copy of a versioned library"
    if lowered.endswith(_MINIFIED_SUFFIXES):
        return "minified"
    if PurePosixPath(lowered).suffix in _BINARY_SUFFIXES:
        return "binary"
    if size > rules.max_bytes:
        return f"larger than {rules.max_bytes} bytes"
    return None


def skip_reason_for_content(path: str, content: bytes) -> str | None:
    """Why already-read `content` is skipped (binary, minified), or None to index it."""
    if b"\0" in content[:BINARY_SNIFF_BYTES]:
        return "binary"
    if path.lower().endswith((".js", ".mjs", ".cjs", ".css")) and content:
        lines = content.count(b"\n") + 1
        if len(content) / lines > _MINIFIED_LINE:
            return "minified"
    return None
