"""The documents lexical search runs over: whole code files and their symbols.

A symbol's document is its name, signature and docstring plus the lines it owns (lines of a
nested definition belong to the nested one), so a class does not repeat all its methods.
Token lists are cached by blob id, so moving an index forward re-tokenizes changed files only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from indexer.facts import FileFacts
from indexer.gitrepo import GitRepo
from retrieval.questions import file_question, is_public, symbol_questions
from retrieval.text import tokenize, tokenize_path


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
    """Files and symbols with their token lists, in matching order."""

    files: list[str] = field(default_factory=list)
    file_tokens: list[list[str]] = field(default_factory=list)
    symbols: list[SymbolEntry] = field(default_factory=list)
    symbol_tokens: list[list[str]] = field(default_factory=list)
    # Synthetic questions: (path, qualname or "" for the file itself, question text).
    questions: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class FileDocuments:
    """What search keeps of one file: its tokens, its symbols' tokens, its questions."""

    tokens: list[str]
    symbol_tokens: list[list[str]]
    questions: list[tuple[str, str]]  # (qualname or "", text)


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


def is_searchable(facts: FileFacts) -> bool:
    """Whether search ranks this file: parsed source code, not text or data."""
    return facts.language is not None


def _key(facts: FileFacts) -> str:
    # The path is part of a file's document, so equal blobs at two paths differ.
    return f"{facts.path}\0{facts.blob}"


class DocumentCache:
    """Token lists by path and blob id, shared by successive corpora of one repository."""

    def __init__(self) -> None:
        self._by_blob: dict[str, FileDocuments] = {}

    def build(self, repo: GitRepo, facts: Mapping[str, FileFacts]) -> Corpus:
        """The corpus of the searchable files in `facts`, reading only blobs not cached."""
        wanted = {path: f for path, f in sorted(facts.items()) if is_searchable(f)}
        missing = [f for f in wanted.values() if _key(f) not in self._by_blob]
        for item, (_, content) in zip(missing, repo.read_blobs(f.blob for f in missing),
                                      strict=True):
            self._by_blob[_key(item)] = file_documents(item, content)
        live = {_key(f) for f in wanted.values()}
        for blob in [b for b in self._by_blob if b not in live]:
            del self._by_blob[blob]
        corpus = Corpus()
        for path, item in wanted.items():
            documents = self._by_blob[_key(item)]
            corpus.files.append(path)
            corpus.file_tokens.append(documents.tokens)
            corpus.questions.extend((path, qualname, text)
                                    for qualname, text in documents.questions)
            for definition, tokens in zip(item.defs, documents.symbol_tokens, strict=True):
                corpus.symbols.append(SymbolEntry(path, definition.qualname, definition.name,
                                                  definition.kind, definition.start_line,
                                                  definition.end_line))
                corpus.symbol_tokens.append(tokens)
        return corpus
