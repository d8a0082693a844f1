"""Invisible text never reaches a comment: bidirectional controls and other format characters
from issue titles, commit subjects and docstrings are removed; navbot's own mention break stays."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from bot.comment import Answer, FileHit, RelatedItem, SymbolHit, compose
from bot.sanitize import MENTION_BREAK, sanitize

REPO = "octo/shapes"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# Right-to-left override, the isolates, right-to-left mark, byte-order mark (zero-width).
HIDDEN = "\u202e\u2066\u2067\u2068\u2069\u200f\ufeff"
FORMAT_CHARACTERS = [chr(c) for c in range(sys.maxunicode + 1)
                     if unicodedata.category(chr(c)) == "Cf" and chr(c) != MENTION_BREAK]


def _hidden_in(text: str) -> list[str]:
    """The invisible characters in `text` other than navbot's mention break."""
    return [f"U+{ord(c):04X}" for c in text
            if c != MENTION_BREAK and (unicodedata.category(c) in ("Cf", "Cc") and c != "\n")]


def test_no_invisible_character_reaches_the_composed_comment() -> None:
    title = f"Area is {HIDDEN[0]}gnorw{HIDDEN[1]} for small circles, cc @octocat{HIDDEN[6]}"
    subject = f"Fix circle area{HIDDEN[2]} rounding{HIDDEN[3]} (#12)"
    docstring = f"Return the area{HIDDEN[4]} of the circle{HIDDEN[5]}; ask @octocat."
    answer = Answer(
        repo_full_name=REPO, default_branch="main", index_commit=COMMIT, index_age_s=60.0,
        confidence=0.9,
        files=(FileHit("shapes/circle.py", 0.9, (f"docstring of `area`: {docstring}",)),),
        symbols=(SymbolHit("Circle.area", "shapes/circle.py", (3, 9),
                           (f"docstring: {docstring}",)),),
        related=(RelatedItem(41, title, "issue", "open", (f"similar title: {title}",)),
                 RelatedItem(0, subject, "issue", "commit", (f"commit: {subject}",))),
        sections=frozenset({"files", "related", "changes"}),
        plan=f"- Round after {HIDDEN} multiplying", diff=f"-x = 1{HIDDEN}\n+x = 2\n")
    body = compose(answer)
    assert _hidden_in(body) == []
    # What the characters sat in is still there, and mentions are still broken.
    assert "gnorw" in body and "rounding" in body and "of the circle" in body
    assert body.count(f"@{MENTION_BREAK}octocat") >= 3
    assert "@octocat" not in body


@pytest.mark.parametrize("char", list(HIDDEN + "\u202a\u202b\u202c\u202d\u200e\u061c"))
def test_each_bidirectional_control_is_removed_in_text_and_in_code(char: str) -> None:
    text = f"left{char}right `co{char}de`\n\n```\nx{char} = 1\n```"
    assert sanitize(text, REPO) == "leftright `code`\n\n```\nx = 1\n```"


def test_every_format_character_but_the_mention_break_is_removed() -> None:
    text = "".join(f"a{char}" for char in FORMAT_CHARACTERS)
    assert sanitize(text, REPO, max_chars=100_000) == "a" * len(FORMAT_CHARACTERS)
    assert len(FORMAT_CHARACTERS) > 150  # Unicode's whole category, not a hand-made list


def test_navbots_mention_break_survives_and_stays_stable() -> None:
    once = sanitize(f"thanks @\u202eoctocat and @{HIDDEN}hubot", REPO)
    assert once == f"thanks @{MENTION_BREAK}octocat and @{MENTION_BREAK}hubot"
    assert sanitize(once, REPO) == once
    assert sanitize(f"already broken @{MENTION_BREAK}octocat", REPO) == (
        f"already broken @{MENTION_BREAK}octocat")


def test_c1_controls_are_removed_too() -> None:
    assert sanitize("next\x85line and \x9bcsi", REPO) == "nextline and csi"
