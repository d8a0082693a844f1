"""The comment navbot posts: its sanitiser against hostile markdown, its layout, its fingerprint.

Golden comments live in tests/golden/comments/. Regenerate after an intended change with
`NAVBOT_UPDATE_GOLDEN=1 pytest tests/test_comment.py` and read the diff: they are the spec.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bot.comment import (
    HELP_TEXT,
    MARKER,
    Answer,
    FileHit,
    RelatedItem,
    SymbolHit,
    age_in_words,
    answer_fingerprint,
    compose,
    has_marker,
)
from bot.sanitize import MENTION_BREAK, TRUNCATED_NOTICE, sanitize
from tests.markdown_checks import PINGABLE, outside_code, pingable_mentions

try:
    from markdown_it import MarkdownIt
except ImportError:  # pragma: no cover
    MarkdownIt = None  # type: ignore[assignment,misc]

REPO = "octo/shapes"
ROOT = f"https://github.com/{REPO}/"
ZW = MENTION_BREAK
GOLDEN = Path(__file__).parent / "golden" / "comments"


def check_golden(name: str, text: str) -> None:
    """Compare `text` with the golden file `name`.md (rewritten under NAVBOT_UPDATE_GOLDEN)."""
    path = GOLDEN / f"{name}.md"
    if os.environ.get("NAVBOT_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; see this module's docstring"
    assert text == path.read_text(encoding="utf-8")


# --- Properties of safe output, judged on the markdown itself ---------------------------------

_ALLOWED_TAGS = ("<details>", "<details open>", "</details>", "<summary>", "</summary>")


def stray_tags(markdown: str) -> list[str]:
    """Every "<" outside code that is neither an allowed tag nor an autolink into the repo."""
    text = outside_code(markdown)
    return [text[m.start():m.start() + 20] for m in re.finditer("<", text)
            if not text.startswith(_ALLOWED_TAGS, m.start())
            and not text[m.start() + 1:].lower().startswith(ROOT)]


def outside_urls(markdown: str) -> list[str]:
    """Every http(s) or www URL outside code that does not start with the repository root."""
    text = outside_code(markdown)
    found = re.findall(r"(?i)https?://\S*", text)
    # "www." inside a link's destination or a repository URL is a path, not a link of its own.
    rest = re.sub(r"\]\([^\s)]*\)", "]", re.sub(re.escape(ROOT) + r"\S*", " ", text, flags=re.I))
    found += re.findall(r"(?i)\bwww\.\S*", rest)
    return [url for url in found if not url.lower().startswith(ROOT)]


class _Html(HTMLParser):
    """What a CommonMark renderer made of the output: links, images, tags, live text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.targets: list[str] = []
        self.comments: list[str] = []
        self.live_text: list[str] = []
        self._inert = 0  # inside code, pre or a link, where GitHub does not look for mentions

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.targets += [value or "" for name, value in attrs if name in ("href", "src")]
        self._inert += tag in ("code", "pre", "a")

    def handle_endtag(self, tag: str) -> None:
        self._inert -= tag in ("code", "pre", "a")

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if not self._inert:
            self.live_text.append(data)


_RENDERED_TAGS = {"p", "a", "img", "code", "pre", "ul", "ol", "li", "em", "strong", "h1", "h2",
                  "h3", "h4", "h5", "h6", "blockquote", "hr", "br", "table", "thead", "tbody",
                  "tr", "th", "td", "details", "summary"}


def rendered_problems(markdown: str) -> list[str]:
    """What is unsafe in `markdown` as an independent CommonMark parser renders it.

    markdown-it-py arrives with `rich`; without it this second opinion is skipped.
    """
    if MarkdownIt is None:
        return []
    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")
    page = _Html()
    page.feed(renderer.render(markdown))
    problems = [f"tag <{tag}>" for tag in page.tags if tag not in _RENDERED_TAGS]
    problems += [f"comment {c!r}" for c in page.comments]
    for target in page.targets:
        absolute = target.lower().startswith(ROOT) or target.lower() == ROOT[:-1]
        relative = not re.match(r"[a-z][a-z0-9+.-]*:|//", target, re.I)
        if not (absolute or relative):
            problems.append(f"link to {target}")
    live = "\n".join(page.live_text)
    problems += [f"mention {m}" for m in PINGABLE.findall(live)]
    problems += [f"url {u}" for u in re.findall(r"(?i)(?:https?://|\bwww\.)\S*", live)
                 if not u.lower().startswith(ROOT)]
    return problems


