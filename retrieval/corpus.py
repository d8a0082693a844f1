"""The documents lexical search runs over: whole code files and their symbols.

A symbol's document is its name, signature and docstring plus the lines it owns (lines of a
nested definition belong to the nested one), so a class does not repeat all its methods.
Term counts are cached by path and blob id, so moving an index forward re-tokenizes changed
files only, and a new process starts from the counts the last one saved.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import orjson

from indexer.facts import FileFacts
from indexer.gitrepo import GitRepo
from retrieval import doc_markup as doc_markup_module
from retrieval import doc_questions as doc_questions_module
from retrieval import lexical as lexical_module
from retrieval import questions as questions_module
from retrieval import text as text_module
from retrieval.doc_markup import DocSection, doc_sections, is_doc_path
from retrieval.doc_questions import doc_questions
from retrieval.lexical import Rows, Vocabulary
from retrieval.questions import file_question, is_public, symbol_questions
from retrieval.text import tokenize, tokenize_path

DOCUMENTS_DIR = "documents"  # kept with a saved search (see retrieval.persist)
ROW_ARRAYS = ("offsets", "terms", "counts")


@dataclass(frozen=True, slots=True)
class SymbolEntry:
    """A definition that search can rank."""

    path: str
    qualname: str
    name: str
    kind: str
    start_line: int
    end_line: int


@dataclass
class Corpus:
    """Files and symbols with their term counts, in matching order."""

    files: list[str] = field(default_factory=list)
    symbols: list[SymbolEntry] = field(default_factory=list)
    # Synthetic questions: (path, qualname or "" for the file itself, question text).
    questions: list[tuple[str, str, str]] = field(default_factory=list)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    file_rows: Rows = field(default_factory=Rows.empty)
    symbol_rows: Rows = field(default_factory=Rows.empty)

    def file_terms(self, position: int) -> dict[str, int]:
        """The terms of the file at `position`, with their counts."""
        return self.file_rows.counted(position, self.vocabulary)

    def symbol_terms(self, position: int) -> dict[str, int]:
        """The terms of the symbol at `position`, with their counts."""
        return self.symbol_rows.counted(position, self.vocabulary)


@dataclass
class FileDocuments:
    """What search keeps of one file: its tokens, its symbols' tokens, its questions.

    A documentation file has no tokens of its own; its sections become questions for the
    symbols they name.
    """

    tokens: list[str]
    symbol_tokens: list[list[str]]
    questions: list[tuple[str, str]]  # (qualname or "", text)
    sections: list[DocSection] = field(default_factory=list)


@dataclass
class CachedFile:
    """A file's documents as kept between builds: term counts instead of token lists.

    Row 0 of `rows` is the whole file and row i + 1 its definition i; a documentation
    file has no rows.
    """

    rows: Rows
    questions: list[tuple[str, str]]
    sections: list[DocSection]


def file_documents(facts: FileFacts, content: bytes) -> FileDocuments:
    """Token lists of one file and of each of its definitions, in `facts.defs` order."""
    lines = content.decode("utf-8", "replace").splitlines()
    line_tokens = [tokenize(line) for line in lines]
    owner = [-1] * (len(lines) + 2)
    # Wider definitions first, so nested ones overwrite the lines they own.
    order = sorted(range(len(facts.defs)),
                   key=lambda i: facts.defs[i].start_line - facts.defs[i].end_line)
    for index in order:
        definition = facts.defs[index]
        for line in range(definition.start_line, min(definition.end_line, len(lines)) + 1):
            owner[line] = index
    symbol_tokens: list[list[str]] = []
    owned_lines: list[list[str]] = [[] for _ in facts.defs]
    for definition in facts.defs:
        symbol_tokens.append(tokenize(f"{definition.qualname} {definition.signature} "
                                      f"{definition.doc}"))
    for number, tokens in enumerate(line_tokens, start=1):
        if owner[number] >= 0:
            symbol_tokens[owner[number]].extend(tokens)
            owned_lines[owner[number]].append(lines[number - 1])
    whole = tokenize_path(facts.path) + [t for tokens in line_tokens for t in tokens]
    questions: list[tuple[str, str]] = []
    if is_public("", facts.path):
        questions.append(("", file_question(facts)))
        for definition, own in zip(facts.defs, owned_lines, strict=True):
            if is_public(definition.qualname, facts.path):
                questions.extend((definition.qualname, q)
                                 for q in symbol_questions(facts.path, definition, own))
    return FileDocuments(whole, symbol_tokens, questions)


def _documents_of(facts: FileFacts, content: bytes) -> FileDocuments:
    if is_searchable(facts):
        return file_documents(facts, content)
    return FileDocuments([], [], [], doc_sections(facts.path,
                                                  content.decode("utf-8", "replace")))


def is_searchable(facts: FileFacts) -> bool:
    """Whether search ranks this file: parsed source code, not text or data."""
    return facts.language is not None


def _key(facts: FileFacts) -> str:
    # The path is part of a file's document, so equal blobs at two paths differ.
    return f"{facts.path}\0{facts.blob}"


@cache
def documents_fingerprint() -> str:
    """A hash of the code that turns a file into documents: stored ones from other code are stale.

    Hashing the modules' source instead of keeping a version number means no change to
    tokenizing, counting or question writing can forget to invalidate what earlier code stored.
    """
    digest = hashlib.sha256()
    for module in (text_module, questions_module, doc_markup_module, doc_questions_module,
                   lexical_module, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


class DocumentCache:
    """Term counts and questions by path and blob id, shared by successive corpora of a repository.

    With a `stored` directory, a new process starts from what the last one saved there, so a
    one-file push re-tokenizes one file instead of the whole repository.
    """

    def __init__(self, stored: Path | None = None) -> None:
        self._by_blob: dict[str, CachedFile] = {}
        self._vocabulary = Vocabulary()
        self._stored = stored

    def save(self, directory: Path) -> None:
        """Write the cached documents to `directory`: counts as numpy arrays, the rest as JSON."""
        import numpy as np

        self._restore()
        self._compact()
        directory.mkdir(parents=True)
        keys = sorted(self._by_blob)
        rows = Rows.concat([self._by_blob[key].rows for key in keys])
        files, start = {}, 0
        for key in keys:
            cached = self._by_blob[key]
            files[key] = [start, cached.rows.size, [list(q) for q in cached.questions],
                          [[s.title, s.line, s.summary, list(s.mentions)]
                           for s in cached.sections]]
            start += cached.rows.size
        for name in ROW_ARRAYS:
            np.save(directory / f"{name}.npy", getattr(rows, name), allow_pickle=False)
        (directory / "documents.json").write_bytes(orjson.dumps({
            "fingerprint": documents_fingerprint(), "vocabulary": self._vocabulary.terms,
            "files": files}))

    def _compact(self) -> None:
        """Drop terms no cached file uses any more, once they are most of the vocabulary."""
        import numpy as np

        if not self._by_blob:
            return
        used = np.unique(np.concatenate([c.rows.terms for c in self._by_blob.values()]))
        if 2 * len(used) >= len(self._vocabulary):
            return
        renumber = np.full(len(self._vocabulary), -1, dtype="int32")
        renumber[used] = np.arange(len(used), dtype="int32")
        self._vocabulary = Vocabulary(self._vocabulary.terms[i] for i in used)
        for cached in self._by_blob.values():
            cached.rows = Rows(cached.rows.offsets, renumber[cached.rows.terms],
                               cached.rows.counts)

    def _restore(self) -> None:
        """Load the stored documents once, if they were written by this code."""
        import numpy as np

        stored, self._stored = self._stored, None
        if stored is None:
            return
        try:
            saved = orjson.loads((stored / "documents.json").read_bytes())
            if not isinstance(saved, dict) or saved.get("fingerprint") != documents_fingerprint():
                return
            rows = Rows(*(np.load(stored / f"{name}.npy", allow_pickle=False)
                          for name in ROW_ARRAYS))
        except (FileNotFoundError, orjson.JSONDecodeError, ValueError):
            return
        self._vocabulary = Vocabulary(saved["vocabulary"])
        for key, (start, size, questions, sections) in saved["files"].items():
            path = key.split("\0", 1)[0]
            self._by_blob[key] = CachedFile(
                rows.slice(start, start + size),
                [(qualname, text) for qualname, text in questions],
                [DocSection(path, title, line, summary, tuple(mentions))
                 for title, line, summary, mentions in sections])

    def _cached(self, facts: FileFacts, content: bytes) -> CachedFile:
        documents = _documents_of(facts, content)
        rows = Rows.empty()
        if is_searchable(facts):
            rows = Rows.count([documents.tokens, *documents.symbol_tokens], self._vocabulary)
        return CachedFile(rows, documents.questions, documents.sections)

    def build(self, repo: GitRepo, facts: Mapping[str, FileFacts]) -> Corpus:
        """The corpus of the searchable files in `facts`, reading only blobs not cached.

        Documentation files are read too: their sections add questions for the symbols
        they name.
        """
        import numpy as np

        self._restore()
        wanted = {path: f for path, f in sorted(facts.items()) if is_searchable(f)}
        docs = {path: f for path, f in sorted(facts.items())
                if not is_searchable(f) and is_doc_path(path)}
        missing = [f for f in [*wanted.values(), *docs.values()]
                   if _key(f) not in self._by_blob]
        for item, (_, content) in zip(missing, repo.read_blobs(f.blob for f in missing),
                                      strict=True):
            self._by_blob[_key(item)] = self._cached(item, content)
        live = {_key(f) for f in [*wanted.values(), *docs.values()]}
        for blob in [b for b in self._by_blob if b not in live]:
            del self._by_blob[blob]
        corpus = Corpus(vocabulary=self._vocabulary)
        blocks = []
        for path, item in wanted.items():
            cached = self._by_blob[_key(item)]
            blocks.append(cached.rows)
            corpus.files.append(path)
            corpus.questions.extend((path, qualname, text)
                                    for qualname, text in cached.questions)
            corpus.symbols.extend(SymbolEntry(path, d.qualname, d.name, d.kind, d.start_line,
                                              d.end_line) for d in item.defs)
        every = Rows.concat(blocks)
        sizes = [block.size for block in blocks]
        firsts = np.cumsum([0, *sizes], dtype="int64")[:len(blocks)]  # each file's own row
        is_symbol = np.ones(every.size, dtype=bool)
        is_symbol[firsts] = False
        corpus.file_rows = every.take(firsts)
        corpus.symbol_rows = every.take(np.flatnonzero(is_symbol))
        sections = [s for item in docs.values() for s in self._by_blob[_key(item)].sections]
        public = [(s.path, s.qualname, s.name) for s in corpus.symbols
                  if is_public(s.qualname, s.path)]
        corpus.questions.extend(doc_questions(sections, public))
        return corpus
