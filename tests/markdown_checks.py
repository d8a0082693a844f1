"""What GitHub would make of a comment's markdown: its live text, and the mentions that ping.

Shared by the tests that judge navbot's output (the sanitiser, the injection corpus).
"""

from __future__ import annotations

import re

_FENCE_OPENER = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")
PINGABLE = re.compile(r"(?:^|[^A-Za-z0-9_])@[A-Za-z0-9-]")


def outside_code(markdown: str) -> str:
    """`markdown` without fenced blocks and code spans (CommonMark's rules): the live text."""
    text = "\n".join(_without_fenced_blocks(markdown.split("\n")))
    kept, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            kept.append(text[i:i + 2])
            i += 2
            continue
        run = re.match("`+", text[i:])
        if run is None:
            kept.append(text[i])
            i += 1
            continue
        size = len(run.group())
        runs = re.finditer("`+", text[i + size:])
        closer = next((m for m in runs if len(m.group()) == size), None)
        kept.append(" " if closer else run.group())
        i += size + (closer.end() if closer else 0)
    return "".join(kept)


def _without_fenced_blocks(lines: list[str]) -> list[str]:
    kept, fence = [], ""
    for line in lines:
        run = _FENCE_OPENER.match(line)
        if not fence and run:
            fence = run.group(1)
        elif fence and run and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
            fence = ""
        elif not fence:
            kept.append(line)
    return kept


def pingable_mentions(markdown: str) -> list[str]:
    """Mentions GitHub would turn into pings: "@" after start or a non-word char, then a name."""
    return [m.group() for m in PINGABLE.finditer(outside_code(markdown))]
