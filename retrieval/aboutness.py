"""Is this issue about this repository at all? Features measured against the repository itself.

The confidence model asks whether the top of the ranking is right, and its features (the
signals agreeing, the lead of the first file) are high whenever the signals agree, which in a
small repository they do on `app.py` whatever the text. These features ask something else:
how much of what the issue says this repository knows.

- `names_known`, `names_share`: the issue's code names (identifiers, dotted names, error
  types) that this repository defines, as a count (saturating at NAMES_SATURATE) and a share,
  each name weighted by how unusual it is in English (`Session` counts, `run` barely). Names
  of the language itself (`print`, `sorted`, `append`, `ValueError`, keywords) are left out:
  every snippet has them, and a large repository defines a method of the same name somewhere.
- `term_share`: of the issue's words, weighted by how unusual each is in ordinary English,
  the share this repository's files contain. "please", "work" weigh nothing; "bluetooth",
  "useeffect", "dataarray" weigh almost one, so it is the unusual words that must be known.
- `term_excess`: `term_share` less the share expected of any English text of the same
  words' frequencies: a large repository knows "printer" and "windows" too, so knowing a
  word counts by how much more often this repository knows words that rare
  (`english_rates`: per band of English frequency, the share of English words of that band
  its files contain). Words English does not have (identifiers) are expected at zero.
- `top_share`: of the issue's words, weighted by their idf here (a word no file has weighs
  most), the share the best-ranked file contains: does one file explain the issue?
- `dense_best`: the best similarity of the issue's sentences to a synthetic question.
- `named`: something the issue names outright (a path, frame, link, dotted name or a
  specific identifier) resolves to this repository.
- `exact`: a path with a directory, a traceback frame, a link to a file, a dotted name
  (`Cart.total`, `pkg.mod.func`) or a code-shaped name (`round_price`, `OutOfStock`, not
  Python's own) of the issue is a file or a specific symbol of this repository: the
  strongest sign, however short the issue and however common its words.
- `imports_own`, `imports_other`: the issue's code imports a package this repository
  provides; or it imports packages (beyond Python's standard library) and none of them is
  this repository's, as a bug report about another library does.

Pure: the English word frequencies come in as a function (`english_zipf` reads them from
the `wordfreq` package's data).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from retrieval.query import LANGUAGE_NAMES, IssueQueries

if TYPE_CHECKING:
    from retrieval.lexical import LexicalIndex
    from retrieval.mentions import Mentions
    from retrieval.search_index import SearchIndex

ABOUT_FEATURES = ("names_known", "names_share", "term_share", "term_excess", "top_share",
                  "dense_best", "named", "exact", "imports_own", "imports_other")
NAMES_SATURATE = 3  # three names the repository defines say as much as thirty
ZIPF_COMMON = 6.0  # words at least this frequent in English ("the", "is") weigh nothing
MIN_TERM_LENGTH = 3
BAND = 0.5  # width of an English frequency band, on the Zipf scale

EnglishFrequency = Callable[[str], float]
# A repository's known-word rate per English frequency band, computed once per index.
_RATES: WeakKeyDictionary[LexicalIndex, dict[float, float]] = WeakKeyDictionary()


@cache
def english_table() -> dict[str, float]:
    """Ordinary English words (alphabetic, at least MIN_TERM_LENGTH letters) → Zipf frequency.

    From the `wordfreq` package's data, read once per process (about a second).
    """
    import wordfreq

    return {word: round(math.log10(frequency) + 9, 2)
            for word, frequency in wordfreq.get_frequency_dict("en").items()
            if len(word) >= MIN_TERM_LENGTH and word.isalpha()}


def english_zipf(word: str) -> float:
    """A word's frequency in ordinary English on the Zipf scale (0: unknown, 7.7: "the")."""
    return english_table().get(word, 0.0)


def band_of(zipf: float) -> float:
    """The English frequency band of a Zipf value (its lower edge)."""
    return math.floor(zipf / BAND) * BAND


def known_rates(known: Callable[[list[str]], list[str]], table: dict[str, float]
                ) -> dict[float, float]:
    """Per English frequency band, the share of the band's words that `known` keeps."""
    words = list(table)
    present = set(known(words))
    totals: dict[float, list[int]] = {}
    for word in words:
        count = totals.setdefault(band_of(table[word]), [0, 0])
        count[0] += 1
        count[1] += word in present
    return {band: hits / total for band, (total, hits) in totals.items()}


def expected_rate(zipf: float, rates: dict[float, float]) -> float:
    """How likely the repository knows a word this frequent in English (0 for non-words)."""
    if zipf <= 0.0 or not rates:
        return 0.0
    band = max(min(rates), min(band_of(zipf), max(rates)))
    while band not in rates:  # a band without words: the nearest rarer one
        band -= BAND
    return rates[band]


def english_rates(lexical: LexicalIndex) -> dict[float, float]:
    """The known-word rates of the repository behind `lexical` (cached with the index)."""
    if lexical not in _RATES:
        _RATES[lexical] = known_rates(lexical.known, english_table())
    return _RATES[lexical]


