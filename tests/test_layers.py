"""Which layer may import which, and that no modules import each other in a circle.

Read from the source's import statements (not by importing), so a lazy import inside a
function, or one under `TYPE_CHECKING`, counts too. Every first-party module belongs to one
layer of `LAYERS`; a new package must be placed there before its imports pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("navbot", "bot", "indexer", "retrieval", "webhooks")

# Each layer and the layers below it that it may import (besides itself). Most specific
# prefix wins: `bot.worker` is the agent's composition root, above the pipeline, while the
# other modules of `bot/` (GitHub, comments, decisions) sit below the pipeline it runs.
LAYERS: dict[str, set[str]] = {
    "navbot.core": set(),
    "navbot.llm": {"navbot.core"},
    "indexer": {"navbot.core"},
    "retrieval": {"indexer", "navbot.llm", "navbot.core"},
    "bot.state": {"navbot.core"},
    "bot": {"bot.state", "retrieval", "indexer", "navbot.llm", "navbot.core"},
    "bot.pipeline": {"bot", "bot.state", "retrieval", "indexer", "navbot.llm", "navbot.core"},
    "bot.worker": {"bot.pipeline", "bot", "bot.state", "retrieval", "indexer", "navbot.llm",
                   "navbot.core"},
    "webhooks": {"bot", "bot.state", "navbot.core"},
    "navbot.evaluation": {"retrieval", "indexer", "navbot.llm", "navbot.core"},
    "navbot.cli": {"webhooks", "navbot.evaluation", "bot.worker", "bot.pipeline", "bot",
                   "bot.state", "retrieval", "indexer", "navbot.llm", "navbot.core"},
    "navbot.__main__": {"navbot.cli"},
}
# `navbot/__init__.py` holds only the version, so it is part of the core.
ALIASES = {"navbot": "navbot.core"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES
            for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path) -> list[str]:
    """First-party names `path` imports, including `from package import module`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return [name for name in found if name.split(".")[0] in PACKAGES]


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module `name` refers to (`pkg.mod.Class` → `pkg.mod`)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _layer(module: str) -> str | None:
    if module in ALIASES:
        return ALIASES[module]
    matches = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len, default=None)


def _module_graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for name in _imports(path):
            target = _resolve(name, modules)
            # `from bot import state` inside bot/pipeline names a package, not an edge back.
            if target and target != module and not module.startswith(target + "."):
                graph.add_edge(module, target)
    return graph


def test_every_module_belongs_to_a_layer() -> None:
    assert [module for module in _modules() if _layer(module) is None] == []


def test_the_layers_themselves_form_no_cycle() -> None:
    layers = nx.DiGraph([(layer, below) for layer, allowed in LAYERS.items()
                         for below in allowed])
    assert set(LAYERS).issuperset(layers.nodes)
    assert list(nx.simple_cycles(layers)) == []


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_imports_only_what_sits_below_it(layer: str) -> None:
    graph = _module_graph()
    bad = [f"{module} imports {target}" for module, target in graph.edges
           if _layer(module) == layer and _layer(target) not in LAYERS[layer] | {layer}]
    assert bad == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(_module_graph())
              if len(c) > 1]
    assert cycles == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.worker import Worker\n    import os\n")
    assert _imports(module) == ["bot.worker", "bot.worker.Worker"]
    assert _layer("bot.worker") == "bot.worker"
    assert _layer("bot.github") == "bot"
    assert "bot.worker" not in LAYERS["webhooks"]
