"""The aboutness features and the one posting gate, each value computed by hand."""

from __future__ import annotations

import math

import pytest

from retrieval.aboutness import (
    ABOUT_FEATURES,
    about_features,
    aboutness,
    content_terms,
    expected_rate,
    expected_share,
    import_flags,
    known_rates,
    name_weights,
    term_share,
    top_share,
    unusual_weight,
)
from retrieval.gate import Silence, files_verdict, lexical_fired
from retrieval.locate import locate
from retrieval.mentions import collect_mentions
from retrieval.query import imported_packages, parse_issue
from retrieval.search_index import SearchIndex
from tests.evalfixture import ISSUES

# A made-up English: "please" and "cart" are common words, "sku" a rare one.
ZIPF = {"please": 6.0, "the": 7.7, "cart": 3.0, "total": 4.5, "sku": 1.5}


def english(word: str) -> float:
    return ZIPF.get(word, 0.0)


def test_unusual_weight_goes_from_common_to_rare() -> None:
    assert unusual_weight(7.7) == 0.0 and unusual_weight(6.0) == 0.0
    assert unusual_weight(3.0) == 0.5 and unusual_weight(0.0) == 1.0


def test_content_terms_are_distinct_alphabetic_and_long_enough() -> None:
    assert content_terms(["cart", "x2", "go", "cart", "total", "sku"]) == ["cart", "total",
                                                                          "sku"]


def test_term_share_weighs_the_unusual_words() -> None:
    # Weights: please 0, cart 0.5, total 0.25, sku 0.75; the repository knows cart and sku.
    share = term_share(["please", "cart", "total", "sku"], {"cart", "sku", "please"}, english)
    assert share == pytest.approx((0.5 + 0.75) / (0.5 + 0.25 + 0.75))
    assert term_share(["please", "the"], {"please"}, english) == 0.0  # nothing weighs


def test_top_share_is_the_idf_share_the_best_file_holds() -> None:
    idf = {"cart": 1.0, "total": 2.0, "casino": 5.0}
    assert top_share(["cart", "total", "casino"], {"cart", "total"}, idf) == 3.0 / 8.0
    assert top_share([], set(), {}) == 0.0


def test_name_weights_weigh_the_names_the_repository_defines_by_rarity() -> None:
    # Weights: Cart 0.5 (as "cart"), useEffect 1, OutOfStock 1, total 0.25.
    names = ["Cart", "useEffect", "OutOfStock", "total"]
    assert name_weights(names, {"Cart", "OutOfStock", "total"}.__contains__, english) == (
        1.75, 2.75)


def test_names_of_the_language_say_nothing_about_the_repository(
        shop_search: SearchIndex) -> None:
    # `sorted`, `print`, `append` and ValueError are Python's; only `Cart` is the shop's.
    queries = parse_issue("```python\nbasket = sorted(Cart().items)\nprint(basket)\n"
                          "basket.append(1)\n```\nValueError: bad")
    assert {"sorted", "print", "append", "items", "Cart"} <= set(queries.identifiers)
    found = about_features(shop_search, queries, None, 0.0,
                           collect_mentions(shop_search, queries), english)
    # Names weighed: Cart (0.5) and the unknown `basket` (1): a third of the weight is known.
    assert found["names_share"] == pytest.approx(0.5 / 1.5)
    assert found["names_known"] == pytest.approx(0.5 / 3)


def test_known_rates_and_the_share_expected_of_a_repository() -> None:
    table = {"please": 6.0, "cart": 3.0, "card": 3.2, "sku": 1.5, "skew": 1.7}
    rates = known_rates(lambda words: [w for w in words if w in {"cart", "sku", "skew"}], table)
    assert rates == {6.0: 0.0, 3.0: 0.5, 1.5: 1.0}
    assert expected_rate(3.4, rates) == 0.5 and expected_rate(0.0, rates) == 0.0
    assert expected_rate(4.2, rates) == 0.5  # no band of its own: the nearest rarer one
    assert expected_rate(0.5, rates) == 1.0  # rarer than any band: the rarest
    # cart (weight 0.5, expected 0.5) and sku (weight 0.75, expected 1): 0.625 / 1.25.
    assert expected_share(["cart", "sku", "please"], rates, english) == pytest.approx(
        (0.5 * 0.5 + 0.75 * 1.0) / 1.25)


def test_about_features_of_an_issue_about_the_shop(shop_search: SearchIndex) -> None:
    text = "Cart.total ignores the quantity of an sku"
    queries = parse_issue(text)
    mentions = collect_mentions(shop_search, queries)
    found = about_features(shop_search, queries, "shop/cart.py", 0.5, mentions, english)
    assert set(found) == set(ABOUT_FEATURES)
    # Identifiers: Cart (weight 0.5) and total (0.25), from the dotted name; both defined.
    assert found["names_known"] == pytest.approx(0.75 / 3) and found["names_share"] == 1.0
    assert found["dense_best"] == 0.5 and found["named"] == 1.0
    terms = content_terms(queries.tokens)
    known = set(shop_search.files_lexical.known(terms))
    assert found["term_share"] == pytest.approx(term_share(terms, known, english))
    rates = known_rates(shop_search.files_lexical.known, ZIPF)
    assert about_features(shop_search, queries, "shop/cart.py", 0.5, mentions, english, rates)[
        "term_excess"] == pytest.approx(found["term_share"]
                                        - expected_share(terms, rates, english))
    in_cart = set(shop_search.files_lexical.terms_in(shop_search.file_position["shop/cart.py"],
                                                     terms))
    assert {"cart", "total", "quantity", "sku"} <= in_cart


