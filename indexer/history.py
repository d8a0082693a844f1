"""The history graph from commit records: commits, authors, PRs, issues and co-change.

Pure functions: the records come from `gitrepo`, newest first, and the same records always
give the same graph, which is what makes incremental indexing equal to a full index.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from indexer.gitrepo import CommitRecord
from indexer.refs import IssueRef, PullRequestInfo, issue_refs, pull_request_of
from indexer.resolve import file_id

MAX_MESSAGE = 2000
Node = tuple[str, dict[str, object]]
Edge = tuple[str, str, str, dict[str, object]]


@dataclass
class HistoryGraph:
    """Nodes and edges of the history part of the knowledge graph."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def current_paths(records: Sequence[CommitRecord], present: set[str]) -> dict[tuple[str, str], str]:
    """Map (commit sha, path as that commit saw it) to the path at the indexed commit.

    Walking newest to oldest, each rename teaches which older name a present file had.
    Paths that no longer exist map to nothing.
    """
    alias: dict[str, str] = {}
    mapping: dict[tuple[str, str], str] = {}
    for record in records:
        for change in record.changes:
            now = alias.get(change.path, change.path)
            if change.path not in alias and change.path not in present:
                now = ""
            if now:
                mapping[(record.sha, change.path)] = now
            if change.old_path is not None:
                if now:
                    alias[change.old_path] = now
                else:
                    alias.pop(change.old_path, None)
    return mapping


def pull_request_commits(records: Sequence[CommitRecord], head: str,
                         merges: dict[str, PullRequestInfo]) -> dict[str, str]:
    """Map each branch commit to the merge commit that brought it onto the mainline.

    The mainline is the first-parent chain from `head`; for each of its merge commits,
    oldest first, the commits reachable from the merged parents and not yet claimed are
    the ones that merge introduced.
    """
    parents = {r.sha: r.parents for r in records}
    mainline = []
    cursor: str | None = head
    while cursor in parents:
        mainline.append(cursor)
        cursor = parents[cursor][0] if parents[cursor] else None
    claimed = set(mainline)
    owner: dict[str, str] = {}
    for merge in reversed(mainline):
        stack = list(parents[merge][1:])
        while stack:
            sha = stack.pop()
            if sha in claimed or sha not in parents:
                continue
            claimed.add(sha)
            if merge in merges:
                owner[sha] = merge
            stack.extend(parents[sha])
    return owner


def _issue_target(ref: IssueRef, pr_numbers: set[int]) -> str:
    if ref.repo is not None:
        return f"issue:{ref.repo}#{ref.number}"
    return f"pr:{ref.number}" if ref.number in pr_numbers else f"issue:{ref.number}"


def build_history(records: Sequence[CommitRecord], present: Iterable[str], repo: str | None,
                  cochange_max_files: int) -> HistoryGraph:
    """Commit, author, PR and issue nodes with their edges, for commits newest first."""
    graph = HistoryGraph()
    if not records:
        return graph
    present_set = set(present)
    paths = current_paths(records, present_set)
    prs = {r.sha: info for r in records if (info := pull_request_of(r.message))}
    pr_numbers = {info.number for info in prs.values()}
    branch_owner = pull_request_commits(records, records[0].sha, prs)
    authors: dict[str, str] = {}
    cochange: Counter[tuple[str, str]] = Counter()
    pr_files: dict[int, Counter[str]] = defaultdict(Counter)
    issue_nodes: dict[str, dict[str, object]] = {}
    pr_edges: set[tuple[str, str, str]] = set()

    for record in records:
        commit = f"commit:{record.sha}"
        title = record.message.split("\n", 1)[0]
        graph.nodes.append((commit, {
            "kind": "commit", "sha": record.sha, "title": title,
            "message": record.message[:MAX_MESSAGE], "timestamp": record.timestamp,
            "merge": len(record.parents) > 1, "parents": list(record.parents),
        }))
        authors.setdefault(record.author_email, record.author_name)
        graph.edges.append((f"author:{record.author_email}", commit, "authored", {}))
        touched = []
        for change in record.changes:
            now = paths.get((record.sha, change.path))
            if now is None:
                continue
            touched.append(now)
            graph.edges.append((commit, file_id(now), "modifies",
                                {"added": change.added, "removed": change.removed}))
        pr = prs.get(record.sha) or prs.get(branch_owner.get(record.sha, ""))
        if pr is not None:
            graph.edges.append((commit, f"pr:{pr.number}", "part_of", {}))
            for now in touched:
                pr_files[pr.number][now] += 1
        if len(record.parents) <= 1 and 2 <= len(set(touched)) <= cochange_max_files:
            for a, b in combinations(sorted(set(touched)), 2):
                cochange[(a, b)] += 1
        own_pr = prs.get(record.sha)
        for ref in issue_refs(record.message, repo, skip=own_pr.number if own_pr else None):
            target = _issue_target(ref, pr_numbers)
            if target.startswith("issue:"):
                issue_nodes.setdefault(target, {"kind": "issue", "number": ref.number,
                                                "repo": ref.repo})
            kind = "fixes" if ref.closing else "mentions"
            graph.edges.append((commit, target, kind, {}))
            if pr is not None and (ref.closing or own_pr is not None):
                pr_edges.add((f"pr:{pr.number}", target, kind))

    for sha, info in sorted(prs.items(), key=lambda item: item[1].number):
        graph.nodes.append((f"pr:{info.number}", {
            "kind": "pr", "number": info.number, "title": info.title,
            "merge_commit": sha, "squash": info.squash,
        }))
        for path, count in sorted(pr_files[info.number].items()):
            graph.edges.append((f"pr:{info.number}", file_id(path), "modifies",
                                {"commits": count}))
    for source, target, kind in sorted(pr_edges):
        graph.edges.append((source, target, kind, {}))
    for node_id, attrs in sorted(issue_nodes.items()):
        graph.nodes.append((node_id, attrs))
    for email, name in sorted(authors.items()):
        graph.nodes.append((f"author:{email}", {"kind": "author", "email": email, "name": name}))
    for (a, b), weight in sorted(cochange.items()):
        graph.edges.append((file_id(a), file_id(b), "co_changes", {"weight": weight}))
    return graph
