"""Issue parsing, tokenizing and localization with evidence, on the shop fixture."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from indexer.build import Indexer
from indexer.gitrepo import GitRepo
from navbot.cli.main import main
from navbot.core.config import Settings
from retrieval.corpus import DocumentCache
from retrieval.locate import locate
from retrieval.params import Params, default_params
from retrieval.paths import is_test_path
from retrieval.query import Frame, Link, parse_issue
from retrieval.search_index import SearchIndex
from retrieval.text import split_identifier, tokenize
from tests.evalfixture import ISSUES, build_eval_repo
from tests.gitfixture import GitFixture


def test_identifiers_split_into_words() -> None:
    assert split_identifier("prepare_contentLength") == ("prepare", "content", "length")
    assert split_identifier("HTTPServerError") == ("http", "server", "error")
    assert tokenize("Cart.total() uses self.add_item") == [
        "cart", "total", "uses", "add", "item", "add_item"]


def test_parse_issue_finds_code_references() -> None:
    queries = parse_issue(
        "Crash in sympy.core.basic.Basic.doit with `evalf_mul`\n"
        'File "/usr/lib/python3/site-packages/sympy/core/basic.py", line 120, in doit\n'
        "TypeError: cannot add; see sympy/core/expr.py and https://example.com/a.py\n"
        "Calling simplify(x) or HTTPAdapter fails.")
    assert queries.frames == [Frame("/usr/lib/python3/site-packages/sympy/core/basic.py", 120,
                                    "doit")]
    assert "sympy/core/expr.py" in queries.paths
    assert not any("example.com" in p for p in queries.paths)
    assert "sympy.core.basic.Basic.doit" in queries.dotted
    assert {"evalf_mul", "simplify", "HTTPAdapter", "Basic"} <= set(queries.identifiers)
    assert queries.errors == ["TypeError"]
    assert queries.shape == "traceback"
    assert parse_issue("Things are slow when there are many rows").shape == "prose"


def test_parse_issue_finds_links_to_files_on_github() -> None:
    queries = parse_issue(
        "The count is computed here: https://github.com/o/shop/blob/1be777fe/shop/cart.py#L17 "
        "(see also [this](https://github.com/o/shop/blob/main/shop/pricing.py)). "
        "Read https://github.com/o/shop/blob/main/CONTRIBUTING.md and "
        "https://github.com/o/shop/tree/main/shop first.")
    assert queries.links == [Link("shop/cart.py", 17), Link("shop/pricing.py", None)]
    assert queries.paths == []  # a link is not also a path written in the issue


def test_test_paths() -> None:
    assert is_test_path("tests/test_cart.py") and is_test_path("pkg/conftest.py")
    assert is_test_path("src/foo_test.py") and not is_test_path("shop/contest.py")


def test_traceback_frame_leads_with_evidence(shop_search: SearchIndex) -> None:
    found = locate(shop_search, ISSUES["emails"])
    assert found.files[0].path == "shop/emails.py"
    assert any("traceback frame `shop/emails.py` line 7 in `send_receipt`" in why
               for why in found.files[0].evidence)
    assert (found.symbols[0].qualname, found.symbols[0].start_line) == ("send_receipt", 4)
    assert found.features["mention"] == 1.0


def test_a_linked_line_leads_with_evidence(shop_search: SearchIndex) -> None:
    found = locate(shop_search, "Discounts are off by a cent\n\nThe bug is around "
                   "https://github.com/o/shop/blob/0123abc/shop/pricing.py#L10 I think.")
    assert found.files[0].path == "shop/pricing.py"
    assert "the issue links to `shop/pricing.py`" in found.files[0].evidence
    best = found.symbols[0]
    assert (best.path, best.qualname) == ("shop/pricing.py", "round_price")
    assert "the issue links to `shop/pricing.py` line 10" in best.evidence
    # The same link to a file this repository does not have names nothing.
    elsewhere = locate(shop_search, "Discounts are off by a cent: "
                       "https://github.com/o/other/blob/main/lib/pricing.py#L10")
    assert not any("links to" in why for f in elsewhere.files for why in f.evidence)


def test_behaviour_words_find_the_symbol(shop_search: SearchIndex) -> None:
    found = locate(shop_search, ISSUES["stock"])
    assert found.files[0].path == "shop/inventory.py"
    assert any(s.qualname == "Stock.reserve" for s in found.symbols[:3])
    assert any(why.startswith("shares terms with the issue") for why in found.files[0].evidence)


def test_symbols_of_listed_files_rank_by_their_place_in_the_file(shop_search: SearchIndex
                                                                   ) -> None:
    fitted = default_params()
    assert fitted.symbols["in_file"] > 0
    without = dataclasses.replace(fitted, symbols={})

    def order(params: Params) -> list[str]:
        found = locate(shop_search, ISSUES["cart"], params)
        assert [f.path for f in found.files[:2]] == ["shop/cart.py", "shop/pricing.py"]
        return [f"{s.path}::{s.qualname}" for s in found.symbols]

    ranked, before = order(fitted), order(without)
    # A test function (its file is not listed) no longer outranks the top file's own methods.
    assert before.index("tests/test_cart.py::test_total") < \
        before.index("shop/cart.py::Cart.add_item")
    assert ranked.index("shop/cart.py::Cart.add_item") < \
        ranked.index("tests/test_cart.py::test_total")
    assert ranked[:2] == before[:2] == ["shop/cart.py::Cart.total", "shop/cart.py::Cart"]


PRINTER = """class Printer:
    def _print_Cart(self, cart):
        return "Cart(%s)" % cart.total()

    def _print_Stock(self, stock):
        return "Stock"
