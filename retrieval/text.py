"""Tokenizing code and issue text for lexical search: identifiers split into words.

Users write "content length", code says `prepare_content_length` or `contentLength`. Every
identifier therefore yields its lower-cased parts and, when it has several, the whole
identifier too, so an exact identifier in an issue still outscores a loose word match.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Splits "HTTPServerError2x" into HTTP, Server, Error, 2x and "snake_case" at underscores.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+[a-z]*")

_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not now of off on once only or other our out over own same she should so some
such than that the their them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your
self cls none true false return def class import from pass else elif try except finally raise
with yield lambda def is in not and or get set use used using also like
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@lru_cache(maxsize=200_000)
def split_identifier(word: str) -> tuple[str, ...]:
    """The lower-case words of an identifier: `prepare_contentLength` → prepare, content, length."""
    parts = [p.lower() for chunk in word.split("_") for p in _PART.findall(chunk)]
    return tuple(parts)


@lru_cache(maxsize=200_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    split = split_identifier(word)
    tokens = [p for p in split if len(p) > 1 and p not in STOPWORDS]
    if len(split) > 1:
        tokens.append(word.lower().strip("_"))
    return tuple(tokens)


def tokenize(text: str) -> list[str]:
    """Lexical tokens of code or prose: split identifiers plus whole compound identifiers."""
    tokens: list[str] = []
    for word in _WORD.findall(text):
        tokens.extend(_word_tokens(word))
    return tokens


def tokenize_path(path: str) -> list[str]:
    """Tokens of a file path: its directory and file names, split like identifiers."""
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    return tokenize(stem.replace("/", " ").replace(".", " ").replace("-", "_"))
