"""Synthetic questions: what someone unfamiliar with the code would ask that should lead here.

Users describe behaviour ("prices are rounded down"), not identifiers (`round_price`). For
each file and public symbol this writes a few short questions from what the code says about
itself: docstrings, identifiers split into words, raised exceptions with their messages,
warning and log strings, command line options and config keys. Deterministic, no LLM. The
questions are embedded; an issue's text is compared with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexer.facts import Definition, FileFacts
from retrieval.text import split_identifier

MAX_PER_SYMBOL = 3
_RAISE = re.compile(r"raise\s+([\w.]+)\s*\(\s*[rbuf]*(['\"])(.{4,120}?)\2")
_MESSAGE = re.compile(r"\b(?:warn|warning|error|info|debug|exception|critical)\s*\(\s*[rbuf]*"
                      r"(['\"])(.{8,120}?)\1")
_OPTION = re.compile(r"(?:add_argument|option)\s*\(\s*(['\"])(--[\w-]+)\1")
_CONFIG = re.compile(r"add_config_value\s*\(\s*(['\"])(\w+)\1")
_KIND = {"class": "class", "method": "method", "function": "function"}


def words(identifier: str) -> str:
    """An identifier (or dotted path) as plain lower-case words."""
    return " ".join(w for part in re.split(r"[./]", identifier) for w in split_identifier(part))


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring, without markup, at most about 25 words."""
    text = re.sub(r"[`*:]+", "", doc.strip().split("\n\n")[0]).replace("\n", " ")
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
    return " ".join(sentence.split()[:25])


def is_public(qualname: str, path: str) -> bool:
    """Whether a symbol is part of what users meet: no underscore part, not in a test file."""
    name = path.rsplit("/", 1)[-1]
    in_tests = "/tests/" in f"/{path}" or name.startswith("test_") or name == "conftest.py"
    return not in_tests and not any(part.startswith("_") for part in qualname.split("."))


def _module(path: str) -> str:
    stem = path.rsplit(".", 1)[0]
    return words(stem.removesuffix("/__init__"))


def symbol_questions(path: str, definition: Definition, lines: Sequence[str]) -> list[str]:
    """Questions that lead to `definition`, from its doc, names and its own source `lines`."""
    kind = _KIND.get(definition.kind, "code")
    name = words(definition.name)
    owner = words(definition.qualname.rsplit(".", 1)[0]) if "." in definition.qualname else ""
    where = f"{name} {kind}" + (f" of {owner}" if owner else "") + f" in {_module(path)}"
    questions = []
    doc = first_sentence(definition.doc)
    if doc:
        questions.append(f"Which {kind} {doc[0].lower()}{doc[1:]}? ({where})")
    else:
        questions.append(f"What does the {where} do?")
    body = "\n".join(lines)
    for match in _RAISE.finditer(body):
        questions.append(f"Why do I get {match.group(1)}: {match.group(3)}?")
    for match in _MESSAGE.finditer(body):
        questions.append(f"Where does the message '{match.group(2)}' come from?")
    for match in _OPTION.finditer(body):
        questions.append(f"What does the {match.group(2)} option do?")
    for match in _CONFIG.finditer(body):
        questions.append(f"What does the {match.group(2)} setting do?")
    return list(dict.fromkeys(questions))[:MAX_PER_SYMBOL]


def file_question(facts: FileFacts) -> str:
    """The question that leads to a file as a whole."""
    doc = first_sentence(facts.doc)
    module = _module(facts.path)
    return f"Where is {module}? {doc}" if doc else f"Where is the code for {module}?"
