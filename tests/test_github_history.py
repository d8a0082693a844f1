"""GitHub issues and PRs laid over the git history graph, and the history signal over both."""

from __future__ import annotations

from typing import Any

from indexer.github_history import github_history, merge_history, without_github
from indexer.graph import GraphData
from retrieval.history_signal import HistorySignal
from retrieval.text import tokenize

SEARCHABLE = {"app/cart.py", "app/pricing.py", "app/emails.py"}


def _git_graph() -> GraphData:
    """Two branch commits merged as PR #7, which git saw close #3, and one direct commit."""
    def commit(sha: str, title: str, **extra: Any) -> tuple[str, dict[str, Any]]:
        return (f"commit:{sha}", {"kind": "commit", "sha": sha, "title": title,
                                  "message": title, "merge": False, **extra})

    return GraphData(
        nodes=[
            ("file:app/cart.py", {"kind": "file", "path": "app/cart.py"}),
            ("file:app/pricing.py", {"kind": "file", "path": "app/pricing.py"}),
            ("file:app/emails.py", {"kind": "file", "path": "app/emails.py"}),
            commit("a1", "wip"), commit("a2", "more wip"),
            commit("b1", "Send receipts by email"),
            ("pr:7", {"kind": "pr", "number": 7, "title": "Merge pull request #7",
                      "merge_commit": "m7", "squash": False}),
            ("issue:3", {"kind": "issue", "number": 3, "repo": None}),
        ],
        edges=[
            ("commit:a1", "file:app/cart.py", "modifies", {}),
            ("commit:a2", "file:app/cart.py", "modifies", {}),
            ("commit:a1", "pr:7", "part_of", {}), ("commit:a2", "pr:7", "part_of", {}),
            ("commit:b1", "file:app/emails.py", "modifies", {}),
            ("pr:7", "file:app/cart.py", "modifies", {"commits": 2}),
            ("pr:7", "issue:3", "fixes", {}),
        ])


ITEMS = [
    {"number": 3, "kind": "issue", "title": "Discount codes are ignored", "body": "",
     "state": "closed", "state_reason": "completed", "labels": ["bug"], "author": "bob"},
    {"number": 7, "kind": "pr", "title": "Apply discount codes to the cart total",
     "body": "The total ignored discount codes. Fixes #3, and see #99.", "state": "closed",
     "merged": True, "closes": [3, 99], "files": ["app/cart.py", "app/pricing.py", "gone.py"],
     "author": "alice"},
    {"number": 8, "kind": "pr", "title": "Try a new pricing engine", "body": "",
     "state": "closed", "merged": False, "files": ["app/pricing.py"], "author": "alice"},
]


def _edges(graph: GraphData) -> set[tuple[str, str, str]]:
    return {(u, v, kind) for u, v, kind, _ in graph.edges}


def test_items_become_nodes_and_edges_over_the_git_graph() -> None:
    git = _git_graph()
    merged = merge_history(git, github_history(ITEMS, SEARCHABLE))
    nodes = dict(merged.nodes)
    # A node git knows keeps its attributes and gains the API's.
    assert nodes["pr:7"]["merge_commit"] == "m7"
    assert nodes["pr:7"]["github"]["title"] == "Apply discount codes to the cart total"
    assert nodes["issue:3"]["github"]["labels"] == ["bug"]
    assert nodes["pr:8"]["github"]["merged"] is False
    edges = _edges(merged)
    assert ("pr:7", "file:app/pricing.py", "modifies") in edges
    assert ("author:@alice", "pr:8", "authored") in edges
    # Files gone from the repository, issues never ingested, and unmerged PRs add nothing.
    assert not any(v in ("file:gone.py", "issue:99") for _, v, _ in edges)
    assert not any(u == "pr:8" for u, _, kind in edges if kind == "modifies")
    # Git's own edge is kept, not duplicated.
    assert sum(1 for e in merged.edges if e[:3] == ("pr:7", "file:app/cart.py", "modifies")) == 1


def test_a_new_overlay_replaces_the_old_one_and_can_be_removed() -> None:
    git = _git_graph()
    first = merge_history(git, github_history(ITEMS, SEARCHABLE))
    retitled = [dict(ITEMS[1], title="Discounts in the total", files=["app/cart.py"])]
    second = merge_history(first, github_history(retitled, SEARCHABLE))
    assert dict(second.nodes)["pr:7"]["github"]["title"] == "Discounts in the total"
    assert ("pr:7", "file:app/pricing.py", "modifies") not in _edges(second)
    assert "pr:8" not in dict(second.nodes)
    assert merge_history(first, github_history(ITEMS, SEARCHABLE)) == first
    assert without_github(second) == git


def test_a_described_merged_pr_stands_for_its_commits_in_the_history_signal() -> None:
    git = _git_graph()
    before = HistorySignal.from_graph(git, SEARCHABLE)
    assert sorted(c.sha for c in before.changes) == ["a1", "a2", "b1"]
    after = HistorySignal.from_graph(merge_history(git, github_history(ITEMS, SEARCHABLE)),
                                     SEARCHABLE)
    assert sorted(c.sha for c in after.changes) == ["b1", "m7"]
    pr = next(c for c in after.changes if c.pull_request == 7)
    assert pr.files == ["app/cart.py", "app/pricing.py"]
    assert pr.fixes == ["#3"]
    assert pr.label() == ('commit m7 (PR #7) "Apply discount codes to the cart total", '
                          "which fixed #3")
    files, evidence = after.score(tokenize("the cart total ignores my discount code"))
    assert set(files) == {"app/cart.py", "app/pricing.py"}
    assert "PR #7" in evidence["app/pricing.py"]
    related = after.related(tokenize("cart total ignores the discount code again"))
    assert [r.issues for r in related] == [["#3"]]


def test_a_pr_beyond_the_git_window_is_named_by_number() -> None:
    git = GraphData(nodes=[("file:app/cart.py", {"kind": "file", "path": "app/cart.py"})],
                    edges=[])
    merged = merge_history(git, github_history([ITEMS[1]], {"app/cart.py"}))
    signal = HistorySignal.from_graph(merged, {"app/cart.py"})
    assert [c.label() for c in signal.changes] == [
        'PR #7 "Apply discount codes to the cart total"']
