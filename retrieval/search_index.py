"""The built search index of one repository: lexical indexes, name tables and the signals.

Pure data and lookups; `retrieval.locate` ranks over it and `retrieval.persist` saves it.
"""

from __future__ import annotations

from collections import defaultdict

from indexer.graph import GraphData
from indexer.resolve import python_module_names
from retrieval.corpus import Corpus
from retrieval.dense import DenseSignal
from retrieval.expand import Neighbourhood
from retrieval.history_signal import HistorySignal
from retrieval.lexical import LexicalIndex
from retrieval.symbol_rank import name_parts
from retrieval.text import tokenize_path


class SearchIndex:
    """Lexical indexes, name tables, and optionally the dense, history and graph signals.

    Build one from a corpus with :meth:`build`, or load a saved one
    (:mod:`retrieval.persist`); either way the parts are the same.
    """

    def __init__(self, corpus: Corpus, files_lexical: LexicalIndex,
                 symbols_lexical: LexicalIndex, history: HistorySignal | None = None,
                 neighbourhood: Neighbourhood | None = None, dense: DenseSignal | None = None
                 ) -> None:
        self.corpus = corpus
        self.files_lexical = files_lexical
        self.symbols_lexical = symbols_lexical
        self.history = history
        self.neighbourhood = neighbourhood
        self.dense = dense
        self.file_position = {path: i for i, path in enumerate(corpus.files)}
        # Built, not saved: a few words per file, so cheaper to build than to load.
        self.paths_lexical = LexicalIndex.from_tokens([tokenize_path(p) for p in corpus.files])
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_qualname: dict[str, list[int]] = defaultdict(list)
        self.by_file: dict[str, list[int]] = defaultdict(list)
        self.by_name_part: dict[str, list[int]] = defaultdict(list)
        self.symbol_position: dict[tuple[str, str], int] = {}
        self.symbol_paths = [symbol.path for symbol in corpus.symbols]
        self.symbol_qualnames = [symbol.qualname for symbol in corpus.symbols]
        for i, symbol in enumerate(corpus.symbols):
            self.symbol_position.setdefault((symbol.path, symbol.qualname), i)
            self.by_name[symbol.name].append(i)
            self.by_qualname[symbol.qualname].append(i)
            self.by_file[symbol.path].append(i)
            for part in name_parts(symbol.name):
                self.by_name_part[part].append(i)
        self.modules = {name: path for path, name in python_module_names(corpus.files).items()}
        self.module_parts = {part for name in self.modules for part in name.split(".")}
        self.top_packages = {name.split(".")[0] for name in self.modules}

    @classmethod
    def build(cls, corpus: Corpus, graph: GraphData | None = None,
              dense: DenseSignal | None = None) -> SearchIndex:
        """Index `corpus`; with the graph, add the history and neighbourhood signals."""
        searchable = set(corpus.files)
        return cls(corpus, LexicalIndex(corpus.file_rows, corpus.vocabulary),
                   LexicalIndex(corpus.symbol_rows, corpus.vocabulary),
                   HistorySignal.from_graph(graph, searchable) if graph else None,
                   Neighbourhood.from_graph(graph, searchable) if graph else None, dense)

    def defines(self, name: str) -> bool:
        """Whether this repository defines `name`: a symbol, or a module or package."""
        return name in self.by_name or name in self.module_parts

    def files_matching(self, written: str) -> list[str]:
        """Indexed files a path written in an issue refers to (suffix match on components)."""
        written = written.lstrip("./")
        if written in self.file_position:
            return [written]
        return [p for p in self.corpus.files
                if p.endswith("/" + written) or written.endswith("/" + p)]

    def innermost_symbol(self, path: str, line: int) -> int | None:
        """The narrowest definition of `path` that contains `line`."""
        found = [i for i in self.by_file.get(path, [])
                 if self.corpus.symbols[i].start_line <= line <= self.corpus.symbols[i].end_line]
        return min(found, key=lambda i: self.corpus.symbols[i].end_line
                   - self.corpus.symbols[i].start_line, default=None)

    def resolve_dotted(self, dotted: str) -> list[int]:
        """Symbols a dotted name refers to: `pkg.mod.Class.meth`, `Class.meth` or `mod.func`."""
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.modules.get(".".join(parts[:cut]))
            if path is not None:
                qualname = ".".join(parts[cut:])
                return [i for i in self.by_file.get(path, [])
                        if self.corpus.symbols[i].qualname == qualname]
        for start in range(len(parts) - 1):
            found = self.by_qualname.get(".".join(parts[start:]), [])
            if found:
                return list(found)
        return []
