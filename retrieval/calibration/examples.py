"""Calibration on a repository's own history: past fixes replayed as issues, pure functions.

Every issue a past change closed is an example whose right answer is known: the files the
fix modified. Replaying them says how precise navbot would be on this repository at each
confidence threshold, and so (`retrieval.thresholds`) which threshold keeps its comments
right often enough.

Each fix is replayed against the code before it, not the indexed code that already holds
it (its docstring or message would make it find itself): the fixes, oldest first, are cut
into windows, and each window is searched at the newest commit before all its fix commits
(the merge base of their parents: dates do not follow history). The
I/O (git, indexing at those commits, locating, storing the result) is in
`retrieval.calibration.replay` and `retrieval.calibration.workflow`.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from indexer.github_history import GITHUB_KEY
from indexer.graph import GraphData
from indexer.refs import CLOSING_KEYWORDS
from retrieval.calibration.stored import BEFORE_EACH_FIX
from retrieval.calibration.thresholds import Choice
from retrieval.history_signal import MAX_FILES_PER_CHANGE
from retrieval.paths import is_test_path

ISSUE_TEXT = "issue"
COMMIT_TEXT = "commit message"
PULL_REQUEST_TEXT = "pull request"

_KEYWORD = rf"(?:{CLOSING_KEYWORDS})"
_REF = r"(?:[\w.-]+/[\w.-]+#\d+|https?://\S+?/(?:issues|pull)/\d+|#\d+|GH-\d+)"
_CLOSING_PHRASE = re.compile(
    rf"\b{_KEYWORD}\b:?\s+{_REF}(?:\s*(?:,|and)\s*(?:{_KEYWORD}\s+)?{_REF})*", re.IGNORECASE)
_REFERENCE = re.compile(rf"\(\s*{_REF}\s*\)|(?<![\w&/]){_REF}\b", re.IGNORECASE)
_MERGE_LINE = re.compile(r"^Merge pull request #\d+ from \S+[ \t]*$", re.MULTILINE)
_TRAILER = re.compile(r"^[A-Za-z-]+-by:.*$", re.MULTILINE)  # Signed-off-by, Co-authored-by

# Why a past fix was not replayed against the code before it.
NO_FIX_COMMIT = "no known fix commit"
NO_EARLIER_CODE = "no code before the fix"
ALREADY_FIXED = "fix already in the code"
NO_FILES_YET = "its files did not exist yet"


@dataclass(frozen=True)
class FixExample:
    """A past issue replayed: its text, the files its fix modified, and the fix to hide."""

    issue: str  # "#12"
    text: str
    source: str  # ISSUE_TEXT, or a stand-in: COMMIT_TEXT or PULL_REQUEST_TEXT
    gold: tuple[str, ...]
    hide_shas: tuple[str, ...]
    hide_prs: tuple[int, ...]
    when: int  # the newest fixing commit's timestamp; 0 when git does not know it


def strip_references(message: str) -> str:
    """`message` without issue and PR references, closing phrases, merge lines or trailers.

    A commit message stands in for an issue the user never wrote; the numbers and "Fixes #12"
    would only be noise to the search, and a merge line names the branch, not the problem.
    """
    text = _MERGE_LINE.sub("", message)
    text = _TRAILER.sub("", text)
    text = _CLOSING_PHRASE.sub("", text)
    text = _REFERENCE.sub("", text)
    lines = [re.sub(r"[ \t]+", " ", line).strip().rstrip(";,:").rstrip()
             for line in text.splitlines()]
    # A line left with punctuation only ("Fixes #3." → ".") said nothing but the reference.
    kept = [line if re.search(r"\w", line) else "" for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


@dataclass
class _Fix:
    """What the graph says about the fix of one issue, gathered edge by edge."""

    commits: list[str]
    pulls: list[str]


def fix_examples(graph: GraphData, searchable: Collection[str],
                 items: Sequence[Mapping[str, Any]] = ()) -> list[FixExample]:
    """One example per issue of this repository that changes in `graph` closed, newest first.

    Fixes are non-merge or merge commits with a closing reference, and merged pull requests
    (from git, or described by the GitHub overlay) that closed the issue. Gold is the
    non-test `searchable` files they modified together, 1 to MAX_FILES_PER_CHANGE of them.
    The text is the issue's own (from `items`, else the overlay) when known.
    """
    nodes = dict(graph.nodes)
    searchable_files = set(searchable)
    fixes: dict[str, _Fix] = defaultdict(lambda: _Fix([], []))
    modified: dict[str, set[str]] = defaultdict(set)
    part_of: dict[str, int] = {}
    pr_commits: dict[int, list[str]] = defaultdict(list)
    for source, target, kind, _ in graph.edges:
        if kind == "modifies":
            modified[source].add(target.removeprefix("file:"))
        elif kind == "part_of":
            part_of[source] = int(target.removeprefix("pr:"))
            pr_commits[part_of[source]].append(source)
        elif kind == "fixes" and _local_issue(nodes.get(target)):
            attrs = nodes.get(source) or {}
            if attrs.get("kind") == "commit":
                fixes[target].commits.append(source)
            elif attrs.get("kind") == "pr" and _merged(attrs):
                fixes[target].pulls.append(source)
    issue_texts = {int(i["number"]): _issue_text(i) for i in items if i.get("kind") == "issue"}
    examples = []
    for issue, fix in fixes.items():
        gold = sorted({path for change in fix.commits + fix.pulls for path in modified[change]
                       if path in searchable_files and not is_test_path(path)})
        if not 1 <= len(gold) <= MAX_FILES_PER_CHANGE:
            continue
        number = int(nodes[issue]["number"])
        prs = sorted({int(nodes[p]["number"]) for p in fix.pulls}
                     | {part_of[c] for c in fix.commits if c in part_of})
        merges = [str(nodes[p].get("merge_commit") or "") for p in fix.pulls]
        shas = sorted({str(nodes[c]["sha"]) for c in fix.commits} | {s for s in merges if s})
        stamps = [int(nodes[c].get("timestamp") or 0) for c in
                  fix.commits + [f"commit:{s}" for s in merges if f"commit:{s}" in nodes]
                  + [c for pr in prs for c in pr_commits.get(pr, [])]]
        text, source = issue_texts.get(number) or _overlay_text(nodes[issue]), ISSUE_TEXT
        if not text:
            text, source = _stand_in(nodes, fix)
        if not text:
            continue
        examples.append(FixExample(f"#{number}", text, source, tuple(gold), tuple(shas),
                                   tuple(prs), max(stamps, default=0)))
    return sorted(examples, key=lambda e: (-e.when, -int(e.issue[1:])))


def _local_issue(attrs: Mapping[str, Any] | None) -> bool:
    """Whether a fixes edge points at an issue of this repository (not a PR, not elsewhere)."""
    return attrs is not None and attrs.get("kind") == "issue" and not attrs.get("repo")


def _merged(pull: Mapping[str, Any]) -> bool:
    """A PR node git made is merged by construction; one the API described says so itself."""
    described = pull.get(GITHUB_KEY)
    return described is None or bool(described.get("merged"))


def _issue_text(item: Mapping[str, Any]) -> str:
    title, body = str(item.get("title") or "").strip(), str(item.get("body") or "").strip()
    return f"{title}\n\n{body}".strip()


def _overlay_text(issue: Mapping[str, Any]) -> str:
    described = issue.get(GITHUB_KEY)
    return _issue_text(described) if described else ""


def _stand_in(nodes: Mapping[str, Mapping[str, Any]], fix: _Fix) -> tuple[str, str]:
    """The oldest fixing commit's message, else a fixing PR's description, references stripped.

    The first fix usually says what was wrong; later ones are follow-ups.
    """
    commits = sorted(fix.commits, key=lambda c: int(nodes[c].get("timestamp") or 0))
    for commit in commits:
        text = strip_references(str(nodes[commit].get("message") or nodes[commit]["title"]))
        if text:
            return text, COMMIT_TEXT
    for pull in sorted(fix.pulls):
        described = nodes[pull].get(GITHUB_KEY)
        text = strip_references(_issue_text(described) if described
                                else str(nodes[pull].get("title") or ""))
        if text:
            return text, PULL_REQUEST_TEXT
    return "", COMMIT_TEXT


@dataclass(frozen=True)
class Window:
    """Past fixes replayed together against `cut`: the code before the oldest of them.

    `cut` is None when that fix has no parent (it is the first commit): no code came before.
    """

    cut: str | None
    examples: tuple[FixExample, ...]


def time_windows(examples: Sequence[FixExample], count: int) -> list[tuple[FixExample, ...]]:
    """`examples` (oldest first) cut into `count` consecutive windows of near-equal size.

    With fewer examples than `count`, each is a window of its own; no window is empty.
    """
    if not examples:
        return []
    count = min(max(count, 1), len(examples))
    bounds = [len(examples) * i // count for i in range(count + 1)]
    return [tuple(examples[start:end]) for start, end in itertools.pairwise(bounds)]


def window_cut(examples: Sequence[FixExample], commit_times: Mapping[str, int],
               before_all: Callable[[list[str]], str | None]) -> Window:
    """The window of `examples` cut at the newest commit that precedes all its fix commits.

    `before_all` gives it for a list of shas (git: the merge base of their first parents),
    follow-ups included. Commit dates do not follow history (a branch merged late keeps its
    old dates), so a cut chosen by date alone would hold fixes merged before it.
    """
    shas = sorted({sha for example in examples for sha in example.hide_shas
                   if sha in commit_times})
    return Window(before_all(shas) if shas else None, tuple(examples))


def plan_windows(examples: Iterable[FixExample], count: int, commit_times: Mapping[str, int],
                 before_all: Callable[[list[str]], str | None]) -> tuple[list[Window], int]:
    """The `count` windows to replay `examples` in, oldest first, and how many were left out.

    An example none of whose fix commits is in `commit_times` cannot be placed in time.
    """
    given = list(examples)
    placed = sorted((e for e in given if any(sha in commit_times for sha in e.hide_shas)),
                    key=lambda e: (e.when, int(e.issue[1:])))
    return ([window_cut(w, commit_times, before_all) for w in time_windows(placed, count)],
            len(given) - len(placed))


def at_cut(window: Window, fixed_at_cut: Callable[[str], bool], present: Collection[str]
           ) -> tuple[list[FixExample], dict[str, int]]:
    """The window's examples to replay at its cut, gold kept to files there; why not others.

    An example is skipped when the cut already holds one of its fix commits (`fixed_at_cut`
    says whether a sha is an ancestor of the cut), or when none of its gold files is in the
    code searched there (`present`): they did not exist yet.
    """
    files = set(present)
    kept: list[FixExample] = []
    skipped: Counter[str] = Counter()
    for example in window.examples:
        gold = tuple(path for path in example.gold if path in files)
        if window.cut is None:
            skipped[NO_EARLIER_CODE] += 1
        elif any(fixed_at_cut(sha) for sha in example.hide_shas):
            skipped[ALREADY_FIXED] += 1
        elif not gold:
            skipped[NO_FILES_YET] += 1
        else:
            kept.append(replace(example, gold=gold))
    return kept, dict(skipped)


def describe(choice: Choice, n: int, sources: Mapping[str, int],
             repository: str = "this repository", method: str = BEFORE_EACH_FIX) -> str:
    """One honest sentence: how often navbot is right on `repository`, how often it posts.

    It says what was measured: `n` past fixes, each searched against the code before it
    (the `method` of replays since calibrations stopped using the indexed code, which holds
    every fix), and by `sources` where their texts came from; stand-ins are optimistic (a
    commit message is written by someone who already knows the fix), so they are named.
    """
    if n == 0:
        return (f"navbot found no usable past fixes in {repository}, so it keeps the default "
                f"threshold {choice.threshold:.2f}.")
    measured = (f"measured on {n} past fix{'es' if n != 1 else ''}{_against(n, method)}"
                f"{_stand_ins(n, sources)}")
    if choice.fitted and choice.precision is not None:
        return (f"When navbot posts files on {repository} it is right {choice.precision:.0%} "
                f"of the time; it would post on {choice.coverage:.0%} of issues "
                f"(threshold {choice.threshold:.2f}, {measured}).")
    if choice.precision is None:
        result = "at which it would not have posted on any of them"
    else:
        result = (f"at which it was right {choice.precision:.0%} of the time and would post "
                  f"on {choice.coverage:.0%} of issues")
    return (f"navbot could not fit a threshold for {repository}: {choice.reason}. It keeps the "
            f"default threshold {choice.threshold:.2f}, {result} ({measured}).")


def _against(n: int, method: str) -> str:
    if method == BEFORE_EACH_FIX:
        return ", each against the code before it" if n > 1 else ", against the code before it"
    return f" {method}"


def _stand_ins(n: int, sources: Mapping[str, int]) -> str:
    commits, pulls = sources.get(COMMIT_TEXT, 0), sources.get(PULL_REQUEST_TEXT, 0)
    if not commits and not pulls:
        return ""
    if commits == n:
        return ", all of them from commit messages" if n > 1 else ", from a commit message"
    if not pulls:
        return f", {commits} of them from commit messages"
    if not commits:
        return f", {pulls} of them from pull-request descriptions"
    return (f", {commits} of them from commit messages and {pulls} from pull-request "
            f"descriptions")