def test_about_features_of_an_issue_about_something_else(shop_search: SearchIndex) -> None:
    queries = parse_issue("My printer shows a bluetooth pairing error on the kitchen tablet")
    found = about_features(shop_search, queries, None, -0.1,
                           collect_mentions(shop_search, queries), english)
    assert found["names_known"] == 0.0 and found["names_share"] == 0.0
    assert found["term_share"] == 0.0  # no word of it is in the shop's code
    assert found["top_share"] == 0.0 and found["dense_best"] == 0.0 and found["named"] == 0.0


def test_document_frequencies_by_hand(shop_search: SearchIndex) -> None:
    lexical = shop_search.files_lexical
    paths = shop_search.corpus.files
    having_cart = sum("cart" in lexical.terms_in(i, ["cart"]) for i in range(len(paths)))
    assert lexical.document_frequencies(["cart", "zzzunknown"]) == [having_cart, 0]


def test_aboutness_is_a_logistic_model_and_open_without_one() -> None:
    features = {"names_known": 1.0, "term_share": 0.5}
    assert aboutness(features, {}) == 1.0
    assert aboutness(features, {"bias": -1.0, "names_known": 2.0, "term_share": 2.0}) == \
        pytest.approx(1 / (1 + math.exp(-2.0)))


def test_locate_reports_aboutness_from_the_params(shop_search: SearchIndex) -> None:
    found = locate(shop_search, ISSUES["emails"])
    assert set(found.about_features) == set(ABOUT_FEATURES)
    assert 0.0 < found.about <= 1.0 and found.lexical


def test_the_gate_asks_a_match_then_aboutness_then_confidence() -> None:
    assert files_verdict(False, True, 1.0, 0.5, 0.9, 0.8).silence is Silence.NO_FILE
    assert files_verdict(True, False, 1.0, 0.5, 0.9, 0.8).silence is Silence.NO_TERM
    not_about = files_verdict(True, True, 0.3, 0.5, 0.99, 0.8)
    assert not_about.silence is Silence.NOT_ABOUT and not not_about.post
    assert not_about.reason == "not about this code: aboutness 0.30 < 0.50"
    unsure = files_verdict(True, True, 0.9, 0.5, 0.7, 0.8, "calibration")
    assert unsure.silence is Silence.NOT_CONFIDENT
    assert unsure.reason == "not confident about which file: confidence 0.70 < 0.80 (calibration)"
    cleared = files_verdict(True, True, 0.5, 0.5, 0.8, 0.8)
    assert cleared.post and cleared.silence is None


def test_lexical_means_more_than_embeddings() -> None:
    assert not lexical_fired({"dense": {"a.py": 1}, "mention": {}})
    assert lexical_fired({"dense": {"a.py": 1}, "symbol_lexical": {"a.py": 1}})


def test_imports_are_read_from_import_lines() -> None:
    text = ("import numpy as np, xarray as xr\n>>> from sympy.core import S\n   import os.path\n"
            "from . import x\nimport matplotlib.pyplot as plt\nwe import nothing here")
    assert imported_packages(text) == ["numpy", "xarray", "sympy", "os", "matplotlib"]


def test_import_flags_tell_this_package_from_only_others() -> None:
    assert import_flags(["os", "shop", "numpy"], {"shop"}) == (1.0, 0.0)
    assert import_flags(["os", "numpy"], {"shop"}) == (0.0, 1.0)
    assert import_flags(["os", "sys"], {"shop"}) == (0.0, 0.0)  # the standard library only
    assert import_flags([], {"shop"}) == (0.0, 0.0)


@pytest.mark.parametrize(("text", "exact"), [
    ('File "/srv/app/shop/emails.py", line 7, in send_receipt', True),  # a frame
    ("see shop/pricing.py for the rounding", True),  # a path with a directory
    ("`Cart.total` is wrong", True),  # a dotted name of a symbol
    ("round_price(2.675) gives 2.67", True),  # a code-shaped name it defines
    ("OutOfStock is never raised", True),
    ("setup.py fails to install", False),  # no directory: any project has one
    ("HTML output is broken and __init__ too", False),  # an acronym, a dunder
    ("sorted(items) and str.lower()", False),  # Python's own
    ("xr.DataArray.rolling is slow", False),  # another library's names
])
def test_exact_mentions(shop_search: SearchIndex, text: str, exact: bool) -> None:
    assert collect_mentions(shop_search, parse_issue(text)).exact is exact


def test_an_exact_mention_settles_aboutness() -> None:
    coefficients = {"bias": -10.0}
    assert aboutness({"exact": 1.0}, coefficients) == 1.0
    assert aboutness({"exact": 0.0}, coefficients) < 0.001
