"""Pure parsers of model output: tolerant of chatter, bullets and numbering, strict in result.

A model asked for "one per line" still writes preambles, numbered lists, quotes and code
fences; these parsers keep what was asked for and drop the rest, so a messy reply degrades to
fewer items instead of wrong ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_QUERY_CHARS = 120
MAX_QUESTION_CHARS = 300
MAX_PLAN_LINES = 5
NO_CHANGE = "NO_CHANGE"

_LIST_MARKER = re.compile(r"^\s*(?:[-*+•>]+|\(?\d{1,3}[.):]|\(?[A-Za-z][.)]|Q\d{1,2}[.):])\s+")
_WRAPPING_QUOTES = "\"'`“”‘’"  # noqa: RUF001 -- typographic quotes models like to add
_NUMBER = re.compile(r"(?<![\w./-])\d+(?![\w/-]|\.\w)")
_ONLY_NUMBERS = re.compile(r"^[\s\d,;#\[\]().]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,})\s*(\w*)")
# "Cart.total: question": the name may be wrapped in markup, hold "::" (C++, Rust) and be
# followed by the kind the prompt listed ("Cart.total (method): ...").
_SYMBOL_LINE = re.compile(r"^(?P<name>[^\s:]+(?:::[^\s:]+)*)(?:\s*\([\w ]*\))?:\s+"
                          r"(?P<question>\S.*)$")
_NAME_MARKUP = "`*\"'"


@dataclass(frozen=True)
class Suggested:
    """A suggested change: a short plan and, when the model wrote one, a unified diff."""

    plan: str
    diff: str | None


def parse_queries(text: str, limit: int = 5) -> list[str]:
    """Up to `limit` distinct search queries, one per reply line."""
    return _distinct_items(text, limit, MAX_QUERY_CHARS)


def parse_symbol_questions(text: str, qualnames: Iterable[str], per_symbol: int = 2
                           ) -> list[tuple[str, str]]:
    """(qualname, question) pairs from `qualname: question` lines, in reply order.

    Only lines naming one of `qualnames` count, at most `per_symbol` distinct questions
    each; overlong questions are dropped, so a confused reply yields fewer pairs, never
    questions attributed to code the prompt did not show.
    """
    wanted = set(qualnames)
    pairs: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for raw in _outside_fences(text):
        found = _SYMBOL_LINE.match(_clean_item(raw))
        if found is None:
            continue
        qualname = found.group("name").strip(_NAME_MARKUP)
        question = _clean_item(found.group("question"))
        if qualname not in wanted or not question or len(question) > MAX_QUESTION_CHARS:
            continue
        folded = (qualname, " ".join(question.casefold().split()))
        if folded in seen or counts.get(qualname, 0) >= per_symbol:
            continue
        seen.add(folded)
        counts[qualname] = counts.get(qualname, 0) + 1
        pairs.append((qualname, question))
    return pairs


def parse_ranking(text: str, count: int) -> list[int]:
    """0-based indices of the 1-based candidate numbers in the reply, valid and unique, in order.

    A line that holds only numbers contributes all of them ("3, 1, 2"); any other line
    contributes its first number ("[3] src/app.py"), after dropping a list marker that is
    followed by another number ("1. 3").
    """
    order: list[int] = []
    for raw in _outside_fences(text):
        line = raw.strip()
        marker = _LIST_MARKER.match(line)
        if marker and _NUMBER.search(line[marker.end():]):
            line = line[marker.end():]
        numbers = [int(found) for found in _NUMBER.findall(line)]
        if not _ONLY_NUMBERS.match(line):
            numbers = numbers[:1]
        for number in numbers:
            if 1 <= number <= count and number - 1 not in order:
                order.append(number - 1)
    return order


def parse_suggestion(text: str) -> Suggested | None:
    """The plan and diff of a suggest reply; None on NO_CHANGE or when there is no plan.

    The diff is the body of the first ```diff (or ```patch) fence. A fence the reply never
    closes means the model was cut off mid-diff, so it counts as no diff.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    if any(line.strip().strip("*`").strip() == NO_CHANGE for line in lines):
        return None
    fence_at = next((i for i, line in enumerate(lines) if _FENCE.match(line)), len(lines))
    plan = _plan_lines(lines[:fence_at])
    if not plan:
        return None
    return Suggested(plan="\n".join(plan), diff=_first_diff(lines))


def _plan_lines(lines: list[str]) -> list[str]:
    bullets = [line.strip() for line in lines if _LIST_MARKER.match(line)]
    if bullets:
        items = [_LIST_MARKER.sub("", line, count=1) for line in bullets]
    else:
        items = [line.strip() for line in lines if line.strip()]
        items = [item for item in items if not item.endswith(":") and not item.startswith("#")]
    return [f"- {item.strip()}" for item in items if item.strip()][:MAX_PLAN_LINES]


def _first_diff(lines: list[str]) -> str | None:
    for start, line in enumerate(lines):
        opening = _FENCE.match(line)
        if opening is None or opening.group(2).lower() not in ("diff", "patch"):
            continue
        ticks = opening.group(1)
        for end in range(start + 1, len(lines)):
            closing = lines[end].strip()
            if closing.startswith(ticks) and not closing.strip("`"):
                body = "\n".join(lines[start + 1:end]).strip("\n")
                return body + "\n" if body.strip() else None
        return None
    return None


def _outside_fences(text: str) -> list[str]:
    """Reply lines without fence markers (models often wrap a list in a code fence)."""
    return [line for line in text.replace("\r\n", "\n").split("\n")
            if not line.strip().startswith(("```", "~~~"))]


def _clean_item(raw: str) -> str:
    """A reply line without its list marker, wrapping quotes or bold markers."""
    item = _LIST_MARKER.sub("", raw.strip(), count=1).strip()
    item = item.strip(_WRAPPING_QUOTES).strip()
    if item.startswith("**") and item.endswith("**"):
        item = item.strip("*").strip()
    return item


def _distinct_items(text: str, limit: int, max_chars: int) -> list[str]:
    items: list[str] = []
    for raw in _outside_fences(text):
        item = _clean_item(raw)
        # A line ending in ":" introduces the list ("Here are the queries:"); it is no item.
        if not item or item.endswith(":") or len(item) > max_chars:
            continue
        items.append(item)
    distinct: list[str] = []
    seen: set[str] = set()
    for item in items:
        folded = " ".join(item.casefold().split())
        if folded not in seen:
            seen.add(folded)
            distinct.append(item)
    return distinct[:limit]
