"""GitHub's issues and pull requests as part of the history graph: pure functions.

Git history knows a pull request only by its merge or squash commit, and an issue only by
the number a commit message cites. The GitHub API knows more: titles and bodies, states,
the closing references and the complete list of files a merged PR changed. `github_history`
turns ingested items into graph nodes and edges marked with `SOURCE`, and `merge_history`
lays them over a graph built from git, replacing any earlier overlay, so the same items
always give the same graph however often they are ingested or the repository re-indexed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from indexer.graph import GraphData
from indexer.history import MAX_MESSAGE, HistoryGraph
from indexer.resolve import file_id

SOURCE = "github"
GITHUB_KEY = "github"  # node attribute holding what the API said about a node git also knows


def item_node_id(kind: str, number: int) -> str:
    """The graph node id of an issue or pull request of this repository."""
    return f"pr:{number}" if kind == "pr" else f"issue:{number}"


def github_history(items: Sequence[Mapping[str, Any]], present: Collection[str]
                   ) -> HistoryGraph:
    """Nodes and edges for ingested items; PR file edges only to files in `present`."""
    graph = HistoryGraph()
    present_set = set(present)
    authors: set[str] = set()
    for item in sorted(items, key=lambda i: (str(i["kind"]), int(i["number"]))):
        kind = "pr" if item["kind"] == "pr" else "issue"
        node = item_node_id(kind, int(item["number"]))
        graph.nodes.append((node, {
            "kind": kind, "number": int(item["number"]), "source": SOURCE,
            GITHUB_KEY: {
                "title": str(item.get("title") or ""),
                "body": str(item.get("body") or "")[:MAX_MESSAGE],
                "state": item.get("state"), "state_reason": item.get("state_reason"),
                "merged": bool(item.get("merged")), "labels": list(item.get("labels") or ()),
                "author": item.get("author"),
            },
        }))
        if item.get("author"):
            author = f"author:@{item['author']}"
            authors.add(str(item["author"]))
            graph.edges.append((author, node, "authored", {"source": SOURCE}))
        if kind != "pr" or not item.get("merged"):
            continue
        for path in sorted(set(item.get("files") or ())):
            if path in present_set:
                graph.edges.append((node, file_id(path), "modifies", {"source": SOURCE}))
        for number in sorted(set(item.get("closes") or ())):
            graph.edges.append((node, f"issue:{number}", "fixes", {"source": SOURCE}))
    for login in sorted(authors):
        graph.nodes.append((f"author:@{login}", {"kind": "author", "email": "", "name": login,
                                                 "source": SOURCE}))
    return graph


def without_github(graph: GraphData) -> GraphData:
    """`graph` as git alone built it: any earlier GitHub overlay removed."""
    nodes = []
    for node_id, attrs in graph.nodes:
        if attrs.get("source") == SOURCE:
            continue
        nodes.append((node_id, {k: v for k, v in attrs.items() if k != GITHUB_KEY}))
    edges = [edge for edge in graph.edges if edge[3].get("source") != SOURCE]
    return GraphData(nodes, edges)


def merge_history(graph: GraphData, overlay: HistoryGraph) -> GraphData:
    """`graph` with `overlay` laid over it, replacing any earlier overlay.

    A node git already knows keeps its attributes and gains the API's under GITHUB_KEY;
    an edge is kept when both its ends exist (closing references to issues navbot has not
    ingested point at nodes that do not exist) and git does not already have it.
    """
    base = without_github(graph)
    nodes = dict(base.nodes)
    for node_id, attrs in overlay.nodes:
        if node_id in nodes:
            if GITHUB_KEY in attrs:
                nodes[node_id] = {**nodes[node_id], GITHUB_KEY: attrs[GITHUB_KEY]}
        else:
            nodes[node_id] = attrs
    known = {(u, v, kind) for u, v, kind, _ in base.edges}
    edges = list(base.edges)
    for u, v, kind, attrs in overlay.edges:
        if u in nodes and v in nodes and (u, v, kind) not in known:
            known.add((u, v, kind))
            edges.append((u, v, kind, attrs))
    return GraphData(list(nodes.items()), edges)
