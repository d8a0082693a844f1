"""Graph expansion: files next to the best first-stage hits, over imports and co-change.

The file a fix needs is often not the one the issue's words match but its neighbour: the
module that implements what the matched one imports, or the file that always changes with
it. Seeds are the top files of the first-stage fusion; each neighbour scores by its seeds'
strength times the edge's weight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from indexer.graph import GraphData

SEEDS = 5
IMPORT_WEIGHT = 0.5
COCHANGE_SATURATION = 5  # co-changing this many times counts as fully related


Links = dict[str, dict[str, tuple[float, str]]]


class Neighbourhood:
    """Weighted file-to-file links: imports (both ways) and co-change counts."""

    def __init__(self, links: Links) -> None:
        self.links = links

    @classmethod
    def from_graph(cls, graph: GraphData, searchable: Collection[str]) -> Neighbourhood:
        """Links between searchable files from the graph's import and co-change edges."""
        neighbourhood = cls(defaultdict(dict))
        for source, target, kind, attrs in graph.edges:
            if kind not in ("imports", "co_changes"):
                continue
            a, b = source.removeprefix("file:"), target.removeprefix("file:")
            if a == b or a not in searchable or b not in searchable:
                continue
            if kind == "imports":
                neighbourhood._link(a, b, IMPORT_WEIGHT, f"imported by `{a}`")
                neighbourhood._link(b, a, IMPORT_WEIGHT, f"imports `{b}`")
            else:
                times = attrs.get("weight", 1)
                weight = min(1.0, times / COCHANGE_SATURATION)
                neighbourhood._link(a, b, weight, f"changes together with `{a}` ({times} commits)")
                neighbourhood._link(b, a, weight, f"changes together with `{b}` ({times} commits)")
        return neighbourhood

    def _link(self, source: str, target: str, weight: float, why: str) -> None:
        current = self.links[source].get(target)
        if current is None or current[0] < weight:
            self.links[source][target] = (weight, why)

    def expand(self, seeds: list[tuple[str, float]]) -> tuple[dict[str, float], dict[str, str]]:
        """Neighbour scores of the strongest `seeds` (path, score), and why each is there."""
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, str] = {}
        strongest = seeds[:SEEDS]
        top = strongest[0][1] if strongest else 0.0
        for seed, strength in strongest:
            for target, (weight, why) in self.links.get(seed, {}).items():
                scores[target] += weight * strength / top
                evidence.setdefault(target, why)
        return dict(scores), evidence