def unusual_weight(zipf: float) -> float:
    """How much a word of this English frequency says about a topic: 0 (common) to 1 (rare)."""
    return max(0.0, 1.0 - zipf / ZIPF_COMMON)


def content_terms(tokens: Sequence[str]) -> list[str]:
    """The issue's distinct alphabetic terms of at least MIN_TERM_LENGTH letters, in order."""
    return list(dict.fromkeys(t for t in tokens if len(t) >= MIN_TERM_LENGTH and t.isalpha()))


def weighted_mean(terms: Sequence[str], value: Callable[[str], float],
                  english: EnglishFrequency) -> float:
    """The mean of `value` over `terms`, each weighed by its English rarity (0 with no weight)."""
    weights = {t: unusual_weight(english(t)) for t in terms}
    total = sum(weights.values())
    return sum(w * value(t) for t, w in weights.items()) / total if total > 0 else 0.0


def term_share(terms: Sequence[str], known: set[str], english: EnglishFrequency) -> float:
    """The English-rarity-weighted share of `terms` that are in `known` (0 with no weight)."""
    return weighted_mean(terms, lambda t: float(t in known), english)


def expected_share(terms: Sequence[str], rates: dict[float, float],
                   english: EnglishFrequency) -> float:
    """The `term_share` a repository with these `rates` would have for words this frequent."""
    return weighted_mean(terms, lambda t: expected_rate(english(t), rates), english)


def top_share(terms: Sequence[str], in_top: set[str], idf: dict[str, float]) -> float:
    """The idf-weighted share of `terms` that the best-ranked file contains."""
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in in_top) / total if total > 0 else 0.0


def term_idf(lexical: LexicalIndex, terms: Sequence[str]) -> dict[str, float]:
    """BM25 idf of each term over the index's documents (a term no document has: the most)."""
    from retrieval.lexical import bm25_idf

    frequencies = lexical.document_frequencies(terms)
    return {t: float(bm25_idf(lexical.size, f)) for t, f in zip(terms, frequencies, strict=True)}


def name_weights(names: Sequence[str], defined: Callable[[str], bool],
                 english: EnglishFrequency) -> tuple[float, float]:
    """The English-rarity weight of the issue's code names the repository defines, and of all.

    A name is weighed as its lower-case form is in English: `OutOfStock` and `dataarray` by
    one, `total` by a little, `print` hardly at all.
    """
    weights = {name: unusual_weight(english(name.lower())) for name in names}
    return (sum(w for name, w in weights.items() if defined(name)), sum(weights.values()))


def import_flags(imports: Sequence[str], provided: set[str]) -> tuple[float, float]:
    """(imports one of `provided`, imports third-party packages none of which is provided)."""
    third_party = [name for name in imports if name not in sys.stdlib_module_names]
    own = any(name in provided for name in third_party)
    return float(own), float(bool(third_party) and not own)


def about_features(index: SearchIndex, queries: IssueQueries, top_file: str | None,
                   dense_best: float, mentions: Mentions,
                   english: EnglishFrequency = english_zipf,
                   rates: dict[float, float] | None = None) -> dict[str, float]:
    """The aboutness features of an issue against `index` (see the module's docstring).

    `mentions` are what `locate` resolved of the issue's names (`named` and `exact` come
    from them); `english` and `rates` default to English word frequencies and the index's
    own rates.
    """
    names = [name for name in dict.fromkeys([*queries.identifiers, *queries.errors])
             if name not in LANGUAGE_NAMES]
    known_names, all_names = name_weights(names, index.defines, english)
    terms = content_terms(queries.tokens)
    known_terms = set(index.files_lexical.known(terms))
    in_top: set[str] = set()
    if top_file is not None:
        in_top = set(index.files_lexical.terms_in(index.file_position[top_file], terms))
    share = term_share(terms, known_terms, english)
    rates = rates if rates is not None else english_rates(index.files_lexical)
    imports_own, imports_other = import_flags(queries.imports, index.top_packages)
    return {
        "names_known": min(1.0, known_names / NAMES_SATURATE),
        "names_share": known_names / all_names if all_names > 0 else 0.0,
        "term_share": share,
        "term_excess": share - expected_share(terms, rates, english),
        "top_share": top_share(terms, in_top, term_idf(index.files_lexical, terms)),
        "dense_best": max(0.0, dense_best),
        "named": 1.0 if mentions.files else 0.0,
        "exact": 1.0 if mentions.exact else 0.0,
        "imports_own": imports_own,
        "imports_other": imports_other,
    }


def aboutness(features: dict[str, float], coefficients: dict[str, float]) -> float:
    """The probability that the issue is about this repository's code (1 with no model).

    An exact mention settles it: a traceback frame, a path, a link or a dotted name that is
    this repository's file or symbol is about this code however short the issue is and
    however few of its words the code has (a small repository knows few words).
    """
    if not coefficients or features.get("exact", 0.0) >= 1.0:
        return 1.0
    z = coefficients.get("bias", 0.0) + sum(
        coefficients.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-z))
