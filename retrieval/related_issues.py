"""Related issues: past issues of the repository that resemble a new one, grouped by state.

Pure: it ranks ingested issues (plain data from the GitHub API) by terms shared with the new
issue and, when embeddings are on, by the similarity of their titles. Groups follow what a
maintainer does with them: an open one may be a duplicate, one fixed before may have
regressed (its fixing PRs are listed), one closed as not planned is a decision to respect.
Claiming a possible duplicate needs strong evidence; weaker open matches are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from retrieval.lexical import LexicalIndex, top_indices
from retrieval.text import tokenize

MIN_SHARED_TERMS = 3  # fewer is coincidence (as for related past fixes)
DUPLICATE_SHARED_TERMS = 5
DUPLICATE_TITLE_SIMILARITY = 0.8  # MiniLM cosine; paraphrased titles of one bug score ~0.8+
MIN_SCORE = 0.45
CANDIDATES = 30
FIX_FILES_SHOWN = 3


@dataclass(frozen=True)
class PastItem:
    """An ingested issue or pull request, as the GitHub API described it."""

    number: int
    kind: str  # "issue" | "pr"
    title: str
    body: str
    state: str
    state_reason: str | None = None
    merged: bool = False
    closes: tuple[int, ...] = ()
    files: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PastItem:
        """Build from the dict the ingester stored."""
        return cls(int(data["number"]), str(data["kind"]), str(data["title"]),
                   str(data.get("body") or ""), str(data["state"]), data.get("state_reason"),
                   bool(data.get("merged")), tuple(int(n) for n in data.get("closes") or ()),
                   tuple(str(f) for f in data.get("files") or ()))


@dataclass(frozen=True)
class RelatedIssue:
    """A past issue like this one, the group it falls in, and why it is listed."""

    number: int
    title: str
    group: str  # "open" | "fixed" | "not_planned"
    score: float
    shared_terms: tuple[str, ...]
    title_similarity: float | None
    fixed_by: tuple[int, ...] = ()
    fix_files: tuple[str, ...] = ()

    def evidence(self) -> list[str]:
        """Sentences a maintainer can check."""
        reasons = [f"shares {len(self.shared_terms)} terms with this issue: "
                   + ", ".join(self.shared_terms[:8])]
        if self.title_similarity is not None:
            reasons.append(f"title similarity {self.title_similarity:.2f}")
        if self.fixed_by:
            reasons.append("fixed by " + ", ".join(f"PR #{n}" for n in self.fixed_by))
        if self.fix_files:
            shown = ", ".join(f"`{path}`" for path in self.fix_files[:FIX_FILES_SHOWN])
            more = len(self.fix_files) - FIX_FILES_SHOWN
            reasons.append(f"the fix changed {shown}" + (f" and {more} more" if more > 0 else ""))
        return reasons


def group_of(item: PastItem) -> str:
    """Which group an issue falls in by its state."""
    if item.state == "open":
        return "open"
    return "not_planned" if item.state_reason == "not_planned" else "fixed"


def fixers_by_issue(items: Iterable[PastItem]) -> dict[int, list[PastItem]]:
    """The merged PRs that close each issue, by issue number, lowest PR number first."""
    fixers: dict[int, list[PastItem]] = {}
    for item in sorted(items, key=lambda i: i.number):
        if item.kind == "pr" and item.merged:
            for closed in item.closes:
                fixers.setdefault(closed, []).append(item)
    return fixers


def related_issues(text: str, number: int | None, items: Sequence[PastItem],
                   title_similarity: Mapping[int, float] | None = None,
                   min_score: float = MIN_SCORE, limit: int = 5) -> list[RelatedIssue]:
    """Past issues resembling `text` (issue `number` itself excluded), most similar first."""
    issues = [i for i in items if i.kind == "issue" and i.number != number]
    if not issues:
        return []
    fixers = fixers_by_issue(items)
    tokens = list(dict.fromkeys(tokenize(text)))
    lexical = LexicalIndex.from_tokens([tokenize(f"{i.title}\n{i.body}") for i in issues])
    scores = lexical.scores(tokens)
    top = top_indices(scores, CANDIDATES)
    if not top:
        return []
    best = float(scores[top[0]])
    similarity = title_similarity or {}
    found = []
    for position in top:
        item = issues[position]
        shared = tuple(lexical.terms_in(position, tokens))
        if len(shared) < MIN_SHARED_TERMS:
            continue
        lexical_part = float(scores[position]) / best
        title_sim = similarity.get(item.number)
        score = lexical_part if title_sim is None else 0.5 * lexical_part + 0.5 * title_sim
        group = group_of(item)
        if group == "open" and not _strong(shared, title_sim):
            continue
        if score < min_score:
            continue
        fixes = fixers.get(item.number, [])
        files = tuple(dict.fromkeys(path for pr in fixes for path in pr.files))
        found.append(RelatedIssue(item.number, item.title, group, round(score, 4), shared,
                                  title_sim, tuple(pr.number for pr in fixes), files))
    found.sort(key=lambda r: (-r.score, r.number))
    return found[:limit]


def _strong(shared: tuple[str, ...], title_sim: float | None) -> bool:
    # A possible duplicate is the claim that costs most when wrong: it needs both many
    # shared terms and a near-paraphrase title, so without embeddings none is claimed.
    return (len(shared) >= DUPLICATE_SHARED_TERMS and title_sim is not None
            and title_sim >= DUPLICATE_TITLE_SIMILARITY)
