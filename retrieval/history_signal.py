"""The history signal: past changes whose messages resemble the issue, and the files they touched.

A bug report often reads like the commit that fixed a similar bug before. Changes (commits,
or merged pull requests when GitHub data was ingested, with the files they modified under
today's names) are ranked by BM25 of their messages against the issue; each file then
scores by the similarity of the changes that touched it, shared among the files of each
change so that sweeping changes say little about any one file.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from indexer.github_history import GITHUB_KEY
from indexer.graph import GraphData
from retrieval.lexical import LexicalIndex, top_indices
from retrieval.text import tokenize

if TYPE_CHECKING:
    import numpy as np

RELATED_LIMIT = 5
RELATED_MIN_TERMS = 3  # fewer shared terms than this is coincidence, not a related issue
MAX_FILES_PER_CHANGE = 20  # broader commits are refactors or releases, not fixes
SIMILAR_CHANGES = 30


@dataclass(frozen=True)
class RelatedChange:
    """A past fix similar to the issue: a possible regression or earlier report."""

    state: str  # "closed as fixed": offline, history only knows issues that commits closed
    issues: list[str]
    change: str
    shared_terms: list[str]
    score: float


@dataclass
class PastChange:
    """A non-merge commit or a merged PR: the searchable files it modified, the issues it closed.

    `sha` is empty for a pull request whose merge commit git history does not reach.
    """

    sha: str
    title: str
    files: list[str]
    fixes: list[str] = field(default_factory=list)
    pull_request: int | None = None

    def label(self) -> str:
        """How evidence names this change."""
        if not self.sha:
            where = f"PR #{self.pull_request}"
        else:
            where = f"commit {self.sha[:10]}"
            if self.pull_request is not None:
                where += f" (PR #{self.pull_request})"
        closes = f", which fixed {', '.join(self.fixes)}" if self.fixes else ""
        return f'{where} "{self.title[:80]}"{closes}'


def past_changes(graph: GraphData, searchable: Collection[str]) -> list[PastChange]:
    """The changes of `graph` that modified between 1 and MAX_FILES_PER_CHANGE searchable files."""
    return [change for change, _ in _changes_and_messages(graph, searchable)]


def _changes_and_messages(graph: GraphData, searchable: Collection[str]
                          ) -> list[tuple[PastChange, str]]:
    """Each usable change with the text that describes it.

    A change is a non-merge commit, or a merged pull request the GitHub API described: its
    title and body say more than its commits' messages, and it lists every file it changed,
    so it stands for its commits, which are then left out.
    """
    commits: dict[str, dict[str, object]] = {}
    pulls: dict[str, dict[str, Any]] = {}
    for node_id, attrs in graph.nodes:
        if attrs["kind"] == "commit" and not attrs.get("merge"):
            commits[node_id] = attrs
        elif attrs["kind"] == "pr" and (attrs.get(GITHUB_KEY) or {}).get("merged"):
            pulls[node_id] = attrs
    files: dict[str, list[str]] = defaultdict(list)
    fixes: dict[str, list[str]] = defaultdict(list)
    prs: dict[str, int] = {}
    for source, target, kind, _ in graph.edges:
        if source not in commits and source not in pulls:
            continue
        if kind == "modifies" and target.removeprefix("file:") in searchable:
            files[source].append(target.removeprefix("file:"))
        elif kind == "fixes":
            fixes[source].append(_reference(target))
        elif kind == "part_of":
            prs[source] = int(target.removeprefix("pr:"))
    changes = []
    for node_id, attrs in commits.items():
        touched = files.get(node_id, [])
        if prs.get(node_id) is not None and f"pr:{prs[node_id]}" in pulls:
            continue
        if 1 <= len(touched) <= MAX_FILES_PER_CHANGE:
            changes.append((PastChange(str(attrs["sha"]), str(attrs["title"]), touched,
                                       fixes.get(node_id, []), prs.get(node_id)),
                            str(attrs.get("message", ""))))
    for node_id, attrs in pulls.items():
        touched = sorted(set(files.get(node_id, [])))
        described = attrs[GITHUB_KEY]
        if 1 <= len(touched) <= MAX_FILES_PER_CHANGE:
            change = PastChange(str(attrs.get("merge_commit") or ""), str(described["title"]),
                                touched, sorted(set(fixes.get(node_id, []))),
                                int(attrs["number"]))
            changes.append((change, f"{described['title']}\n\n{described['body']}"))
    return changes


def _reference(node_id: str) -> str:
    """`issue:12` → `#12`, `issue:owner/repo#5` → `owner/repo#5`, `pr:7` → `#7`."""
    name = node_id.split(":", 1)[1]
    return name if "#" in name else f"#{name}"


class HistorySignal:
    """BM25 over past change messages, mapped to the files those changes touched."""

    def __init__(self, changes: list[PastChange], lexical: LexicalIndex,
                 hidden: frozenset[int] = frozenset()) -> None:
        self.changes = changes
        self.lexical = lexical
        self.hidden = hidden

    @classmethod
    def from_graph(cls, graph: GraphData, searchable: Collection[str]) -> HistorySignal:
        """The signal over every usable change in `graph`."""
        found = _changes_and_messages(graph, searchable)
        return cls([change for change, _ in found],
                   LexicalIndex.from_tokens([tokenize(message) for _, message in found]))

    def hiding(self, shas: Collection[str], pull_requests: Collection[int]) -> HistorySignal:
        """This signal without the changes of `shas` or `pull_requests`, sharing its index.

        Calibration replays past fixes: the fix itself must not be found as "a similar past
        change", or every example would find its own answer. Term statistics still count the
        hidden changes, which a rebuilt index would not; that difference is small.
        """
        sha_set, pr_set = set(shas), set(pull_requests)
        hidden = frozenset(
            i for i, change in enumerate(self.changes)
            if (change.sha and change.sha in sha_set) or change.pull_request in pr_set)
        return HistorySignal(self.changes, self.lexical, self.hidden | hidden)

    def _scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 scores of the changes, zero for hidden ones (which then never rank)."""
        scores = self.lexical.scores(tokens)
        if self.hidden:
            scores = scores.copy()
            scores[list(self.hidden)] = 0.0
        return scores

    def score(self, tokens: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        """File scores from the changes most similar to `tokens`, and each file's best change."""
        scores = self._scores(tokens)
        files: dict[str, float] = defaultdict(float)
        evidence: dict[str, str] = {}
        top = top_indices(scores, SIMILAR_CHANGES)
        if not top:
            return {}, {}
        best = float(scores[top[0]])
        for i in top:
            change = self.changes[i]
            share = float(scores[i]) / best / math.sqrt(len(change.files))
            for path in change.files:
                files[path] += share
                evidence.setdefault(path, f"changed by similar {change.label()}")
        return dict(files), evidence

    def related(self, tokens: list[str]) -> list[RelatedChange]:
        """Past changes that fixed an issue and resemble this one, most similar first.

        Only changes that closed an issue qualify, and only when they share at least
        RELATED_MIN_TERMS distinct terms with it; a similar fix is a lead to check (a
        possible regression), never a claimed duplicate.
        """
        scores = self._scores(tokens)
        unique = list(dict.fromkeys(tokens))
        related = []
        for i in top_indices(scores, SIMILAR_CHANGES):
            change = self.changes[i]
            if not change.fixes:
                continue
            shared = self.lexical.terms_in(i, unique)
            if len(shared) < RELATED_MIN_TERMS:
                continue
            related.append(RelatedChange("closed as fixed", change.fixes, change.label(),
                                         shared[:8], float(scores[i])))
            if len(related) == RELATED_LIMIT:
                break
        return related
