"""Ranking symbols: per-signal symbol ranks, fused by weighted reciprocal rank like files.

Pure functions over ranks. Each signal ranks some symbols; a symbol's score sums
`weight / (k + rank)` over the signals that ranked it. The eval records every candidate's
ranks so that `benchmarks/fit_params.py` can refit the weights without re-running.

- `symbol_lexical`: BM25 of the issue over symbols, across the repository.
- `dense`: the symbol's best-matching synthetic question.
- `mention`: what the issue names outright (traceback frames, dotted names, identifiers).
- `in_file`: BM25 rank among the symbols of one listed file; the right function of the
  right file is often outscored, across the repository, by functions of other files.
- `member`: members of a class the issue names, by BM25 among them (a bug in `Card` is
  usually in one of `Card`'s methods, which the issue does not name).
- `name_part`: symbols whose name has a type the issue names as an underscore-separated
  part: dispatch methods such as `_print_MatAdd` or `visit_Call` for `MatAdd` or `Call`.
- `file`: the rank of the symbol's file in the fused file ranking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

K = TypeVar("K", int, str)

SYMBOL_SIGNALS = ("symbol_lexical", "dense", "mention", "in_file", "member", "name_part",
                  "file")
NAME_PART_MAX = 30  # a type named by more dispatch methods than this says little


def name_parts(name: str) -> list[str]:
    """The parts of a symbol name that look like type names: `_print_MatAdd` -> [`MatAdd`]."""
    parts = [p for p in name.split("_") if p]
    if len(parts) < 2:
        return []
    return [p for p in parts if len(p) >= 3 and p[0].isupper()]


def ranks_of(scored: Mapping[K, float]) -> dict[K, int]:
    """Rank 1 for the best score; ties go to the lower key (index or path)."""
    ordered = sorted(scored, key=lambda key: (-scored[key], key))
    return {key: rank for rank, key in enumerate(ordered, start=1)}


def symbol_signal_ranks(*, scores: Sequence[float] | np.ndarray, lexical: Sequence[int],
                        dense: Sequence[int], mentioned: Mapping[int, float],
                        listed_files: Sequence[str], by_file: Mapping[str, Sequence[int]],
                        members: Iterable[int], name_matches: Iterable[int],
                        path_of: Sequence[str], file_rank: Mapping[str, int],
                        unranked_file: int) -> dict[int, dict[str, int]]:
    """Each candidate symbol's rank in every signal that ranked it, plus its file's rank.

    `scores` are the symbols' BM25 scores; `lexical` and `dense` list symbols best first;
    `mentioned` weighs what the issue names; `members` and `name_matches` are the symbols of
    the `member` and `name_part` signals, ranked here by BM25.
    """
    signals: dict[str, dict[int, int]] = {
        "symbol_lexical": {i: rank for rank, i in enumerate(lexical, start=1)},
        "dense": {i: rank for rank, i in enumerate(dense, start=1)},
        "mention": ranks_of(mentioned),
        "in_file": {},
        "member": ranks_of({i: scores[i] for i in set(members) if scores[i] > 0}),
        # By the file first: a dispatch method of the top file beats one of a far file.
        "name_part": {i: rank for rank, i in enumerate(sorted(
            set(name_matches),
            key=lambda i: (file_rank.get(path_of[i], unranked_file), -scores[i], i)), start=1)},
    }
    for path in listed_files:
        own = {i: scores[i] for i in by_file.get(path, []) if scores[i] > 0}
        signals["in_file"].update(ranks_of(own))
    candidates: dict[int, dict[str, int]] = defaultdict(dict)
    for name, ranked in signals.items():
        for i, rank in ranked.items():
            candidates[i][name] = rank
    for i, ranks in candidates.items():
        ranks["file"] = file_rank.get(path_of[i], unranked_file)
    return dict(candidates)


def fuse_symbols(candidates: Mapping[K, Mapping[str, int]], weights: Mapping[str, float],
                 k: float) -> dict[K, float]:
    """Weighted reciprocal-rank fusion of each candidate's signal ranks."""
    return {i: sum(weights.get(name, 0.0) / (k + rank) for name, rank in ranks.items())
            for i, ranks in candidates.items()}


def one_per_name(order: Sequence[int], paths: Sequence[str], qualnames: Sequence[str]
                 ) -> list[int]:
    """`order` keeping only the best-ranked symbol of each (path, qualname).

    A property's setter and an overload's stubs share their getter's or implementation's
    qualified name: to a reader they are one symbol, listed once, not a second top-ten slot.
    """
    seen: set[tuple[str, str]] = set()
    kept = []
    for i in order:
        if (paths[i], qualnames[i]) not in seen:
            seen.add((paths[i], qualnames[i]))
            kept.append(i)
    return kept


def class_members(named_classes: Collection[tuple[str, str]],
                  by_file: Mapping[str, Sequence[int]],
                  qualname_of: Sequence[str]) -> list[int]:
    """Symbols defined inside the named (path, class qualname) classes, nested ones included."""
    found: list[int] = []
    for path, qualname in named_classes:
        prefix = qualname + "."
        found.extend(i for i in by_file.get(path, []) if qualname_of[i].startswith(prefix))
    return found
