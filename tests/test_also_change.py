"""What else may need to change, read off the graph the real indexer builds for the shop
repository, grown with a checkout module, a subclass, docs and history."""

from __future__ import annotations

import pytest

from bot.also_change import AlsoChange, also_change, doc_paths
from indexer.build import Indexer
from indexer.graph import GraphData
from navbot.core.config import load_settings
from tests.evalfixture import CART, INVENTORY, PRICING, TESTS, build_eval_repo
from tests.gitfixture import GitFixture

CHECKOUT = '''"""Checking out a cart."""

from shop.cart import Cart
from shop.pricing import round_price


def checkout(cart, prices):
    """The amount to charge for `cart`."""
    subtotal = cart.total(prices)
    return round_price(subtotal)


class Register:
    """A till."""

    def ring_up(self, cart, prices):
        return checkout(cart, prices)
'''
GIFT = '''from shop.cart import Cart


class GiftCart(Cart):
    """A cart paid with a gift card."""

    def total(self, prices):
        return 0


class CorporateGiftCart(GiftCart):
    def total(self, prices):
        return -1
'''
APP = '''from shop.checkout import Register


def main():
    return 0


REGISTER = Register()
'''
TEST_CHECKOUT = '''from shop.cart import Cart
from shop.checkout import checkout


def test_checkout_rounds():
    cart = Cart()
    cart.add_item("pear", 3)
    assert checkout(cart, {"pear": 0.333}) == 0.99
'''
CHECKOUT_DOC = '''# Checkout

The register calls `checkout`, which asks
`Cart.total` for the sum; totally simple.
Start the shop with main.
'''
DOCS = {"docs/checkout.md": CHECKOUT_DOC, "README.md": "# shop\n\nA tiny shop with stock levels.\n"}


