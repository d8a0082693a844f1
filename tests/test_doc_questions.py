"""Doc sections and the questions they give the symbols they document, on realistic snippets."""

from __future__ import annotations

import pytest

from retrieval.doc_markup import DocSection, doc_sections, is_doc_path
from retrieval.doc_questions import MAX_QUESTION_CHARS, doc_questions, section_question

SOLVERS_RST = """\
.. _solvers-docs:

.. currentmodule:: sympy.solvers

=======
Solvers
=======

The solvers module finds solutions of algebraic equations. It handles many cases.

Solving one equation
--------------------

Use :func:`solve` to find the roots of an equation, e.g. ``x**2 - 1``. It returns a list::

    >>> from sympy import nsolve, Symbol
    >>> solve(x**2 - 1, x)
    [-1, 1]
    ``checksol(x)`` and :func:`nsolve`

.. autofunction:: solve

Checking solutions
==================

.. note:: Numerical checks are only approximate.

:func:`~sympy.solvers.solvers.checksol` tells whether a value satisfies an equation.

.. code-block:: python

   ``literal_in_code`` and :func:`nsolve`

>>> checksol(x**2 - 1, x, 1)
True
"""

SOLVER_SYMBOLS = [
    ("sympy/solvers/solvers.py", "solve", "solve"),
    ("sympy/solvers/solvers.py", "checksol", "checksol"),
    ("sympy/solvers/solvers.py", "nsolve", "nsolve"),
    ("sympy/core/symbol.py", "Symbol", "Symbol"),
]

README_MD = """\
---
title: textsplit
---
[![Build](https://ci.example.org/badge.svg)](https://ci.example.org) `Badge`

# textsplit

<!-- `HiddenInComment` -->
**textsplit** cuts long text into chunks for [embedding](https://example.org/embed).
It has no dependencies.

## Splitting text by a regex

> [!NOTE]
> The old `RegexSplitter` is deprecated.

- works on `str` input

The `CharacterTextSplitter` splits text at each match of a separator regex, e.g. a blank line.
It keeps the separators.

```python
from textsplit import `NotAMention`
CharacterTextSplitter(separator="\\n\\n").split_text(text)
```

Token counting
--------------

Call `count_tokens(text)` or `Splitter.count()` (install with `pip install tiktoken`).
"""

README_SYMBOLS = [
    ("textsplit/__init__.py", "Splitter", "Splitter"),
    ("textsplit/__init__.py", "Splitter.count", "count"),
    ("textsplit/character.py", "CharacterTextSplitter", "CharacterTextSplitter"),
    ("textsplit/regex.py", "RegexSplitter", "RegexSplitter"),
    ("textsplit/tokens.py", "count_tokens", "count_tokens"),
]


def test_rst_sections_titles_summaries_and_mentions() -> None:
    sections = doc_sections("doc/src/modules/solvers/solvers.rst", SOLVERS_RST)

    path = "doc/src/modules/solvers/solvers.rst"
    assert sections == [
        DocSection(path, "Solvers", 6,
                   "The solvers module finds solutions of algebraic equations", ()),
        # The literal block and its doctest name nsolve and checksol: not mentions.
        DocSection(path, "Solving one equation", 11,
                   "Use solve to find the roots of an equation, e.g. x**2 - 1",
                   ("solve", "sympy.solvers.solve")),
        # The note and the code block are skipped for the summary; the code block's names
        # and the doctest's are not mentions.
        DocSection(path, "Checking solutions", 23,
                   "checksol tells whether a value satisfies an equation",
                   ("sympy.solvers.solvers.checksol",)),
    ]


def test_rst_questions_resolve_roles_directives_and_reexports() -> None:
    sections = doc_sections("doc/src/modules/solvers/solvers.rst", SOLVERS_RST)

    questions = doc_questions(sections, SOLVER_SYMBOLS)

    # "sympy.solvers.solve" (the public re-export) resolves to sympy/solvers/solvers.py.
    assert questions == [
        ("sympy/solvers/solvers.py", "solve",
         "What about solving one equation? Use solve to find the roots of an equation, "
         "e.g. x**2 - 1"),
        ("sympy/solvers/solvers.py", "checksol",
         "What about checking solutions? checksol tells whether a value satisfies an equation"),
    ]


