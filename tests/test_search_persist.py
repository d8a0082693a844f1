"""A new process moving a saved search forward redoes only what changed."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from indexer.build import Indexer
from indexer.gitrepo import GitRepo
from navbot.core.config import Settings
from retrieval.corpus import DOCUMENTS_DIR, DocumentCache
from retrieval.doc_markup import is_doc_path
from retrieval.embed import Embedder
from retrieval.locate import locate
from retrieval.searcher import SearchBuilder
from tests.evalfixture import ISSUES, build_eval_repo
from tests.gitfixture import GitFixture


class CountingRepo(GitRepo):
    """A real GitRepo that remembers which blobs were read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.blobs_read: list[str] = []

    def read_blobs(self, blobs: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Read through git, counting."""
        for blob, content in super().read_blobs(blobs):
            self.blobs_read.append(blob)
            yield blob, content


class ModelRefused(Embedder):
    """An embedder that fails if anything makes it load its model while `refuse` is set."""

    refuse = True

    def _load(self) -> Any:
        if self.refuse:
            raise AssertionError("the model was loaded although nothing needed embedding")
        return super()._load()


def _move_forward(settings: Settings, tmp_path: Path) -> tuple[Path, Any]:
    """The shop, searched and saved by one builder, then a private edit committed."""
    path = tmp_path / "shop"
    build_eval_repo(path)
    indexer = Indexer(settings)
    first = indexer.index(path)
    SearchBuilder(settings, GitRepo(path), "shop-test", Embedder()).build_and_save(
        first.facts, first.graph, first.commit)
    repo = GitFixture(path)
    pricing = (path / "shop/pricing.py").read_text()
    repo.commit("Tidy pricing", {"shop/pricing.py": pricing + "\n\ndef _unused():\n    pass\n"})
    return path, indexer.index(path)


def test_a_new_builder_reads_only_the_changed_file(settings: Settings, tmp_path: Path) -> None:
    path, second = _move_forward(settings, tmp_path)
    repo = CountingRepo(path)
    embedder = ModelRefused()
    builder = SearchBuilder(settings, repo, "shop-test", embedder)
    moved, stats = builder.build_and_save(second.facts, second.graph, second.commit)
    embedder.refuse = False  # answering issues does need the model
    changed = second.facts["shop/pricing.py"].blob
    assert repo.blobs_read == [changed]
    # A private function adds no question: nothing was embedded, and no model was loaded.
    assert stats is not None and (stats.embedded, stats.removed) == (0, 0)

    from_scratch, _ = SearchBuilder(settings, GitRepo(path), "shop-scratch",
                                    Embedder()).build(second.facts, second.graph)
    assert moved.corpus.files == from_scratch.corpus.files
    assert [moved.corpus.file_terms(i) for i in range(len(moved.corpus.files))] == \
        [from_scratch.corpus.file_terms(i) for i in range(len(moved.corpus.files))]
    assert [moved.corpus.symbol_terms(i) for i in range(len(moved.corpus.symbols))] == \
        [from_scratch.corpus.symbol_terms(i) for i in range(len(moved.corpus.symbols))]
    assert moved.corpus.questions == from_scratch.corpus.questions
    for text in ISSUES.values():
        assert [f.path for f in locate(moved, text).files] == \
            [f.path for f in locate(from_scratch, text).files]


def test_documents_from_other_code_are_not_trusted(settings: Settings, tmp_path: Path) -> None:
    path, second = _move_forward(settings, tmp_path)
    stored = settings.repo_dir("shop-test") / "search" / DOCUMENTS_DIR / "documents.json"
    saved = json.loads(stored.read_text())
    saved["fingerprint"] = "written-by-an-older-tokenizer"
    stored.write_text(json.dumps(saved))
    repo = CountingRepo(path)
    SearchBuilder(settings, repo, "shop-test", Embedder()).build(second.facts, second.graph)
    read = [f.blob for path, f in second.facts.items() if f.language or is_doc_path(path)]
    assert "README.md" in second.facts and sorted(repo.blobs_read) == sorted(read)


def test_a_broken_documents_file_only_costs_a_rebuild(settings: Settings, tmp_path: Path
                                                      ) -> None:
    path, second = _move_forward(settings, tmp_path)
    stored = settings.repo_dir("shop-test") / "search" / DOCUMENTS_DIR / "terms.npy"
    stored.write_bytes(b"\x93NUMPY truncated")
    repo = CountingRepo(path)
    search, _ = SearchBuilder(settings, repo, "shop-test", Embedder()).build(
        second.facts, second.graph)
    assert len(repo.blobs_read) == sum(1 for path, f in second.facts.items()
                                       if f.language or is_doc_path(path))
    assert locate(search, ISSUES["emails"]).files[0].path == "shop/emails.py"


def test_terms_no_file_uses_any_more_are_dropped_from_the_saved_vocabulary(
        settings: Settings, tmp_path: Path) -> None:
    """Each push may add terms; once dead terms are most of the vocabulary, saving drops them."""
    path = tmp_path / "words"
    repo = GitFixture(path)
    indexer = Indexer(settings)
    stored = tmp_path / "documents"
    sizes = []
    for round_ in range(4):
        words = " ".join(f"word{round_}x{i}" for i in range(50))
        repo.commit(f"Round {round_}", {"words.py": f"def f():\n    return '{words}'\n"})
        result = indexer.index(path)
        cache = DocumentCache(stored)
        corpus = cache.build(GitRepo(path), result.facts)
        shutil.rmtree(stored, ignore_errors=True)
        cache.save(stored)
        sizes.append(len(json.loads((stored / "documents.json").read_text())["vocabulary"]))
        fresh = DocumentCache().build(GitRepo(path), result.facts)
        assert corpus.file_terms(0) == fresh.file_terms(0)
        assert len(fresh.vocabulary) <= sizes[-1] <= 2 * len(fresh.vocabulary)
    assert sizes[1] > sizes[0] and any(b < a for a, b in itertools.pairwise(sizes))
    reloaded = DocumentCache(stored).build(GitRepo(path), indexer.index(path).facts)
    assert "word3x7" in reloaded.file_terms(0) and "word0x7" not in reloaded.vocabulary.ids