def assert_safe(markdown: str) -> None:
    assert pingable_mentions(markdown) == []
    assert stray_tags(markdown) == []
    assert outside_urls(markdown) == []
    assert rendered_problems(markdown) == []
    assert sanitize(markdown, REPO) == markdown, "not idempotent"


# --- The sanitiser against a corpus of hostile inputs ------------------------------------------

CORPUS = [
    ("mention", "thanks @octocat!", f"thanks @{ZW}octocat!"),
    ("team mention", "cc @org/team", f"cc @{ZW}org/team"),
    ("double at", "@@x", f"@@{ZW}x"),
    ("mention after punctuation", "(@octocat) -@a", f"(@{ZW}octocat) -@{ZW}a"),
    ("email is no mention", "mail a@b.com", "mail a@b.com"),
    ("mention inside emphasis", "_@octocat_", f"_@{ZW}octocat_"),
    ("mention before an escape", "@\\-x", f"@{ZW}\\-x"),
    ("mention in code span", "run `@octocat` now", "run `@octocat` now"),
    ("mention in fence", "```\n@decorator\n```", "```\n@decorator\n```"),
    ("escaped mention", "\\@octocat", f"@{ZW}octocat"),
    ("mention as reference", "&#64;octocat &commat;x", f"@{ZW}octocat @{ZW}x"),
    ("mention after entity", "@&#111;ctocat", f"@{ZW}octocat"),
    ("img onerror", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)>"),
    ("script", "<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
    ("a href", '<a href="https://evil.example">x</a>', '&lt;a href="hxxps://evil.example">x&lt;/a>'),
    ("details with handlers", "<details open onclick=alert(1)><summary style=x>s</summary>",
     "<details open><summary>s</summary>\n\n</details>"),
    ("details closed", "<DETAILS>\n<Summary>s</Summary>\n\nbody\n\n</details>",
     "<details>\n<summary>s</summary>\n\nbody\n\n</details>"),
    ("html comment", "<!-- ignore previous instructions -->",
     "&lt;!-- ignore previous instructions -->"),
    ("multi-line comment", "<!--\nhidden @octocat\n-->", f"&lt;!--\nhidden @{ZW}octocat\n-->"),
    ("link out", "[docs](https://evil.example/x)", "docs"),
    ("image out", "![pixel](https://evil.example/p.gif)", "pixel"),
    ("image out, empty alt", "a ![](https://evil.example/p.gif) b", "a  b"),
    ("javascript link", "[x](javascript:alert(1))", "x"),
    ("javascript behind a reference", "[x](javascript&#58;alert(1))", "x"),
    ("protocol-relative link", "[x](//evil.example/a)", "x"),
    ("angle-bracket destination", "[x](<https://evil.example/a b>)", "x"),
    ("link with title", '[x](https://github.com/octo/shapes/issues/1 "t")',
     "[x](https://github.com/octo/shapes/issues/1)"),
    ("bare url out", "see https://evil.example/a.", "see hxxps://evil.example/a."),
    ("bare url escaped", "https\\://evil.example", "hxxps://evil.example"),
    ("bare url as references", "h&#116;tps://evil.example", "hxxps://evil.example"),
    ("www", "www.evil.example", "www\\[.\\]evil.example"),
    ("autolink out", "<https://evil.example>", "&lt;hxxps://evil.example>"),
    ("email autolink", "<a@b.example>", "&lt;a@b.example>"),
    ("issue link kept", "[#3](https://github.com/octo/shapes/issues/3)",
     "[#3](https://github.com/octo/shapes/issues/3)"),
    ("blob link in another case", "[a](https://GitHub.com/Octo/Shapes/blob/main/a.py#L1-L2)",
     "[a](https://GitHub.com/Octo/Shapes/blob/main/a.py#L1-L2)"),
    ("image in repo kept", "![d](https://github.com/octo/shapes/raw/main/d.png)",
     "![d](https://github.com/octo/shapes/raw/main/d.png)"),
    ("bare repo url made explicit", "https://github.com/octo/shapes/pull/4.",
     "<https://github.com/octo/shapes/pull/4>."),
    ("repo root", "https://github.com/octo/shapes", "<https://github.com/octo/shapes/>"),
    ("look-alike repo", "https://github.com/octo/shapes-evil/x", "hxxps://github.com/octo/shapes-evil/x"),
    ("look-alike host", "[x](https://github.com.evil.example/octo/shapes/)", "x"),
    ("path traversal", "[x](https://github.com/octo/shapes/%2e%2e/%2e%2e/evil)", "x"),
    ("relative link in repo", "[pr](../pull/3) [top](#top)", "[pr](../pull/3) [top](#top)"),
    ("relative link out of repo", "[x](../../../evil) [y](/evil/repo)", "x y"),
    ("url made unambiguous", "[x](https://github.com/octo/shapes/a b(c)) ",
     "\\[x\\](<https://github.com/octo/shapes/a> b(c)) "),
    ("url encoded", "[x](<https://github.com/octo/shapes/a b(c)>)",
     "[x](https://github.com/octo/shapes/a%20b%28c%29)"),
    ("nested brackets", "[a [b] c](https://github.com/octo/shapes/issues/1)",
     "[a \\[b\\] c](https://github.com/octo/shapes/issues/1)"),
    ("link inside link", "[[x](https://evil.example)](https://github.com/octo/shapes)",
     "[\\[x\\](hxxps://evil.example)](https://github.com/octo/shapes/)"),
    ("badge", "[![b](https://evil.example/b.svg)](https://github.com/octo/shapes/actions)",
     "[b](https://github.com/octo/shapes/actions)"),
    ("reference definition", "[x]: https://evil.example\n\n[x]",
     "\\[x\\]: hxxps://evil.example\n\n\\[x\\]"),
    ("cross-reference stays", "dup of other/repo#12 and #3", "dup of other/repo#12 and #3"),
    ("code span kept raw", "`<b>` and `[x](http://e)`", "`<b>` and `[x](http://e)`"),
    ("stray backticks", "a ` b `` c", "a \\` b \\`\\` c"),
    ("escaped backtick before a span", "\\``@x` @y", f"\\``@x` @{ZW}y"),
    ("backtick in a link destination", "[x](http://e/`y) @octocat `z)",
     "\\[x\\](hxxp://e/`y) @octocat `z)"),
    ("unclosed fence", "```\n<img src=x>", "```\n<img src=x>\n```"),
    ("fence in a list moved to column 0", "1. step\n   ```py\n   x = '<b>'\n   ```\n2. next",
     "1. step\n```py\nx = '<b>'\n```\n2. next"),
    ("fence in a quote not trusted", "> ```\n> <b>@x</b>",
     f"> \\`\\`\\`\n> &lt;b>@{ZW}x&lt;/b>"),
    ("tilde fence in a quote", "> ~~~\n> x", "> \\~\\~\\~\n> x"),
    ("fence inside a raw-html block", "<details>\n```\n@x `y`\n```",
     f"<details>\n\\`\\`\\`\n@{ZW}x \\`y\\`\n\\`\\`\\`\n\n</details>"),
    ("fence info string trimmed", "```python onload=x\nprint(1)\n```",
     "```python\nprint(1)\n```"),
    ("code span in a table cell", "| a | b |\n|---|---|\n| `x | @octocat ` | y |",
     f"| a | b |\n|---|---|\n| \\`x | @{ZW}octocat \\` | y |"),
    ("control characters", "a\x00b\x07c\r\nd", "a\ufffdbc\nd"),
]


@pytest.mark.parametrize(("name", "markdown", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_input_is_made_safe(name: str, markdown: str, expected: str) -> None:
    cleaned = sanitize(markdown, REPO)
    assert cleaned == expected
    assert_safe(cleaned)


def test_text_that_needs_nothing_is_left_alone() -> None:
    markdown = ("### Heading\n\nSome *text* with `code`, a list:\n\n- one\n- two\n\n"
                "```python\n@dataclass\nclass A: ...\n```\n\n> quoted, #12, other/repo#3")
    assert sanitize(markdown, REPO) == markdown


def test_random_mixtures_of_hostile_pieces_are_safe_and_stable() -> None:
    pieces = [piece for _, piece, _ in CORPUS] + [
        "`", "``", "[", "]", "(", ")", "!", "<", ">", "\n", "\n\n", "@", "a", " ", "\\", "&",
        "#64;", "https://", "github.com/octo/shapes/x", "<details>", "</details>", "```", "~~~",
        "   ```", "> ", "- ", "|", "---", "www.", "octocat", "<!--", "-->", "`@x`",
    ]
    rng = random.Random(20240605)
    for _ in range(400):
        markdown = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        cleaned = sanitize(markdown, REPO)
        assert pingable_mentions(cleaned) == [], markdown
        assert stray_tags(cleaned) == [], markdown
        assert outside_urls(cleaned) == [], markdown
        assert rendered_problems(cleaned) == [], markdown
        assert sanitize(cleaned, REPO) == cleaned, markdown
        limit = rng.randint(48, 300)
        short = sanitize(markdown, REPO, max_chars=limit)
        assert len(short) <= limit, markdown
        assert sanitize(short, REPO, max_chars=limit) == short, markdown
        assert rendered_problems(short) == [], markdown


def test_long_text_is_cut_at_a_line_with_its_fence_closed() -> None:
    markdown = "intro\n\n```python\n" + "\n".join(f"line = {i}" for i in range(2000))
    cleaned = sanitize(markdown, REPO, max_chars=500)
    assert len(cleaned) <= 500
    assert cleaned.endswith("\n```\n\n" + TRUNCATED_NOTICE)
    kept = cleaned.split("\n")
    assert kept[:3] == ["intro", "", "```python"]
    assert all(re.fullmatch(r"line = \d+", line) for line in kept[3:-3])
    assert sanitize(cleaned, REPO, max_chars=500) == cleaned


def test_long_text_is_cut_with_its_details_closed() -> None:
    reasons = "\n".join(f"- reason {i}" for i in range(500))
    markdown = "<details><summary>why</summary>\n\n" + reasons
    cleaned = sanitize(markdown, REPO, max_chars=300)
    assert len(cleaned) <= 300
    ending = r"\n- reason \d+\n\n</details>\n\n" + re.escape(TRUNCATED_NOTICE) + "$"
    assert re.search(ending, cleaned)
    assert cleaned.count("<details>") == cleaned.count("</details>") == 1
    assert_safe(cleaned)


def test_a_single_overlong_line_leaves_only_the_notice() -> None:
    assert sanitize("x" * 1000, REPO, max_chars=100) == TRUNCATED_NOTICE


def test_short_text_is_not_cut() -> None:
    assert sanitize("a\n" * 10, REPO, max_chars=100) == "a\n" * 9 + "a"


# --- Composing the comment ---------------------------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ALL_SECTIONS = frozenset({"files", "related", "changes"})

CONFIDENT = Answer(
    repo_full_name=REPO, default_branch="main", index_commit=COMMIT, index_age_s=3 * 3600 + 120,
    confidence=0.82,
    files=(
        FileHit("src/shapes/circle.py", 0.91, ("the issue names `circle.py`",
                                               "traceback frame `src/shapes/circle.py` line 41")),
        FileHit("src/shapes/area.py", 0.55, ("shares terms with the issue: area, radius",)),
        FileHit("docs/shapes guide.md", 0.31, ()),
    ),
    symbols=(
        SymbolHit("Circle.area", "src/shapes/circle.py", (38, 45),
                  ("traceback frame `src/shapes/circle.py` line 41 in `area`",)),
        SymbolHit("square", "src/shapes/area.py", (12, 12), ()),
    ),
    related=(
        RelatedItem(41, "Circle area is wrong for r < 1 (cc @octocat)", "issue", "open",
                    ("6 shared terms: area, circle, radius, wrong, small, value",
                     "title similarity 0.86")),
        RelatedItem(44, "Fix <circle> area", "pr", "open", ("5 shared terms",)),
        RelatedItem(17, "Area off by pi", "issue", "fixed", ("4 shared terms",), (18, 20)),
        RelatedItem(9, "Support ellipses", "issue", "not_planned", ()),
        RelatedItem(0, "Use math.pi in Circle.area", "issue", "commit",
                    ("changed `src/shapes/circle.py`, as this issue would",)),
        RelatedItem(0, "Round areas to 2 places", "issue", "commit", (), (31,)),
    ),
    sections=ALL_SECTIONS,
)

FILES_ONLY = replace(CONFIDENT, sections=frozenset({"files"}), max_files=2)

NOT_CONFIDENT = replace(
    CONFIDENT, confidence=0.21, index_age_s=40, files=CONFIDENT.files[1:2], symbols=(),
    related=(), help=True,
    note="I am not confident about these: the issue says little about where the problem is.",
)

LONG = replace(
    CONFIDENT, index_age_s=9 * 86400, max_files=20, related=(), symbols=(),
    files=tuple(FileHit(f"src/shapes/module_{i:02}.py", 1 - i / 40,
                        tuple(f"reason {j} for module {i}: " + "shared terms " * 5
                              for j in range(4)))
                for i in range(20)),
)

GOLDENS = {"confident": CONFIDENT, "files_only": FILES_ONLY, "not_confident_help": NOT_CONFIDENT}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_comment_matches_golden(name: str) -> None:
    check_golden(name, compose(GOLDENS[name]))


def test_long_comment_is_truncated_but_keeps_its_footer_and_marker() -> None:
    body = compose(LONG, max_chars=2500)
    check_golden("long_truncated", body)
    assert len(body) <= 2500
    assert TRUNCATED_NOTICE in body
    assert "/navbot rerun" in body
    assert body.endswith(MARKER)
    assert body.count("<details>") == body.count("</details>")


@pytest.mark.parametrize("answer", [*GOLDENS.values(), LONG], ids=[*sorted(GOLDENS), "long"])
def test_comment_is_safe_and_marked(answer: Answer) -> None:
    body = compose(answer)
    assert body.endswith("\n\n" + MARKER)
    assert has_marker(body)
    assert_safe(body.removesuffix(MARKER).rstrip("\n"))
    assert compose(replace(answer)) == body  # deterministic
    assert not re.search(r"(?<!possible )duplicate", body, re.I)
    assert "\n\n\n" not in body
    for heading in re.finditer(r"^### .*\n\n(.*)", body, re.M):
        assert heading.group(1).strip(), "empty section"


def test_confident_comment_shows_every_section_and_group() -> None:
    body = compose(CONFIDENT)
    for heading in ("### Relevant files", "### Related issues and PRs",
                    "### Where the change might go", "**Open (possible duplicates)**",
                    "**Fixed before (possible regression)**", "**Closed as not planned**",
                    "**Past fixes in history**"):
        assert heading in body
    blob = f"{ROOT}blob/{COMMIT}/"
    assert f"[`src/shapes/circle.py`]({blob}src/shapes/circle.py)" in body
    assert f"({blob}docs/shapes%20guide.md)" in body
    assert f"[`Circle.area`]({blob}src/shapes/circle.py#L38-L45)" in body
    assert f"({blob}src/shapes/area.py#L12)" in body
    assert f"fixed by [#18]({ROOT}issues/18), [#20]({ROOT}issues/20)" in body
    assert "a starting point, not a patch" in body.lower()
    assert f"Indexed at [0123456]({ROOT}commit/{COMMIT}), 3 hours old." in body
    assert "React with 👍 or 👎 to tell us whether this helped." in body
    assert "`/navbot rerun`" in body and "`/navbot stop`" in body
    assert HELP_TEXT not in body
    assert f"cc @{ZW}octocat" in body  # a title cannot ping
    assert "Fix &lt;circle> area (pull request)" in body


def test_sections_that_are_off_or_empty_are_absent() -> None:
    body = compose(FILES_ONLY)
    assert "### Relevant files" in body
    assert body.count(f"]({ROOT}blob/") == 2  # max_files
    for absent in ("### Related", "### Where", "**Open", HELP_TEXT):
        assert absent not in body
    quiet = compose(NOT_CONFIDENT)
    assert "I am not confident about these" in quiet
    assert "### Related" not in quiet and "### Where" not in quiet
    assert quiet.rstrip().removesuffix(MARKER).rstrip().endswith(HELP_TEXT)
    for command in ("`/navbot`", "`/navbot rerun`", "`/navbot help`", "`/navbot stop`"):
        assert command in HELP_TEXT


def test_a_path_holding_backticks_stays_one_code_span() -> None:
    answer = replace(CONFIDENT, files=(FileHit("odd`name.py", 1.0, ()),))
    assert "[``odd`name.py``](" in compose(answer)


def test_has_marker_wants_the_marker_last() -> None:
    assert has_marker(f"text\n\n{MARKER}\n")
    assert not has_marker(f"quoting {MARKER} in the middle of a comment")
    assert not has_marker("no marker")


@pytest.mark.parametrize(("seconds", "words"), [
    (-5, "less than a minute old"), (59, "less than a minute old"), (60, "1 minute old"),
    (3 * 3600 + 59, "3 hours old"), (86400, "1 day old"), (45 * 86400, "1 month old"),
    (800 * 86400, "2 years old"),
])
def test_age_in_words(seconds: float, words: str) -> None:
    assert age_in_words(seconds) == words


# --- The fingerprint: what the comment says, not when it was indexed ---------------------------

def test_fingerprint_ignores_the_index_its_age_and_scores() -> None:
    moved = replace(
        CONFIDENT, index_commit="f" * 40, index_age_s=10.0, confidence=0.5,
        files=tuple(replace(hit, score=hit.score / 2, evidence=("other words",))
                    for hit in reversed(CONFIDENT.files)),
        symbols=tuple(replace(hit, lines=(hit.lines[0] + 3, hit.lines[1] + 3))
                      for hit in CONFIDENT.symbols),
    )
    assert answer_fingerprint(moved) == answer_fingerprint(CONFIDENT)
    assert re.fullmatch(r"[0-9a-f]{16}", answer_fingerprint(CONFIDENT))


def test_fingerprint_ignores_what_is_not_shown() -> None:
    extra = FileHit("src/shapes/extra.py", 0.1, ())
    assert answer_fingerprint(replace(FILES_ONLY, files=(*FILES_ONLY.files, extra))) == \
        answer_fingerprint(FILES_ONLY)


@pytest.mark.parametrize("change", [
    {"files": (FileHit("src/shapes/other.py", 0.9, ()), *CONFIDENT.files[1:])},
    {"related": (replace(CONFIDENT.related[0], group="fixed"), *CONFIDENT.related[1:])},
    {"related": (replace(CONFIDENT.related[2], fixed_by=(18,)), *CONFIDENT.related[:2],
                 *CONFIDENT.related[3:])},
    {"symbols": CONFIDENT.symbols[:1]},
    {"sections": frozenset({"files", "related"})},
    {"note": "I am not confident."},
    {"help": True},
], ids=["file", "related group", "fixed by", "symbol", "sections", "note", "help"])
def test_fingerprint_changes_with_what_the_comment_says(change: dict[str, Any]) -> None:
    assert answer_fingerprint(replace(CONFIDENT, **change)) != answer_fingerprint(CONFIDENT)
