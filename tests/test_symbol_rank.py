"""Symbol ranking: per-signal ranks, their fusion, and refitting the weights from them."""

from __future__ import annotations

from retrieval.params import load_params
from retrieval.symbol_rank import (
    class_members,
    fuse_symbols,
    name_parts,
    one_per_name,
    ranks_of,
    symbol_signal_ranks,
)
from tests.benchmark_scripts import load_script

# Symbols 0-4: two files; 3 and 4 are methods of class 2.
PATHS = ["a.py", "a.py", "b.py", "b.py", "b.py"]
QUALNAMES = ["helper", "_print_MatAdd", "Card", "Card._split", "Card.image"]
BY_FILE = {"a.py": [0, 1], "b.py": [2, 3, 4]}


def test_name_parts_are_type_like_parts_of_compound_names() -> None:
    assert name_parts("_print_MatAdd") == ["MatAdd"]
    assert name_parts("visit_Call") == ["Call"]
    assert name_parts("MatAdd") == [] and name_parts("_print_x") == []


def test_a_name_defined_twice_in_a_file_is_ranked_once_at_its_best() -> None:
    paths = ["a.py", "a.py", "b.py", "a.py"]
    qualnames = ["Price.amount", "Price.amount", "Price.amount", "Price"]  # getter, setter
    assert one_per_name([1, 3, 0, 2], paths, qualnames) == [1, 3, 2]
    assert one_per_name([], paths, qualnames) == []


def test_each_candidate_gets_its_rank_in_every_signal_that_ranked_it() -> None:
    candidates = symbol_signal_ranks(
        scores=[3.0, 1.0, 0.0, 0.5, 2.0], lexical=[0, 4, 1, 3], dense=[3],
        mentioned={2: 1.0}, listed_files=["b.py"], by_file=BY_FILE,
        members=class_members({("b.py", "Card")}, BY_FILE, QUALNAMES),
        name_matches=[1], path_of=PATHS, file_rank={"b.py": 1, "a.py": 2}, unranked_file=100)
    assert candidates[4] == {"symbol_lexical": 2, "in_file": 1, "member": 1, "file": 1}
    assert candidates[3] == {"symbol_lexical": 4, "dense": 1, "in_file": 2, "member": 2,
                             "file": 1}
    assert candidates[2] == {"mention": 1, "file": 1}  # no BM25 score: not in_file
    assert candidates[1] == {"symbol_lexical": 3, "name_part": 1, "file": 2}
    assert candidates[0] == {"symbol_lexical": 1, "file": 2}


def test_fusion_sums_weighted_reciprocal_ranks() -> None:
    candidates = {7: {"symbol_lexical": 1, "file": 2}, 8: {"member": 1, "file": 1}}
    fused = fuse_symbols(candidates, {"symbol_lexical": 2.0, "file": 1.0}, k=10)
    assert fused == {7: 2 / 11 + 1 / 12, 8: 1 / 11}
    assert ranks_of({5: 1.0, 3: 1.0, 9: 2.0}) == {9: 1, 3: 2, 5: 3}


def test_refitting_finds_the_signal_that_ranks_the_gold_first() -> None:
    fit_symbols = load_script("fit_symbols")
    rows = []
    for n in range(6):  # the gold method is always the best member of the named class
        signals = {f"x.py::f{j}": {"symbol_lexical": j + 1, "file": 1} for j in range(12)}
        signals["x.py::Card.m"] = {"symbol_lexical": 20 + n, "member": 1, "file": 1}
        rows.append({"repo": f"r{n % 2}", "gold_symbols": ["x.py::Card.m"],
                     "symbol_signals": signals})
    start = load_params().symbol_weights() | {"member": 0.0}
    assert fit_symbols.measure(rows, start, 10.0)["acc@10"] == 0.0
    weights = fit_symbols.fit(rows, start, 10.0)
    assert weights["member"] > 0
    assert fit_symbols.measure(rows, weights, 10.0)["acc@10"] == 1.0
    assert fit_symbols.held_out(rows, start, 10.0)["acc@10"] == 1.0
