"""What the graph knows about one file or symbol: the data behind `navbot show`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from navbot.core.errors import TargetNotFoundError

if TYPE_CHECKING:
    import networkx as nx

LIMIT = 15


def find_target(graph: nx.MultiDiGraph, target: str) -> str:
    """The node `target` names: a path, `path::Qual.name`, a qualname, a dotted or a bare name."""
    target = target.strip().removeprefix("./")
    for candidate in (f"file:{target}", f"sym:{target}"):
        if candidate in graph:
            return candidate
    matches, by_name = [], []
    for node_id, attrs in graph.nodes(data=True):
        if attrs["kind"] != "symbol":
            continue
        module = graph.nodes[f"file:{attrs['path']}"].get("module")
        full = f"{module}.{attrs['qualname']}" if module else None
        if target in (attrs["qualname"], full):
            matches.append(node_id)
        elif attrs["name"] == target:
            by_name.append(node_id)
    matches = matches or by_name
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise TargetNotFoundError(f"{target!r} is neither a file nor a symbol in the index")
    listing = ", ".join(m.removeprefix("sym:") for m in sorted(matches)[:LIMIT])
    raise TargetNotFoundError(f"{target!r} is ambiguous; use one of: {listing}")


def _label(graph: nx.MultiDiGraph, node_id: str) -> str:
    attrs = graph.nodes[node_id]
    if attrs["kind"] == "symbol":
        return f"{attrs['path']}::{attrs['qualname']}"
    return node_id.split(":", 1)[1]


def _neighbours(graph: nx.MultiDiGraph, nodes: list[str], kind: str, incoming: bool,
                skip_own: set[str]) -> list[str]:
    found: dict[str, None] = {}
    for node_id in nodes:
        edges = graph.in_edges(node_id, keys=True) if incoming else graph.out_edges(
            node_id, keys=True)
        for u, v, key in edges:
            other = u if incoming else v
            if key == kind and other not in skip_own:
                found.setdefault(_label(graph, other))
    return list(found)[:LIMIT]


def _history(graph: nx.MultiDiGraph, file_node: str) -> dict[str, Any]:
    commits, prs = [], []
    for source, _, key in graph.in_edges(file_node, keys=True):
        attrs = graph.nodes[source]
        if key != "modifies":
            continue
        if attrs["kind"] == "commit":
            commits.append(attrs)
        elif attrs["kind"] == "pr":
            prs.append(attrs)
    commits.sort(key=lambda c: c["timestamp"], reverse=True)
    prs.sort(key=lambda p: p["number"], reverse=True)
    # Co-change edges are stored once per pair, so look both ways.
    partners = [(data["weight"], u) for u, _, key, data
                in graph.in_edges(file_node, keys=True, data=True) if key == "co_changes"]
    partners += [(data["weight"], v) for _, v, key, data
                 in graph.out_edges(file_node, keys=True, data=True) if key == "co_changes"]
    partners.sort(key=lambda item: (-item[0], item[1]))
    return {
        "commits": [{"sha": c["sha"][:12], "title": c["title"]} for c in commits[:LIMIT]],
        "pull_requests": [{"number": p["number"], "title": p["title"]} for p in prs[:LIMIT]],
        "co_changes": [{"path": _label(graph, n), "weight": w} for w, n in partners[:LIMIT]],
    }


def describe(graph: nx.MultiDiGraph, target: str) -> dict[str, Any]:
    """Definitions, imports, callers, callees, history and co-change of `target`."""
    node_id = find_target(graph, target)
    attrs = graph.nodes[node_id]
    if attrs["kind"] == "file":
        file_node = node_id
        own = [v for _, v, k in graph.out_edges(node_id, keys=True) if k == "defines"]
        scope = [node_id, *own]
    else:
        file_node = f"file:{attrs['path']}"
        own = [node_id]
        scope = [node_id]
    skip = set(scope)
    definitions = [
        {"symbol": graph.nodes[s]["qualname"], "kind": graph.nodes[s]["symbol_kind"],
         "lines": [graph.nodes[s]["start_line"], graph.nodes[s]["end_line"]],
         "signature": graph.nodes[s]["signature"], "doc": graph.nodes[s]["doc"]}
        for s in own
    ]
    return {
        "target": _label(graph, node_id),
        "kind": attrs["kind"],
        "path": attrs["path"],
        "definitions": definitions,
        "imports": _neighbours(graph, [file_node], "imports", incoming=False, skip_own=skip),
        "imported_by": _neighbours(graph, [file_node], "imports", incoming=True, skip_own=skip),
        "callers": _neighbours(graph, scope, "calls", incoming=True, skip_own=skip),
        "callees": _neighbours(graph, scope, "calls", incoming=False, skip_own=skip),
        "inherits": _neighbours(graph, own, "inherits", incoming=False, skip_own=skip),
        "inherited_by": _neighbours(graph, own, "inherits", incoming=True, skip_own=skip),
        **_history(graph, file_node),
    }
