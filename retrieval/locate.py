"""Localization: from an issue's text to ranked files and symbols, with evidence and confidence.

The signals are fused by weighted reciprocal rank, with the weights of the issue's shape:
BM25 over whole files, BM25 over symbols (a file counts by its best symbol), BM25 over file
paths alone (an issue says "the mathml printer", not `sympy/printing/mathml.py`; in a whole
file's document the path's few words drown), what the issue names outright (paths,
traceback frames, dotted names and identifiers that resolve to definitions), embedded
synthetic questions, similar past changes and graph neighbours.
Every result keeps the evidence that put it there. Pure: it works on a built `SearchIndex`
(whose dense signal asks its vector store), no other I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from indexer.parse import CLASS_LIKE
from retrieval.aboutness import about_features, aboutness
from retrieval.confidence import LISTED_FILES, confidence, confidence_features
from retrieval.dense import DenseScores
from retrieval.fusion import fuse
from retrieval.gate import Verdict, files_verdict, lexical_fired
from retrieval.history_signal import RelatedChange
from retrieval.lexical import top_indices
from retrieval.mentions import Mentions, collect_mentions
from retrieval.params import Params, default_params
from retrieval.query import IssueQueries, parse_issue
from retrieval.search_index import SearchIndex
from retrieval.symbol_rank import (
    NAME_PART_MAX,
    class_members,
    fuse_symbols,
    name_parts,
    one_per_name,
    ranks_of,
    symbol_signal_ranks,
)

if TYPE_CHECKING:
    import numpy as np

CANDIDATES = 100
SYMBOL_SIGNALS_KEPT = 300  # candidates whose signal ranks a localization keeps for refits
MAX_QUERY_TOKENS = 5000  # a pasted log can be megabytes; its start says what matters


@dataclass
class RankedFile:
    """A file in the answer, with why it is there."""

    path: str
    score: float
    evidence: list[str] = field(default_factory=list)


@dataclass
class RankedSymbol:
    """A symbol in the answer, with its line span and why it is there."""

    path: str
    qualname: str
    kind: str
    start_line: int
    end_line: int
    score: float
    evidence: list[str] = field(default_factory=list)


@dataclass
class Localization:
    """The answer to "where is this issue in the code?"."""

    files: list[RankedFile]
    symbols: list[RankedSymbol]
    confidence: float
    features: dict[str, float]
    shape: str
    signals: dict[str, dict[str, int]] = field(default_factory=dict)
    related: list[RelatedChange] = field(default_factory=list)
    # The best candidate symbols ("path::qualname") with their per-signal ranks, for refits.
    symbol_signals: dict[str, dict[str, int]] = field(default_factory=dict)
    # How likely the issue is about this repository at all, and what that is built from.
    about: float = 1.0
    about_features: dict[str, float] = field(default_factory=dict)

    @property
    def lexical(self) -> bool:
        """Whether a word or name of the issue occurs in the code (not embeddings alone)."""
        return lexical_fired(self.signals)

    def verdict(self, threshold: float, about_threshold: float) -> Verdict:
        """The posting gate's decision on the files at these thresholds."""
        return files_verdict(bool(self.files), self.lexical, self.about, about_threshold,
                             self.confidence, threshold)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, for `navbot ask --json` and the eval output."""
        return {
            "confidence": round(self.confidence, 4), "shape": self.shape,
            "about": round(self.about, 4),
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "about_features": {k: round(v, 4) for k, v in self.about_features.items()},
            "files": [{"path": f.path, "score": round(f.score, 5), "evidence": f.evidence}
                      for f in self.files],
            "symbols": [{"name": s.qualname, "path": s.path, "kind": s.kind,
                         "lines": [s.start_line, s.end_line], "score": round(s.score, 5),
                         "evidence": s.evidence} for s in self.symbols],
            "related": [{"state": r.state, "issues": r.issues, "change": r.change,
                         "shared_terms": r.shared_terms, "score": round(r.score, 3)}
                        for r in self.related],
        }


def locate(index: SearchIndex, text: str, params: Params | None = None, limit: int = 10
           ) -> Localization:
    """Rank the files and symbols `text` (an issue's title and body) is about."""
    params = params or default_params()
    queries = parse_issue(text)
    tokens = queries.tokens[:MAX_QUERY_TOKENS]
    corpus = index.corpus

    file_scores = index.files_lexical.scores(tokens)
    file_lexical = {corpus.files[i]: float(file_scores[i])
                    for i in top_indices(file_scores, CANDIDATES)}
    # Each word once: said ten times it names a path no better, and evidence lists it once.
    terms = list(dict.fromkeys(tokens))
    path_scores = index.paths_lexical.scores(terms)
    path_lexical = {corpus.files[i]: float(path_scores[i])
                    for i in top_indices(path_scores, CANDIDATES)}
    symbol_scores = index.symbols_lexical.scores(tokens)
    top_symbols = top_indices(symbol_scores, CANDIDATES * 3)
    best_symbol: dict[str, int] = {}
    for i in top_symbols:
        best_symbol.setdefault(corpus.symbols[i].path, i)
    symbol_lexical = {path: float(symbol_scores[i]) for path, i in best_symbol.items()}
    mentions = collect_mentions(index, queries)

    signals = {"file_lexical": ranks_of(file_lexical),
               "path": ranks_of(path_lexical),
               "symbol_lexical": ranks_of(symbol_lexical),
               "mention": ranks_of(dict(mentions.files))}
    extra_evidence: dict[str, list[str]] = defaultdict(list)
    dense = DenseScores()
    if index.dense is not None:
        dense = index.dense.score(queries)
        signals["dense"] = ranks_of(dense.files)
        for path, reason in dense.evidence.items():
            extra_evidence[path].append(reason)
    if index.history is not None:
        history, reasons = index.history.score(tokens)
        signals["history"] = ranks_of(history)
        for path, reason in reasons.items():
            extra_evidence[path].append(reason)
    if index.neighbourhood is not None:
        # Expand from the best files of the other signals, then fuse everything.
        first = fuse(signals, params, queries.shape)
        seeds = sorted(first.items(), key=lambda item: (-item[1], item[0]))
        near, reasons = index.neighbourhood.expand(seeds)
        signals["graph"] = ranks_of(near)
        for path, reason in reasons.items():
            extra_evidence[path].append(reason)
    fused = fuse(signals, params, queries.shape)
    ranked = sorted(fused, key=lambda p: (-fused[p], p))

    files = [RankedFile(path, fused[path], _file_evidence(index, path, mentions, best_symbol,
                                                          path in file_lexical,
                                                          path in path_lexical, terms)
                        + extra_evidence.get(path, []))
             for path in ranked[:limit]]
    dense_symbols = [index.symbol_position[key] for key in
                     sorted(dense.symbols, key=lambda key: -dense.symbols[key])
                     if key in index.symbol_position]
    file_rank = {path: rank for rank, path in enumerate(ranked, start=1)}
    named_classes = {(corpus.symbols[i].path, corpus.symbols[i].qualname)
                     for i in mentions.symbols if corpus.symbols[i].kind in CLASS_LIKE}
    order, symbol_score, candidates = _rank_symbols(index, symbol_scores, top_symbols,
                                                   dense_symbols, mentions, queries,
                                                   file_rank, named_classes, params)
    symbols = _symbol_results(index, order, symbol_score, candidates, mentions,
                              set(queries.identifiers), file_rank, named_classes, limit)
    features = confidence_features(ranked, fused, signals, mentions.specific_names)
    related = index.history.related(tokens) if index.history is not None else []
    symbol_signals = {f"{corpus.symbols[i].path}::{corpus.symbols[i].qualname}":
                      candidates[i] for i in order[:SYMBOL_SIGNALS_KEPT]}
    about = about_features(index, queries, ranked[0] if ranked else None,
                           max(dense.files.values(), default=0.0), mentions)
    return Localization(files, symbols, confidence(features, params) if files else 0.0,
                        features, queries.shape, signals, related, symbol_signals,
                        aboutness(about, params.about_model(index.dense is not None)), about)


def _file_evidence(index: SearchIndex, path: str, mentions: Mentions,
                   best_symbol: dict[str, int], lexical_hit: bool, path_hit: bool,
                   terms: list[str]) -> list[str]:
    evidence = list(mentions.evidence.get(path, []))
    if path in best_symbol:
        symbol = index.corpus.symbols[best_symbol[path]]
        evidence.append(f"best-matching symbol `{symbol.qualname}` "
                        f"(lines {symbol.start_line}-{symbol.end_line})")
    position = index.file_position[path]
    if lexical_hit:
        shared = index.files_lexical.terms_in(position, terms)[:6]
        evidence.append("shares terms with the issue: " + ", ".join(shared))
    named = index.paths_lexical.terms_in(position, terms) if path_hit else []
    if named:
        evidence.append(f"its path has the issue's words: {', '.join(named[:4])}")
    return evidence


def _rank_symbols(index: SearchIndex, symbol_scores: np.ndarray, top_symbols: list[int],
                  dense_symbols: list[int], mentions: Mentions, queries: IssueQueries,
                  file_rank: dict[str, int], named_classes: set[tuple[str, str]],
                  params: Params
                  ) -> tuple[list[int], dict[int, float], dict[int, dict[str, int]]]:
    """Symbols best first, their fused scores, and each candidate's per-signal ranks."""
    listed = [path for path, rank in file_rank.items() if rank <= LISTED_FILES]
    name_matches = [i for name in queries.identifiers
                    if len(found := index.by_name_part.get(name, [])) <= NAME_PART_MAX
                    for i in found]
    candidates = symbol_signal_ranks(
        scores=symbol_scores, lexical=top_symbols, dense=dense_symbols,
        mentioned=mentions.symbols, listed_files=listed, by_file=index.by_file,
        members=class_members(named_classes, index.by_file, index.symbol_qualnames),
        name_matches=name_matches, path_of=index.symbol_paths, file_rank=file_rank,
        unranked_file=CANDIDATES)
    score = fuse_symbols(candidates, params.symbol_weights(), params.fusion["rrf_k"])
    order = one_per_name(sorted(score, key=lambda i: (-score[i], i)), index.symbol_paths,
                         index.symbol_qualnames)
    return order, score, candidates


def _symbol_results(index: SearchIndex, order: list[int], score: dict[int, float],
                    candidates: dict[int, dict[str, int]], mentions: Mentions,
                    identifiers: set[str], file_rank: dict[str, int],
                    named_classes: set[tuple[str, str]], limit: int) -> list[RankedSymbol]:
    symbols = []
    for i in order[:limit]:
        entry = index.corpus.symbols[i]
        evidence = list(mentions.symbol_evidence.get(i, []))
        if "member" in candidates[i]:
            owner = next(qualname for path, qualname in sorted(named_classes)
                         if path == entry.path and entry.qualname.startswith(qualname + "."))
            evidence.append(f"a member of `{owner}`, whose class the issue names")
        for part in name_parts(entry.name) if "name_part" in candidates[i] else []:
            if part in identifiers:
                evidence.append(f"named after `{part}`, which the issue names")
        if file_rank.get(entry.path, CANDIDATES) <= LISTED_FILES:
            evidence.append(f"in `{entry.path}`, ranked #{file_rank[entry.path]}")
        symbols.append(RankedSymbol(entry.path, entry.qualname, entry.kind, entry.start_line,
                                    entry.end_line, score[i], evidence))
    return symbols