def line_of(text: str, snippet: str) -> int:
    """The 1-based line of the first line of `text` holding `snippet`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if snippet in line)


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> GraphData:
    """The indexed shop: cart.py changed with pricing.py 3 times, with inventory.py twice."""
    root = tmp_path_factory.mktemp("also")
    build_eval_repo(root / "shop")
    repo = GitFixture(root / "shop")  # re-initialising keeps build_eval_repo's commits
    repo._tick = 10  # and later dates keep the history in order
    repo.commit("Checkout", {"shop/checkout.py": CHECKOUT, "shop/gift.py": GIFT,
                             "shop/app.py": APP, "tests/test_checkout.py": TEST_CHECKOUT,
                             "docs/checkout.md": CHECKOUT_DOC})
    repo.commit("Discounts", {"shop/cart.py": CART + "\n# discounts\n",
                              "shop/pricing.py": PRICING + "\n# discounts\n"})
    repo.commit("Rounding", {"shop/cart.py": CART + "\n# rounding\n",
                             "shop/pricing.py": PRICING + "\n# rounding\n",
                             "shop/inventory.py": INVENTORY + "\n# rounding\n"})
    return Indexer(load_settings(home=root / "home")).index(root / "shop").graph


def by_place(found: list[AlsoChange]) -> dict[tuple[str, str | None], AlsoChange]:
    return {(item.path, item.symbol): item for item in found}


def test_a_method_lists_callers_tests_overrides_docs_and_co_changes(graph: GraphData) -> None:
    found = also_change(graph, [("shop/cart.py", "Cart.total")], DOCS, limit=20)
    places = by_place(found)
    call_line = line_of(CHECKOUT, "cart.total(prices)")
    assert places[("shop/checkout.py", "checkout")] == AlsoChange(
        path="shop/checkout.py", reason=f"calls `Cart.total` (shop/checkout.py:{call_line})",
        kind="caller", symbol="checkout",
        lines=(line_of(CHECKOUT, "def checkout"), line_of(CHECKOUT, "return round_price")))
    test_line = line_of(TESTS, "cart.total(")
    assert places[("tests/test_cart.py", "test_total")] == AlsoChange(
        path="tests/test_cart.py", reason=f"calls `Cart.total` (tests/test_cart.py:{test_line})",
        kind="test", symbol="test_total", lines=(line_of(TESTS, "def test_total"), test_line))
    assert places[("tests/test_checkout.py", None)].reason == \
        "imports `shop/cart.py` (tests/test_checkout.py:1)"
    override = places[("shop/gift.py", "GiftCart.total")]
    assert override.kind == "subclass"
    assert override.reason == ("overrides `Cart.total` in subclass `GiftCart` "
                               f"(shop/gift.py:{line_of(GIFT, 'def total')})")
    assert places[("shop/gift.py", "CorporateGiftCart.total")].kind == "subclass"
    doc = places[("docs/checkout.md", None)]
    assert doc.kind == "doc"
    doc_line = line_of(CHECKOUT_DOC, "Cart.total")
    assert doc.reason == f"mentions `Cart.total` (docs/checkout.md:{doc_line})"
    assert [(item.path, item.reason) for item in found if item.kind == "co_change"] == [
        ("shop/pricing.py", "changed together in 3 commits with `shop/cart.py`"),
        ("shop/inventory.py", "changed together in 2 commits with `shop/cart.py`"),
    ]
    assert ("shop/cart.py", "Cart.total") not in places
    assert "README.md" not in {item.path for item in found}  # changed with cart.py only once


def test_the_answer_is_ordered_by_kind_then_strength(graph: GraphData) -> None:
    found = also_change(graph, [("shop/cart.py", None)], DOCS, limit=20)
    kinds = [item.kind for item in found]
    order = ["caller", "test", "subclass", "doc", "co_change"]
    assert kinds == sorted(kinds, key=order.index)
    tests = [(item.path, item.symbol) for item in found if item.kind == "test"]
    # test_total calls three things of cart.py, test_checkout_rounds two; imports come last
    assert tests == [("tests/test_cart.py", "test_total"),
                     ("tests/test_checkout.py", "test_checkout_rounds"),
                     ("tests/test_cart.py", None), ("tests/test_checkout.py", None)]
    assert len({(item.path, item.symbol) for item in found}) == len(found)
    assert also_change(graph, [("shop/cart.py", None)], DOCS, limit=3) == found[:3]
    assert also_change(graph, [("shop/cart.py", None)], DOCS, limit=20) == found


def test_a_whole_file_leaves_out_its_own_code(graph: GraphData) -> None:
    found = also_change(graph, [("shop/cart.py", None)], DOCS, limit=20)
    assert "shop/cart.py" not in {item.path for item in found}
    test = by_place(found)[("tests/test_cart.py", "test_total")]
    assert test.reason.startswith("calls `Cart` (tests/test_cart.py:5), `Cart.add_item`")


def test_a_class_lists_its_subclasses_not_each_override(graph: GraphData) -> None:
    found = also_change(graph, [("shop/cart.py", "Cart")], DOCS, limit=20)
    subclasses = [item for item in found if item.kind == "subclass"]
    assert [(item.symbol, item.reason) for item in subclasses] == [
        ("CorporateGiftCart", f"subclasses `Cart` (shop/gift.py:{line_of(GIFT, 'class Corp')})"),
        ("GiftCart", f"subclasses `Cart` (shop/gift.py:{line_of(GIFT, 'class GiftCart')})"),
    ]
    assert subclasses[1].lines == (line_of(GIFT, "class GiftCart"), line_of(GIFT, "return 0"))


def test_module_level_calls_and_targets_calling_each_other(graph: GraphData) -> None:
    found = by_place(also_change(graph, [("shop/checkout.py", "Register")], DOCS))
    register_line = line_of(APP, "REGISTER =")
    assert found[("shop/app.py", None)] == AlsoChange(
        path="shop/app.py", reason=f"calls `Register` (shop/app.py:{register_line})",
        kind="caller", lines=(register_line, register_line))
    both = [("shop/checkout.py", "checkout"), ("shop/checkout.py", "Register")]
    callers = {(item.path, item.symbol) for item in also_change(graph, both, DOCS)
               if item.kind == "caller"}
    assert ("shop/checkout.py", "Register.ring_up") not in callers  # a target itself
    alone = also_change(graph, [("shop/checkout.py", "checkout")], DOCS)
    assert ("shop/checkout.py", "Register.ring_up") in by_place(alone)


def test_docs_match_whole_case_sensitive_specific_names(graph: GraphData) -> None:
    found = also_change(graph, [("shop/checkout.py", "checkout")], DOCS)
    assert by_place(found)[("docs/checkout.md", None)].reason == \
        f"mentions `checkout` (docs/checkout.md:{line_of(CHECKOUT_DOC, 'calls `checkout`')})"
    # "main" is too common to mean shop/app.py's main; "Total" and "totally" are other words
    assert not [i for i in also_change(graph, [("shop/app.py", "main")], DOCS) if i.kind == "doc"]
    other_words = {"docs/words.md": "Total\ntotally\nsubtotal\n"}
    assert not [item for item in also_change(graph, [("shop/cart.py", "Cart.total")], other_words)
                if item.kind == "doc"]


def test_unknown_targets_add_nothing_they_cannot(graph: GraphData) -> None:
    assert also_change(graph, [("nowhere.py", None)], DOCS) == []
    found = also_change(graph, [("shop/cart.py", "Cart.no_such_method")], DOCS, limit=20)
    assert {item.kind for item in found} == {"test", "co_change"}  # importers and history only
    assert also_change(graph, [("shop/cart.py", "Cart.total")], DOCS, limit=0) == []


def test_doc_paths_choose_prose() -> None:
    paths = ["README.md", "README", "docs/guide.rst", "docs/CHANGES", "doc/conf.py",
             "notes.txt", "requirements.txt", "requirements-dev.txt", "tests/fixtures/data.txt",
             "shop/cart.py", "docs/logo.png", "pkg/README.rst", "guide.markdown"]
    assert doc_paths(paths) == ["README", "README.md", "docs/CHANGES", "docs/guide.rst",
                                "guide.markdown", "notes.txt", "pkg/README.rst"]


def test_the_indexed_docs_are_found_among_the_graphs_files(graph: GraphData) -> None:
    files = [attrs["path"] for _, attrs in graph.nodes if attrs["kind"] == "file"]
    assert doc_paths(files) == ["README.md", "docs/checkout.md"]
