"""The signal probes' own parts: where hits are lost, the ceiling, test-to-source mapping."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmark_scripts import load_script
from tests.gitfixture import GitFixture


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


def test_the_ceiling_counts_single_gold_issues_some_signal_ranks_first(
        file_probes: ModuleType) -> None:
    def row(gold: list[str], signals: dict[str, dict[str, int]]) -> dict:
        return {"gold_files": gold, "signals": signals, "shape": "prose"}

    rows = [row(["a.py"], {"dense": {"a.py": 1, "b.py": 2}, "path": {"b.py": 1}}),
            row(["a.py"], {"dense": {"b.py": 1, "a.py": 3}, "path": {"b.py": 1}}),
            row(["a.py"], {"dense": {"b.py": 1}}),
            row(["a.py", "b.py"], {"dense": {"a.py": 1, "b.py": 2}})]
    found = file_probes.probe_ceiling(rows)
    assert (found["instances"], found["one gold file"]) == (4, 3)
    assert found["some signal first"] == 1 and found["some signal in its top 3"] == 2
    assert found["first by dense"] == 1 and found["first by path"] == 0
    assert found["acc@1 if some signal's first were always chosen"] == 0.25
    # A tie goes to the lower path, as the ranking breaks it (dense and path weigh alike).
    tied = [row(["a.py"], {"dense": {"b.py": 1}, "path": {"a.py": 1}})]
    assert file_probes.probe_ceiling(tied)["fused first"] == 1


def test_commits_before_a_commit_list_their_changed_paths(file_probes: ModuleType,
                                                          tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "repo")
    repo.commit("Start", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    base = repo.commit("Fix a", {"a.py": "a = 2\n"})
    repo.commit("Later", {"b.py": "b = 2\n"})
    commits = file_probes._commits_before(tmp_path / "repo" / ".git", base, 10)
    assert commits == [("Fix a", ["a.py"]), ("Start", ["a.py", "b.py"])]
    assert file_probes._commits_before(tmp_path / "repo" / ".git", base, 1) == [
        ("Fix a", ["a.py"])]


def test_special_methods_come_from_operators_in_code_and_from_words(
        symbol_probes: ModuleType) -> None:
    used = symbol_probes.special_methods("v = a + b\nif v[0] == w:\n    pass",
                                         "Iterating over a rolling window skips one")
    assert {"__add__", "__getitem__", "__eq__", "__iter__"} <= used
    assert "__truediv__" not in symbol_probes.special_methods(
        'File "src/pkg/mod.py", line 3', "")  # a path's slashes divide nothing
    assert symbol_probes.special_methods("print(x)", "It prints the wrong thing") == set()


def test_later_sentences_skip_the_first_paragraph_code_and_headings() -> None:
    dense_probes = load_script("probe_dense")
    text = ("Title line\n\nFirst paragraph is a dense query already.\n\n### What happened?\n\n"
            "```python\nx = 1\n```\n\nThe window is not centred. It should be centred.")
    assert dense_probes.later_sentences(text) == ["The window is not centred.",
                                                  "It should be centred."]


def test_a_quota_moves_each_listed_files_best_symbols_to_the_front(
        symbol_probes: ModuleType) -> None:
    order = ["b.py::x", "a.py::one", "a.py::two", "c.py::y", "a.py::three"]
    file_rank = {"a.py::one": 1, "a.py::two": 1, "a.py::three": 1, "b.py::x": 2, "c.py::y": 3}
    assert symbol_probes.with_quota(order, file_rank, (2, 1)) == [
        "a.py::one", "a.py::two", "b.py::x", "c.py::y", "a.py::three"]
    assert symbol_probes.with_quota(order, file_rank, (10,)) == [
        "a.py::one", "a.py::two", "a.py::three", "b.py::x", "c.py::y"]


def test_past_commits_name_the_functions_their_hunks_fall_in(tmp_path: Path) -> None:
    changes = load_script("probe_changes")
    repo = GitFixture(tmp_path / "repo")
    source = "def f(x):\n    return x + {f}\n\n\nclass Box:\n    def g(self):\n        return {g}\n"
    repo.commit("Start", {"a.py": source.format(f=1, g=1), "b.py": "b = 1\n"})
    repo.commit("Fix g", {"a.py": source.format(f=1, g=2)})
    base = repo.commit("Fix f", {"a.py": source.format(f=2, g=2), "b.py": "b = 2\n"})
    repo.commit("Later", {"a.py": source.format(f=3, g=3)})
    git_dir = tmp_path / "repo" / ".git"
    # Newest first, up to `base`; the first commit added the file, inside no function.
    assert changes.commits_changing(git_dir, base, "a.py", 10) == [{"f"}, {"g"}, set()]
    assert changes.commits_changing(git_dir, base, "a.py", 1) == [{"f"}]
    patch = changes.python_patches(git_dir, ["show", "-U0", "--format=", base])
    assert changes.changed_functions(patch) == {"a.py": {"f"}, "b.py": set()}
    assert changes.changed_functions("") == {}