"""
CART = """class Cart:
    def __init__(self):
        self.lines = []

    def total(self):
        return sum(line.amount for line in self.lines)
"""


def test_class_members_and_dispatch_methods_say_why(tmp_path: Path, settings: Settings
                                                    ) -> None:
    path = tmp_path / "printing"
    GitFixture(path).commit("Printer", {"shop/printer.py": PRINTER, "shop/cart.py": CART})
    indexed = Indexer(settings).index(path)
    search = SearchIndex.build(DocumentCache().build(GitRepo(path), indexed.facts),
                               indexed.graph)
    found = locate(search, "Printing a `Cart` shows the wrong total when it is empty")
    why = {s.qualname: s.evidence for s in found.symbols}
    assert "a member of `Cart`, whose class the issue names" in why["Cart.total"]
    assert "named after `Cart`, which the issue names" in why["Printer._print_Cart"]
    assert not any("named after" in reason for reason in why.get("Printer._print_Stock", []))


PRICE = """class Price:
    @property
    def amount(self):
        \"\"\"The amount in cents.\"\"\"
        return self._amount

    @amount.setter
    def amount(self, value):
        \"\"\"Set the amount, rounded to cents.\"\"\"
        self._amount = round(value)
"""


def test_a_property_is_listed_once_though_its_setter_shares_its_name(
        tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "price"
    GitFixture(path).commit("Price", {"shop/price.py": PRICE})
    indexed = Indexer(settings).index(path)
    search = SearchIndex.build(DocumentCache().build(GitRepo(path), indexed.facts))
    assert [s.qualname for s in search.corpus.symbols].count("Price.amount") == 2
    found = locate(search, "Setting `Price.amount` does not round the amount to cents")
    listed = [s.qualname for s in found.symbols]
    assert listed.count("Price.amount") == 1 and "Price" in listed


def test_a_module_named_in_prose_is_found_by_its_path(tmp_path: Path, settings: Settings
                                                      ) -> None:
    body = 'def render(expr):\n    """Render an expression."""\n    return str(expr)\n'
    path = tmp_path / "printers"
    GitFixture(path).commit("Printers", {"shop/printing/latex.py": body,
                                         "shop/printing/mathml.py": body})
    indexed = Indexer(settings).index(path)
    search = SearchIndex.build(DocumentCache().build(GitRepo(path), indexed.facts))
    found = locate(search, "The MathML printer renders an expression wrongly")
    assert found.signals["path"] == {"shop/printing/mathml.py": 1}
    assert found.files[0].path == "shop/printing/mathml.py"
    assert "its path has the issue's words: mathml" in found.files[0].evidence


def test_nothing_matches_means_no_answer(shop_search: SearchIndex) -> None:
    found = locate(shop_search, "zzz qqq")
    assert found.files == [] and found.symbols == [] and found.confidence == 0.0
    assert not found.verdict(0.0, 0.0).post


def test_ask_command(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "shop"
    shas = build_eval_repo(path)
    # No index yet: ask indexes HEAD first.
    text = runner.invoke(main, ["ask", str(path), ISSUES["rounding"]])
    assert text.exit_code == 0, text.output
    assert "1. shop/pricing.py" in text.output
    assert "shop/pricing.py::round_price  lines 9-11" in text.output
    issue_file = tmp_path / "issue.md"
    issue_file.write_text(ISSUES["cart"])
    as_json = runner.invoke(main, ["ask", str(path), "--issue-file", str(issue_file), "--json",
                                   "--commit", shas["initial"]])
    found = json.loads(as_json.output)
    assert found["files"][0]["path"] == "shop/cart.py"
    assert found["index_commit"] == shas["initial"]
    assert found["symbols"][0] == {**found["symbols"][0], "name": "Cart.total",
                                   "path": "shop/cart.py", "lines": [16, 18]}
    assert set(found) >= {"files", "symbols", "confidence", "would_post", "index_commit"}
    offtopic = runner.invoke(main, ["ask", str(path), "Printer prints blank pages\n\nSince "
                                    "the update my printer prints the cart icon only."])
    assert offtopic.exit_code == 0, offtopic.output
    assert "would stay silent: not about this code: aboutness" in offtopic.output
    silent = json.loads(runner.invoke(main, ["ask", str(path), "--json", "Printer prints "
                                             "blank pages, a cart of paper"]).output)
    assert silent["would_post"] is False and silent["silence"] == "not about this code"
    unknown = runner.invoke(main, ["ask", str(path), "x", "--commit", "nope"])
    assert unknown.exit_code == 1 and "unknown commit 'nope'" in unknown.output
    empty = runner.invoke(main, ["ask", str(path), "  "])
    assert empty.exit_code == 2 and "give the issue's text" in empty.output


def test_environment_dumps_are_not_queries() -> None:
    issue = ("Plot fails with NaN coordinates\n\n```python\nda.plot()\n```\n\n"
             "<details><summary>Output of xr.show_versions()</summary>\n\nINSTALLED VERSIONS\n"
             "python: 3.10.4\nnumpy: 1.22.4\n</details>\n\n"
             "```\nnumpy 1.22.4\npandas 1.4.2\nscipy 1.8.1\nmatplotlib 3.5.2\ndask 2022.6.0\n```\n")
    queries = parse_issue(issue)
    assert "plot" in queries.tokens and "da.plot" in queries.dotted
    assert not {"numpy", "pandas", "scipy", "installed", "versions"} & set(queries.tokens)


def test_ask_on_awkward_input(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "shop"
    build_eval_repo(path)
    huge = tmp_path / "huge.md"
    huge.write_text("Cart total is wrong\n\n" + "the cart total ignores discounts. " * 30_000)
    assert huge.stat().st_size > 1_000_000
    big = runner.invoke(main, ["ask", str(path), "--issue-file", str(huge), "--json"])
    assert big.exit_code == 0, big.output
    assert json.loads(big.output)["files"][0]["path"] == "shop/cart.py"
    chinese = runner.invoke(main, ["ask", str(path), "调用 round_price(2.675) 时价格舍入错误",
                                   "--json"])
    assert json.loads(chinese.output)["files"][0]["path"] == "shop/pricing.py"


def test_ask_on_a_repository_without_code(runner: CliRunner, tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "docs-only")
    repo.commit("Docs", {"README.md": "# Notes\n", "data/table.csv": "a,b\n1,2\n"})
    result = runner.invoke(main, ["ask", str(repo.path), "Where are the notes?"])
    assert result.exit_code == 0, result.output
    assert "no files in a supported language" in result.output
    assert "would stay silent" in result.output