def test_markdown_sections_skip_front_matter_comments_fences_quotes_and_lists() -> None:
    sections = doc_sections("README.md", README_MD)

    assert sections == [
        DocSection("README.md", "textsplit", 6,
                   "textsplit cuts long text into chunks for embedding", ()),
        DocSection("README.md", "Splitting text by a regex", 12,
                   "The CharacterTextSplitter splits text at each match of a separator regex, "
                   "e.g. a blank line",
                   # `str` is one lower-case word, not written as a call: not a name.
                   ("RegexSplitter", "CharacterTextSplitter")),
        # A setext heading; `pip install tiktoken` is not a name.
        DocSection("README.md", "Token counting", 27,
                   "Call count_tokens(text) or Splitter.count() (install with pip install "
                   "tiktoken)",
                   ("count_tokens", "Splitter.count")),
    ]


def test_markdown_questions() -> None:
    questions = doc_questions(doc_sections("README.md", README_MD), README_SYMBOLS)

    splitting = ("What about splitting text by a regex? The CharacterTextSplitter splits text "
                 "at each match of a separator regex, e.g. a blank line")
    counting = ("What about token counting? Call count_tokens(text) or Splitter.count() "
                "(install with pip install tiktoken)")
    assert questions == [
        ("textsplit/__init__.py", "Splitter.count", counting),
        ("textsplit/character.py", "CharacterTextSplitter", splitting),
        ("textsplit/regex.py", "RegexSplitter", splitting),
        ("textsplit/tokens.py", "count_tokens", counting),
    ]


def test_overview_sections_are_skipped() -> None:
    names = [f"step_{n}" for n in range(10)]
    text = ("# API overview\n\nThe package offers these steps: "
            + ", ".join(f"`{name}`" for name in names)
            + ".\n\n# Running one step\n\nCall `step_3` to run the third step alone.\n")
    symbols = [("pipeline/steps.py", name, name) for name in names]

    questions = doc_questions(doc_sections("docs/api.md", text), symbols)

    assert questions == [("pipeline/steps.py", "step_3",
                          "What about running one step? Call step_3 to run the third step alone")]


def test_ambiguous_bare_names_are_dropped_and_dotted_names_resolve() -> None:
    text = """\
Parsing
=======

Call :func:`parse` on any input to get a syntax tree.

Parser objects
==============

:meth:`Parser.parse` reads a whole file and reports the first error.
"""
    symbols = [("lang/parser.py", "Parser", "Parser"),
               ("lang/parser.py", "Parser.parse", "parse"),
               ("lang/util.py", "parse", "parse")]

    questions = doc_questions(doc_sections("docs/parsing.rst", text), symbols)

    assert questions == [("lang/parser.py", "Parser.parse",
                          "What about parser objects? Parser.parse reads a whole file and "
                          "reports the first error")]


def test_module_and_class_directives_qualify_nested_members() -> None:
    text = """\
Sessions
========

.. module:: requests.sessions

.. class:: Session()

   A Requests session.

   .. method:: mount(prefix, adapter)

      Registers a connection adapter to a prefix.

.. function:: session()

.. autosummary::
   :toctree: generated

   merge_setting
   ~requests.utils.get_netrc_auth

.. currentmodule:: None

.. autofunction:: requests.get
"""
    [section] = doc_sections("docs/api.rst", text)

    assert section.mentions == ("requests.sessions.Session", "requests.sessions.Session.mount",
                                "requests.sessions.session", "requests.sessions.merge_setting",
                                "requests.utils.get_netrc_auth", "requests.get")


def test_myst_roles_and_markup_in_markdown() -> None:
    text = """\
# The {class}`~textsplit.Splitter` class

**Note:** experimental.

The {class}`~textsplit.Splitter` *cuts* text with {func}`count_tokens`, see [the guide](g.md)
and <b>ignore</b> {math}`x` or `x`. Second sentence.
"""
    assert doc_sections("docs/splitter.md", text) == [
        DocSection("docs/splitter.md", "The Splitter class", 1,
                   "The Splitter cuts text with count_tokens, see the guide and ignore x or x",
                   ("textsplit.Splitter", "count_tokens")),
    ]


def test_rst_roles_links_and_footnotes_in_titles_and_summaries() -> None:
    text = """\
``Session`` objects
===================

See :py:class:`the session <requests.Session>` and `the docs <https://x.org>`_ [#f1]_,
also :ref:`label` and :math:`y`.
"""
    assert doc_sections("docs/session.rst", text) == [
        DocSection("docs/session.rst", "Session objects", 1,
                   "See the session and the docs, also label and y",
                   ("Session", "requests.Session")),
    ]


def test_mentions_are_capped_per_section() -> None:
    text = "Names\n=====\n\n" + " ".join(f"``name_{n}``" for n in range(30)) + "\n"

    [section] = doc_sections("docs/names.rst", text)

    assert section.mentions == tuple(f"name_{n}" for n in range(20))


