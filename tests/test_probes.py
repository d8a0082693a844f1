"""The signal probes' pure parts: where function hits are lost, and test-to-source mapping."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.benchmark_scripts import load_script


@pytest.fixture(scope="module")
def symbol_probes() -> ModuleType:
    return load_script("probe_symbols")


@pytest.fixture(scope="module")
def file_probes() -> ModuleType:
    return load_script("probe_files")


def _row(golds: list[str], func_ranks: list[int | None], listed: list[str]) -> dict:
    return {"gold_symbols": golds, "func_ranks": func_ranks, "listed": listed,
            "gold_files": sorted({g.split("::")[0] for g in golds})}


def test_misses_are_grouped_by_gold_count_and_by_whether_the_files_were_listed(
        symbol_probes: ModuleType) -> None:
    rows = [_row(["a.py::f"], [3], ["a.py"]),
            _row(["a.py::f"], [12], ["a.py", "b.py"]),
            _row(["a.py::f", "c.py::g"], [1, None], ["a.py", "b.py"]),
            _row([f"a.py::f{i}" for i in range(5)], [1, 2, 3, 4, 5], ["a.py"]),
            _row([], [], ["a.py"])]
    assert symbol_probes.probe_misses(rows) == {
        "gold functions: 1": {"hit": 1, "missed, gold files listed": 1},
        "gold functions: 2": {"missed, a gold file not listed": 1},
        "gold functions: 4+": {"hit": 1},
    }


def test_a_test_file_maps_to_the_source_sharing_most_directories(file_probes: ModuleType
                                                                  ) -> None:
    files = ["sympy/printing/latex.py", "sympy/parsing/latex.py", "sympy/core/add.py",
             "sympy/printing/tests/test_latex.py", "src/_pytest/capture.py"]
    stems = file_probes._tested_sources(files)
    assert "test_latex" not in stems  # test files are never a source
    assert file_probes._sources_of("sympy/printing/tests/test_latex.py", stems) == [
        "sympy/printing/latex.py", "sympy/parsing/latex.py"]
    assert file_probes._sources_of("testing/capture_test.py", stems) == ["src/_pytest/capture.py"]
    assert file_probes._sources_of("tests/test_nothing.py", stems) == []
