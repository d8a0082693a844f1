"""From an issue to the answer navbot would post, section by section: pure over built data.

Until the checkpointed pipeline takes over, this is the analysis the App runs: the same
`locate` as `navbot ask`, related issues from the GitHub data navbot ingested, and a gate per
section. The files section clears when the calibrated confidence reaches the threshold; the
changes section goes with it; the related section clears on its own evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.comment import Answer, FileHit, RelatedItem, SymbolHit
from bot.repo_config import RepoConfig, is_ignored
from retrieval.locate import Localization, SearchIndex, locate
from retrieval.params import Params
from retrieval.related_issues import MIN_SCORE, PastItem, RelatedIssue, related_issues

LEXICAL_SIGNALS = ("file_lexical", "symbol_lexical", "mention")
NOT_CONFIDENT_NOTE = ("navbot is not confident about this issue (confidence {confidence:.2f}, "
                      "below {threshold:.2f}); the files below are leads to check, not answers.")


@dataclass(frozen=True)
class IndexedRepo:
    """Where the answer comes from: the repository and the state of its index."""

    full_name: str
    default_branch: str
    index_commit: str
    index_age_s: float


@dataclass
class Analysis:
    """An answer, the sections that cleared their gates, and each gate's reason."""

    answer: Answer
    cleared: frozenset[str]
    gates: dict[str, str] = field(default_factory=dict)
    localization: Localization | None = None


def analyse_issue(search: SearchIndex, repo: IndexedRepo, title: str, body: str,
                  number: int | None, items: Sequence[PastItem],
                  title_similarity: Mapping[int, float], config: RepoConfig, params: Params,
                  default_threshold: float, explicit: bool = False, show_help: bool = False
                  ) -> Analysis:
    """Analyse one issue; `explicit` (a /navbot command) shows leads even below the gate."""
    threshold = config.threshold if config.threshold is not None else default_threshold
    localization = locate(search, f"{title}\n\n{body}", params, limit=20)
    files = [f for f in localization.files if not is_ignored(f.path, config.ignore)]
    listed = files[:config.max_files]
    gates: dict[str, str] = {}
    cleared: set[str] = set()
    if not config.sections.files:
        gates["files"] = "off in .github/navbot.yml"
    elif not listed:
        gates["files"] = "no file matches the issue"
    elif not any(localization.signals.get(name) for name in LEXICAL_SIGNALS):
        # Embeddings always rank something; with no word of the issue in the code, the
        # ranking says more about the repository's size than about the issue.
        gates["files"] = "no term of the issue occurs in the code"
    elif localization.confidence >= threshold:
        cleared.add("files")
        gates["files"] = f"confidence {localization.confidence:.2f} >= {threshold:.2f}"
    else:
        gates["files"] = f"confidence {localization.confidence:.2f} < {threshold:.2f}"
    listed_paths = {f.path for f in listed}
    symbols = [s for s in localization.symbols if s.path in listed_paths][:config.max_files]
    if "files" in cleared and config.sections.changes and symbols:
        cleared.add("changes")
    gates["changes"] = ("with the files" if "changes" in cleared
                        else "needs the files section and a symbol in a listed file")
    min_score = config.related_threshold if config.related_threshold is not None else MIN_SCORE
    related = related_issues(f"{title}\n\n{body}", number, items, title_similarity, min_score)
    related_items = [_related_item(r) for r in related]
    if "files" in cleared:
        # Past fixes found in git history are weaker leads: shown only beside confident files.
        known = {f"#{r.number}" for r in related}
        related_items += [RelatedItem(0, change.change, "commit", "commit",
                                      ("shares terms: " + ", ".join(change.shared_terms),))
                          for change in localization.related
                          if not known.intersection(change.issues)][:3]
    if not config.sections.related:
        gates["related"] = "off in .github/navbot.yml"
    elif related_items:
        cleared.add("related")
        gates["related"] = f"{len(related_items)} related above score {min_score:.2f}"
    else:
        gates["related"] = "no past issue is similar enough"
    shown = set(cleared)
    note = None
    if explicit and "files" not in cleared and listed and config.sections.files:
        shown.add("files")
        note = NOT_CONFIDENT_NOTE.format(confidence=localization.confidence,
                                         threshold=threshold)
    answer = Answer(
        repo_full_name=repo.full_name, default_branch=repo.default_branch,
        index_commit=repo.index_commit, index_age_s=repo.index_age_s,
        confidence=round(localization.confidence, 4),
        files=tuple(FileHit(f.path, round(f.score, 5), tuple(f.evidence)) for f in listed),
        symbols=tuple(SymbolHit(s.qualname, s.path, (s.start_line, s.end_line),
                                tuple(s.evidence)) for s in symbols),
        related=tuple(related_items) if "related" in cleared else (),
        sections=frozenset(shown), max_files=config.max_files, note=note, help=show_help)
    return Analysis(answer, frozenset(cleared), gates, localization)


def _related_item(found: RelatedIssue) -> RelatedItem:
    return RelatedItem(found.number, found.title, "issue", found.group,
                       tuple(found.evidence()), found.fixed_by)
