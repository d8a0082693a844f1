"""Saving and loading a built SearchIndex, so a warm `navbot ask` does not rebuild it.

Layout of a saved search (one per indexed commit, next to the index)::

    meta.json      files, symbols, past changes, neighbourhood links, sizes (orjson)
    documents/     term counts and questions by file content, for the next build (optional)
    files/ symbols/ history/   BM25 postings: numpy arrays (memory-mapped) and vocabularies

Written under a temporary name and renamed into place; JSON and numpy only, never pickle.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import orjson

from retrieval.corpus import DOCUMENTS_DIR, Corpus, DocumentCache, SymbolEntry
from retrieval.dense import DenseSignal
from retrieval.expand import Neighbourhood
from retrieval.history_signal import HistorySignal, PastChange
from retrieval.lexical import LexicalIndex
from retrieval.search_index import SearchIndex

FORMAT = 2  # 2: BM25 postings of our own instead of bm25s's files


def save_search(index: SearchIndex, directory: Path, commit: str,
                documents: DocumentCache | None = None) -> None:
    """Write `index` (the search of `commit`) to `directory`, replacing what was there.

    With `documents`, their token lists are kept too, for the next build to start from.
    """
    temporary = directory.with_name(f"{directory.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.mkdir(parents=True)
    if documents is not None:
        documents.save(temporary / DOCUMENTS_DIR)
    elif (directory / DOCUMENTS_DIR).exists():
        # Documents are keyed by file content, not commit: the earlier ones stay valid.
        os.replace(directory / DOCUMENTS_DIR, temporary / DOCUMENTS_DIR)
    corpus = index.corpus
    meta = {
        "format": FORMAT, "commit": commit,
        # The model whose question vectors were in step with this commit, if any.
        "dense_model": index.dense.collection.embedder.model_name if index.dense else None,
        "files": corpus.files,
        "symbols": [[s.path, s.qualname, s.name, s.kind, s.start_line, s.end_line]
                    for s in corpus.symbols],
        "history": None if index.history is None else [
            [c.sha, c.title, c.files, c.fixes, c.pull_request] for c in index.history.changes],
        "links": None if index.neighbourhood is None else {
            source: {target: list(link) for target, link in targets.items()}
            for source, targets in index.neighbourhood.links.items()},
    }
    (temporary / "meta.json").write_bytes(orjson.dumps(meta))
    index.files_lexical.save(temporary / "files")
    index.symbols_lexical.save(temporary / "symbols")
    if index.history is not None:
        index.history.lexical.save(temporary / "history")
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(temporary, directory)


def load_search(directory: Path, commit: str, dense: DenseSignal | None = None
                ) -> SearchIndex | None:
    """The search of `commit` saved in `directory`, or None when it must be built again.

    It must be built again when none was saved, it is of another format or commit, or
    `dense` asks for question vectors that were not synced for this commit and model.
    """
    try:
        meta = orjson.loads((directory / "meta.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    model = dense.collection.embedder.model_name if dense is not None else None
    if meta.get("format") != FORMAT or meta.get("commit") != commit:
        return None
    if model is not None and meta.get("dense_model") != model:
        return None
    corpus = Corpus(files=meta["files"], symbols=[SymbolEntry(*s) for s in meta["symbols"]])
    history = None
    if meta["history"] is not None:
        changes = [PastChange(*c) for c in meta["history"]]
        history = HistorySignal(changes, LexicalIndex.load(directory / "history", len(changes)))
    neighbourhood = None
    if meta["links"] is not None:
        neighbourhood = Neighbourhood({
            source: {target: (link[0], link[1]) for target, link in targets.items()}
            for source, targets in meta["links"].items()})
    return SearchIndex(corpus, LexicalIndex.load(directory / "files", len(corpus.files)),
                       LexicalIndex.load(directory / "symbols", len(corpus.symbols)),
                       history, neighbourhood, dense)
