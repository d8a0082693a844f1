"""Which package may import which: the indexer and retrieval never reach up into the agent.

Read from the source's import statements (not by importing), so a lazy import inside a
function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FIRST_PARTY = {"indexer", "retrieval", "bot", "webhooks", "navbot"}

# The packages each one may import, besides itself and the shared core modules of `navbot`.
ALLOWED = {
    "indexer": set(),
    "retrieval": {"indexer"},
    "navbot/llm": set(),
}
# `navbot`'s CLI and evaluation sit on top of everything; its other modules are the core.
CORE_ONLY = {"navbot.core", "navbot.llm"}


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name.split(".")[0] in FIRST_PARTY]


def _offending(package: str) -> list[str]:
    own = package.replace("/", ".")
    allowed = ALLOWED[package]
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(own) or top in allowed:
                continue
            if top == "navbot" and any(name == m or name.startswith(m + ".")
                                       for m in CORE_ONLY):
                continue
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_sits_below_it(package: str) -> None:
    assert _offending(package) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.worker import Worker\n    import os\n")
    assert _imports(module) == ["bot.worker"]
