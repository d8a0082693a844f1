"""BM25 over term-count rows: the same scores as bm25s, rows that move between builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.lexical import LexicalIndex, Rows, Vocabulary, top_indices

DOCUMENTS = [
    ["split", "text", "regex", "split", "pattern"],
    ["join", "text", "separator"],
    [],
    ["regex", "compile", "pattern", "pattern", "cache", "regex", "flags"],
    ["text", "wrap", "width", "text", "text"],
]
QUERIES = [
    ["split", "regex"],
    ["text"],
    ["pattern", "pattern", "cache"],  # repeated tokens count twice
    ["nothing", "here"],
    ["wrap", "nothing", "join"],
]


@pytest.mark.parametrize("query", QUERIES)
def test_scores_equal_bm25s_lucene(query: list[str]) -> None:
    import bm25s

    reference = bm25s.BM25()
    reference.index(DOCUMENTS, show_progress=False)
    known = [t for t in query if t in reference.vocab_dict]
    expected = reference.get_scores(known) if known else np.zeros(len(DOCUMENTS))
    got = LexicalIndex.from_tokens(DOCUMENTS).scores(query)
    assert got.dtype == np.float32 and got.shape == (len(DOCUMENTS),)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_ranking_terms_and_known_tokens() -> None:
    index = LexicalIndex.from_tokens(DOCUMENTS)
    assert top_indices(index.scores(["regex", "pattern"]), 3) == [3, 0]
    assert index.terms_in(3, ["cache", "text", "regex", "absent"]) == ["cache", "regex"]
    assert index.terms_in(2, ["text"]) == []
    assert index.known(["text", "absent", "wrap"]) == ["text", "wrap"]


def test_empty_corpora_score_zero() -> None:
    for documents in ([], [[]], [[], []]):
        index = LexicalIndex.from_tokens(documents)
        assert index.scores(["text"]).tolist() == [0.0] * len(documents)
        assert index.known(["text"]) == []


def test_rows_concat_slice_and_take_keep_each_document() -> None:
    vocabulary = Vocabulary()
    first = Rows.count(DOCUMENTS[:2], vocabulary)
    second = Rows.count(DOCUMENTS[2:], vocabulary)
    every = Rows.concat([first, second])
    whole = [every.counted(i, vocabulary) for i in range(every.size)]
    assert whole == [{t: d.count(t) for t in d} for d in DOCUMENTS]
    assert every.slice(1, 4).counted(2, vocabulary) == whole[3]
    picked = every.take([4, 0])
    assert [picked.counted(i, vocabulary) for i in range(2)] == [whole[4], whole[0]]
    assert every.lengths().tolist() == [len(d) for d in DOCUMENTS]
    assert every.take([]).size == 0 and Rows.concat([]).size == 0


def test_an_index_ignores_terms_added_to_its_vocabulary_later() -> None:
    vocabulary = Vocabulary()
    index = LexicalIndex(Rows.count(DOCUMENTS, vocabulary), vocabulary)
    Rows.count([["brand", "new", "terms"]], vocabulary)  # the next build shares it
    assert index.scores(["brand", "text"]).tolist() == index.scores(["text"]).tolist()
    assert index.known(["brand", "text"]) == ["text"]


def test_saved_index_loads_with_the_same_scores(tmp_path: Path) -> None:
    index = LexicalIndex.from_tokens(DOCUMENTS)
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical", len(DOCUMENTS))
    for query in QUERIES:
        assert loaded.scores(query).tolist() == index.scores(query).tolist()
    assert loaded.terms_in(0, ["split", "join"]) == ["split"]
