"""What an issue names outright: paths, links, traceback frames, dotted names, identifiers.

Each is resolved against the search index to files and symbols, with a weight and the
evidence a maintainer can check ("traceback frame `shop/cart.py` line 12 in `total`").
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from retrieval.query import IssueQueries, is_code_name

if TYPE_CHECKING:
    from retrieval.search_index import SearchIndex

SPECIFIC_MAX_FILES = 5  # a name defined in more files than this says little


class Mentions:
    """What the issue names outright, as scores and evidence per file and symbol."""

    def __init__(self) -> None:
        self.files: dict[str, float] = defaultdict(float)
        self.symbols: dict[int, float] = defaultdict(float)
        self.evidence: dict[str, list[str]] = defaultdict(list)
        self.symbol_evidence: dict[int, list[str]] = defaultdict(list)
        self.specific_names = 0
        # Named exactly: a path with a directory (a frame's too), a link, a dotted name or a
        # code-shaped name that is a file or specific symbol of this repository.
        self.exact = False

    def add_file(self, path: str, weight: float, why: str) -> None:
        """Count `weight` for `path`, with why."""
        self.files[path] += weight
        if why not in self.evidence[path]:
            self.evidence[path].append(why)

    def add_symbol(self, index: SearchIndex, i: int, weight: float, why: str) -> None:
        """Count `weight` for symbol `i`, and half of it for its file."""
        self.symbols[i] += weight
        if why not in self.symbol_evidence[i]:
            self.symbol_evidence[i].append(why)
        self.add_file(index.corpus.symbols[i].path, weight / 2, why)


def collect_mentions(index: SearchIndex, queries: IssueQueries) -> Mentions:
    """Files and symbols the issue names: paths, links, frames, dotted names, identifiers."""
    mentions = Mentions()
    for written in queries.paths:
        matches = index.files_matching(written)
        mentions.exact |= bool(matches) and "/" in written.strip("/")
        for path in matches:
            mentions.add_file(path, 1.0 / len(matches), f"the issue names `{written}`")
    for link in queries.links:
        # A link's path is from its repository's root: only the same path is this file.
        if link.path not in index.file_position:
            continue
        mentions.exact = True
        mentions.add_file(link.path, 1.0, f"the issue links to `{link.path}`")
        symbol = index.innermost_symbol(link.path, link.line) if link.line else None
        if symbol is not None:
            # The link's commit may be older than the index, so the line is a hint.
            mentions.add_symbol(index, symbol, 0.5, f"the issue links to `{link.path}` "
                                f"line {link.line}")
    for frame in queries.frames:
        matches = index.files_matching(frame.path)
        for path in matches:
            symbol = index.innermost_symbol(path, frame.line)
            where = f"`{path}` line {frame.line}" + (f" in `{frame.function}`"
                                                     if frame.function else "")
            if symbol is not None:
                mentions.add_symbol(index, symbol, 1.0 / len(matches), f"traceback frame {where}")
    for dotted in queries.dotted:
        found = index.resolve_dotted(dotted)
        mentions.exact |= bool(found)
        files = {index.corpus.symbols[i].path for i in found}
        for i in found:
            mentions.add_symbol(index, i, 1.0 / max(len(files), 1),
                                f"the issue names `{dotted}`")
    for name in queries.identifiers:
        found = index.by_name.get(name, [])
        files = {index.corpus.symbols[i].path for i in found}
        if not found or len(files) > SPECIFIC_MAX_FILES:
            continue
        mentions.specific_names += 1
        mentions.exact |= is_code_name(name)
        for i in found:
            mentions.add_symbol(index, i, 0.5 / len(files), f"defines `{name}`, named in the issue")
    return mentions
