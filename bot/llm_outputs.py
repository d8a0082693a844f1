"""Pure parsers of model output: tolerant of chatter, bullets and numbering, strict in result.

A model asked for "one per line" still writes preambles, numbered lists, quotes and code
fences; these parsers keep what was asked for and drop the rest, so a messy reply degrades to
fewer items instead of wrong ones.
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class Suggested:
    """A suggested change: a short plan and, when the model wrote one, a unified diff."""

    plan: str
    diff: str | None


def parse_queries(text: str, limit: int = 5) -> list[str]:
    """Up to `limit` distinct search queries, one per reply line."""
    return _distinct_items(text, limit, MAX_QUERY_CHARS, questions_only=False)


def parse_questions(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` distinct questions; when some lines end with "?", only those count."""
    return _distinct_items(text, limit, MAX_QUESTION_CHARS, questions_only=True)


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


def _distinct_items(text: str, limit: int, max_chars: int, questions_only: bool) -> list[str]:
    items: list[str] = []
    for raw in _outside_fences(text):
        item = _LIST_MARKER.sub("", raw.strip(), count=1).strip()
        item = item.strip(_WRAPPING_QUOTES).strip()
        if item.startswith("**") and item.endswith("**"):
            item = item.strip("*").strip()
        # A line ending in ":" introduces the list ("Here are the queries:"); it is no item.
        if not item or item.endswith(":") or len(item) > max_chars:
            continue
        items.append(item)
    if questions_only and any(item.endswith("?") for item in items):
        items = [item for item in items if item.endswith("?")]
    distinct: list[str] = []
    seen: set[str] = set()
    for item in items:
        folded = " ".join(item.casefold().split())
        if folded not in seen:
            seen.add(folded)
            distinct.append(item)
    return distinct[:limit]
