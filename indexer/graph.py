"""Assemble the knowledge graph from file facts and history, in a canonical order.

`GraphData` is plain data (node and edge lists) so that two builds can be compared
exactly and serialized without pickle; `to_networkx` gives the MultiDiGraph to consumers.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from indexer.facts import FileFacts
from indexer.history import HistoryGraph
from indexer.resolve import Resolution, file_id, python_module_names, symbol_id

if TYPE_CHECKING:
    import networkx as nx

NODE_KINDS = ("dir", "file", "symbol", "commit", "author", "pr", "issue")
EDGE_KINDS = ("contains", "defines", "imports", "calls", "inherits", "modifies", "authored",
              "co_changes", "part_of", "fixes", "mentions")


@dataclass
class GraphData:
    """Nodes (id, attrs) and edges (source, target, kind, attrs) in canonical order.

    There is at most one edge per (source, target, kind).
    """

    nodes: list[tuple[str, dict[str, Any]]]
    edges: list[tuple[str, str, str, dict[str, Any]]]

    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph as a networkx MultiDiGraph; edge keys are edge kinds."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from((u, v, kind, {**attrs, "kind": kind})
                             for u, v, kind, attrs in self.edges)
        return graph

    def counts(self) -> dict[str, int]:
        """How many nodes of each kind, and edges in all."""
        counts = dict.fromkeys(NODE_KINDS, 0)
        for _, attrs in self.nodes:
            counts[attrs["kind"]] += 1
        counts["edges"] = len(self.edges)
        return counts


def dir_id(path: str) -> str:
    """The graph node id of a directory ('' is the repository root)."""
    return f"dir:{path}"


def _code_nodes(facts: Mapping[str, FileFacts]) -> tuple[dict[str, dict[str, Any]],
                                                          list[tuple[str, str, str, dict]]]:
    nodes: dict[str, dict[str, Any]] = {dir_id(""): {"kind": "dir", "path": ""}}
    edges: list[tuple[str, str, str, dict[str, Any]]] = []
    modules = python_module_names(facts)
    for path in sorted(facts):
        item = facts[path]
        parent = posixpath.dirname(path)
        child = file_id(path)
        nodes[child] = {
            "kind": "file", "path": path, "language": item.language, "size": item.size,
            "lines": item.lines, "blob": item.blob, "doc": item.doc,
            "module": modules.get(path), "error": item.error,
        }
        while True:
            edges.append((dir_id(parent), child, "contains", {}))
            if dir_id(parent) in nodes:
                break
            nodes[dir_id(parent)] = {"kind": "dir", "path": parent}
            child, parent = dir_id(parent), posixpath.dirname(parent)
        for d in item.defs:
            sid = symbol_id(path, d.qualname)
            if sid in nodes:
                continue  # a redefinition (if/else branches): the first one stands
            nodes[sid] = {
                "kind": "symbol", "path": path, "name": d.name, "qualname": d.qualname,
                "symbol_kind": d.kind, "start_line": d.start_line, "end_line": d.end_line,
                "signature": d.signature, "doc": d.doc,
            }
            edges.append((file_id(path), sid, "defines", {}))
            if "." in d.qualname:
                owner = symbol_id(path, d.qualname.rsplit(".", 1)[0])
                if owner in nodes:
                    edges.append((owner, sid, "contains", {}))
    return nodes, edges


def assemble(facts: Mapping[str, FileFacts], resolution: Resolution,
             history: HistoryGraph) -> GraphData:
    """The whole knowledge graph in canonical order."""
    nodes, edges = _code_nodes(facts)
    for node_id, attrs in history.nodes:
        nodes.setdefault(node_id, attrs)
    edges.extend((u, v, "imports", a) for u, v, a in resolution.imports)
    edges.extend((u, v, "calls", a) for u, v, a in resolution.calls)
    edges.extend((u, v, "inherits", a) for u, v, a in resolution.inherits)
    edges.extend(history.edges)
    unique: dict[tuple[str, str, str], dict[str, Any]] = {}
    for u, v, kind, attrs in edges:
        if u in nodes and v in nodes:
            unique.setdefault((u, v, kind), attrs)
    # Inputs arrive in a deterministic order (files by path, commits newest first), so
    # insertion order is canonical and equal inputs give equal lists without sorting.
    return GraphData(
        nodes=list(nodes.items()),
        edges=[(u, v, k, a) for (u, v, k), a in unique.items()],
    )


def graph_from_json(data: dict[str, Any]) -> GraphData:
    """GraphData from its JSON form (lists instead of tuples)."""
    return GraphData(
        nodes=[(node_id, attrs) for node_id, attrs in data["nodes"]],
        edges=[(u, v, kind, attrs) for u, v, kind, attrs in data["edges"]],
    )