def test_plain_text_without_headings_is_one_section_titled_by_file_name() -> None:
    text = ("Notes on retrying: `Client.send` retries idempotent requests twice.\n"
            "Other requests fail at once. Math like `x` is not a name.\n")

    assert doc_sections("docs/retry-notes.txt", text) == [
        DocSection("docs/retry-notes.txt", "retry notes", 1,
                   "Notes on retrying: Client.send retries idempotent requests twice",
                   ("Client.send",)),
    ]


def test_at_most_two_questions_per_symbol_titled_sections_first() -> None:
    text = """\
# Reading files

`Reader` reads a file line by line.

# Large inputs

`Reader` streams inputs larger than memory.

# Encodings

`Reader` decodes UTF-8 unless told otherwise.

# The Reader class

`Reader` is the entry point of the library.
"""
    questions = doc_questions(doc_sections("docs/reader.md", text),
                              [("io/reader.py", "Reader", "Reader")])

    assert questions == [
        ("io/reader.py", "Reader",
         "What about the reader class? Reader is the entry point of the library"),
        ("io/reader.py", "Reader", "What about reading files? Reader reads a file line by line"),
    ]


def test_section_question_keeps_question_titles_and_stays_short() -> None:
    asked = DocSection("docs/faq.md", "Why is my text not split?", 3,
                       "The separator must match at least once", ("split",))
    long = DocSection("docs/x.md", "HTTP adapters", 1, " ".join(["word"] * 80), ())

    assert section_question(asked) == ("Why is my text not split? "
                                       "The separator must match at least once")
    question = section_question(long)
    assert question.startswith("What about HTTP adapters? word word")
    assert len(question) <= MAX_QUESTION_CHARS < len(question) + len(" word")


def test_sections_without_prose_and_with_short_titles_give_no_question() -> None:
    text = "Classes\n=======\n\n.. autoclass:: Solver\n"

    [section] = doc_sections("docs/classes.rst", text)

    assert section == DocSection("docs/classes.rst", "Classes", 1, "", ("Solver",))
    assert doc_questions([section], [("solvers/solver.py", "Solver", "Solver")]) == []


@pytest.mark.parametrize(("path", "expected"), [
    ("README.md", True),
    ("README", True),
    ("README.rst", True),
    ("pkg/README.txt", True),
    ("docs/usage/quickstart.rst", True),
    ("doc/src/modules/solvers.txt", True),
    ("guide/splitting.md", True),
    ("notes.txt", False),
    ("requirements.txt", False),
    ("docs/requirements.txt", False),
    ("CHANGELOG.md", False),
    ("CHANGES.rst", False),
    ("HISTORY.rst", False),
    ("NEWS.md", False),
    ("docs/release-notes.md", False),
    ("doc/release/1.2.0-notes.rst", False),
    ("docs/changes/1234.bugfix.md", False),
    ("doc/whatsnew/v2.0.rst", False),
    ("LICENSE.md", False),
    ("LICENSE", False),
    (".github/ISSUE_TEMPLATE/bug.md", False),
    ("tests/fixtures/sample.md", False),
    ("src/lib.py", False),
    ("README.html", False),
])
def test_is_doc_path(path: str, expected: bool) -> None:
    assert is_doc_path(path) is expected


def test_a_doc_section_leads_an_issue_to_the_symbol_it_documents(settings, tmp_path) -> None:
    from indexer.build import Indexer
    from indexer.gitrepo import GitRepo
    from retrieval.embed import Embedder
    from retrieval.locate import locate
    from retrieval.searcher import SearchBuilder
    from tests.gitfixture import GitFixture

    repo = GitFixture(tmp_path / "ledger")
    repo.commit("Ledger", {
        "ledger/books.py": "def reconcile(entries, statement):\n"
                           "    return [e for e in entries if e not in statement]\n\n\n"
                           "def post(entry):\n    return entry\n",
        "docs/guide.rst": "Matching bank statements\n========================\n\n"
                          "Ticking off the entries your bank already reported is done by\n"
                          ":func:`ledger.books.reconcile`.\n",
    })
    indexed = Indexer(settings).index(repo.path)
    builder = SearchBuilder(settings, GitRepo(repo.path), "ledger-test", Embedder())
    search, _ = builder.build(indexed.facts, indexed.graph)
    question = ("What about matching bank statements? Ticking off the entries your bank "
                "already reported is done by ledger.books.reconcile")
    assert ("ledger/books.py", "reconcile", question) in search.corpus.questions
    found = locate(search, "Matching my bank statement ticks off the wrong entries")
    books = next(f for f in found.files if f.path == "ledger/books.py")
    assert any(why.startswith(f'matched question "{question}"') for why in books.evidence)
