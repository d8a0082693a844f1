"""Synthetic questions from documentation: a doc section's words lead to the symbols it names.

Users describe behaviour in the words documentation uses: a section's heading and first
sentence ("Splitting text by a regex") are written for people, and the section names the
symbols it documents (`CharacterTextSplitter`, ``.. autofunction:: solve``, ``:func:`solve```).
The sections come from `retrieval.doc_markup`; this resolves the names each section
mentions to the corpus's public symbols and writes one question per section for each symbol
it documents. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.doc_markup import DocSection, split_path
from retrieval.text import split_identifier

# A section naming more symbols than this is an index or overview page, not one topic.
MAX_SYMBOLS_PER_SECTION = 5
MAX_PER_SYMBOL = 2
MAX_QUESTION_CHARS = 200


def doc_questions(sections: Sequence[DocSection],
                  symbols: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(path, qualname, question) for the symbols that doc sections document.

    A section leads to each symbol its mentions resolve to, unless it resolves to more than
    MAX_SYMBOLS_PER_SECTION (an overview). Each symbol keeps at most MAX_PER_SYMBOL
    questions, from sections whose title holds its name's words first, then earlier ones.
    Output follows the order of `symbols`.
    """
    names = {(path, qualname): name for path, qualname, name in symbols}
    by_name: dict[str, dict[tuple[str, str], str]] = {}
    for path, qualname in names:
        directories, stem, _ = split_path(path)
        module = ".".join([*directories, stem] if stem != "__init__" else directories)
        by_name.setdefault(qualname.rsplit(".", 1)[-1], {})[(path, qualname)] = module
    resolved = {mention: _resolve(mention, by_name)
                for section in sections for mention in section.mentions}
    candidates: dict[tuple[str, str], list[tuple[bool, int, str]]] = {}
    for order, section in enumerate(sections):
        found = dict.fromkeys(key for m in section.mentions if (key := resolved[m]))
        # A bare one- or two-word title ("Classes") with no prose says too little to ask about.
        says_little = not section.summary and len(section.title.split()) < 3
        if not found or len(found) > MAX_SYMBOLS_PER_SECTION or says_little:
            continue
        question = section_question(section)
        title_words = {w for word in re.findall(r"\w+", section.title)
                       for w in split_identifier(word)}
        for key in found:
            name_words = set(split_identifier(names[key]))
            titled = bool(name_words) and name_words <= title_words
            candidates.setdefault(key, []).append((not titled, order, question))
    questions: list[tuple[str, str, str]] = []
    for key in dict.fromkeys((path, qualname) for path, qualname, _ in symbols):
        texts = dict.fromkeys(text for _, _, text in sorted(candidates.get(key, [])))
        questions.extend((*key, text) for text in list(texts)[:MAX_PER_SYMBOL])
    return questions


def section_question(section: DocSection) -> str:
    """The question a section answers: "What about <title>? <first sentence>".

    The title is the reader's own words for the behaviour, so its words are kept; "What about
    …?" wraps any title (noun phrase, gerund, identifier) grammatically without rewriting it,
    and a title that already is a question stays as it is. The first sentence follows as
    written for users. File names and markup are left out: they would dilute the embedding.
    """
    question = section.title
    if not question.endswith("?"):
        # Capitalised words lose their capital ("Body Content Workflow"); acronyms and
        # identifiers (HTTP, CharacterTextSplitter) keep their case.
        words = [w.lower() if w[1:].islower() else w for w in question.split()[:15]]
        question = f"What about {' '.join(words)}?"
    for word in section.summary.split():
        if len(question) + len(word) + 1 > MAX_QUESTION_CHARS:
            break
        question += f" {word}"
    return question


def _resolve(mention: str, by_name: dict[str, dict[tuple[str, str], str]]
             ) -> tuple[str, str] | None:
    """The one symbol `mention` names, or None when it names none or several."""
    candidates = by_name.get(mention.rsplit(".", 1)[-1], {})
    found = {key for key, module in candidates.items()
             if f".{module}.{key[1]}".endswith(f".{mention}")}
    if not found and "." in mention:
        # Docs name the public re-export (sympy.solvers.solve) of a symbol defined deeper
        # (sympy/solvers/solvers.py): a package prefix plus the exact qualname.
        parts = mention.split(".")
        for cut in range(1, len(parts)):
            package, qualname = ".".join(parts[:cut]), ".".join(parts[cut:])
            found |= {key for key, module in candidates.items()
                      if key[1] == qualname and f".{package}." in f".{module}."}
    return found.pop() if len(found) == 1 else None
