"""Documentation markup: Markdown, reStructuredText and plain text files split into sections.

Each section keeps its title, its first prose sentence and the code names its prose mentions
(inline code, roles, autodoc and object directives). `retrieval.doc_questions` turns them
into questions. Pure and line-by-line: a few regexes per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_MENTIONS = 20
MAX_SUMMARY_WORDS = 25
_MAX_PARAGRAPH_CHARS = 2000

_MARKDOWN_EXTENSIONS = frozenset({"md", "markdown", "mdown", "mkd", "mdx"})
_DOC_EXTENSIONS = _MARKDOWN_EXTENSIONS | {"rst", "rest", "txt"}
_DOC_DIRS = frozenset({"doc", "docs", "documentation"})
_SKIPPED_DIRS = frozenset({"test", "tests", "testdata", "test_data", "fixtures", "node_modules",
                           "vendor", "third_party", "site-packages"})
# Change logs describe changes, not behaviour; licence and people lists describe neither.
_NOT_DOC_NAME = re.compile(r"(?:change[-_]?log|changes|news|history|releases?|release[-_ ]?notes?"
                           r"|whats[-_]?new|licen[cs]e|copying|notice|authors|contributors"
                           r"|code[-_]of[-_]conduct|requirements|constraints)(?:$|[-_. ]|\d)")
_NOT_DOC_DIR = re.compile(r"change[-_]?logs?(?:\.d)?|changes|news(?:fragments)?|history|releases?"
                          r"|release[-_]?notes|whats[-_]?new")

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t](.*))?$")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
# A line of one repeated punctuation character: an rst section adornment.
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"\s*\.\.\s+(?:[\w-]+:)?([\w-]+)::(?:\s+(.*))?$")
_TARGET = re.compile(r"[~!]?([A-Za-z_][\w.]*)")
_LITERAL_DIRECTIVES = frozenset({
    "code", "code-block", "sourcecode", "literalinclude", "doctest", "testcode", "testoutput",
    "testsetup", "testcleanup", "ipython", "jupyter-execute", "math", "plot", "parsed-literal",
    "raw", "graphviz", "csv-table"})
_MEMBER_KINDS = frozenset({"method", "attribute", "property", "classmethod", "staticmethod"})
_CLASS_KINDS = frozenset({"class", "exception"})
_OBJECT_KINDS = _MEMBER_KINDS | _CLASS_KINDS | {"function", "data", "decorator"}
_OBJECT_ROLES = frozenset({"func", "meth", "class", "attr", "mod", "obj", "data", "const", "exc",
                           "any", "function", "method", "member", "type", "prop"})

# A role starts after a space or punctuation, so a long run of colons is scanned once.
_RST_INLINE = re.compile(r"(?<![\w:]):(?:[\w-]+:)*(?P<role>[\w-]+):`(?P<target>[^`]+)`"
                         r"|``(?P<code>[^`]+)``"
                         r"|(?<![`\w])`(?P<text>[^`<]+)`(?![`_])")
# A Markdown code span, with the MyST role ({func}`solve`) in front of it if there is one.
_MD_CODE = re.compile(r"(?:\{(?P<role>[\w:-]+)\})?(?P<ticks>`+)(?P<code>[^`]+?)(?P=ticks)(?!`)")
_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_WORD = re.compile(r"[a-z][a-z0-9]*")

# Markup to strip, one match at a time from the left, so code spans and roles keep their
# content verbatim: rst and MyST roles, rst links, code spans, images, Markdown links,
# footnote references, tags, emphasis.
_MARKUP = re.compile(r"(?:(?<![\w:]):(?:[\w-]+:)+|\{[\w:-]+\})`(?P<role>[^`]+)`"
                     r"|`(?P<link>[^`<]+?)\s+<[^`>]*>`_{0,2}"
                     r"|(?P<ticks>`+)(?P<code>.+?)(?P=ticks)_{0,2}"
                     r"|!\[[^\]]*\]\([^)]*\)|\[(?P<text>[^\]]*)\](?:\([^)]*\)|\[[^\]]*\])"
                     r"|\s?\[#?[\w-]*\]_|</?[A-Za-z][^>]*>"
                     r"|\*+|(?<!\w)_{1,2}(?=\w)|(?<=\w)_{1,2}(?!\w)|\\(?=\W)|\|")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# Paragraph starts that are not prose: directives, quotes, tables, HTML, images, admonitions
# (rst, mkdocs, GitHub and "**Note:**" style), field lists, math, list items, table borders.
_NOT_PROSE = re.compile(r"\.\.|>|\||\+[-=]|<|!\[|\[!\[|!!!|\?\?\?|:[\w -]+:(?:\s|$)|\{|\$\$"
                        r"|[-*+\u2022]\s|\d+[.)]\s|#\.\s|\(?[A-Za-z0-9]\)\s|[-=+:| ]+$"
                        r"|(?i:[*_]*(?:note|warning|tip|important|caution|danger|attention|hint"
                        r"|todo|deprecated|see also|seealso)[*_]*\s*:)")


@dataclass(frozen=True, slots=True)
class DocSection:
    """One titled section of a documentation file and the names it mentions."""

    path: str
    title: str
    line: int
    summary: str
    mentions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Heading:
    start: int  # first line of the heading (an rst overline, else the title line), 0-based
    title_line: int  # -1 for the implicit section of a file without headings
    body: int
    title: str


def is_doc_path(path: str) -> bool:
    """Whether a file documents behaviour: README*, *.md and *.rst, *.txt under doc(s)/.

    Not change logs, news, history or release notes (they describe changes), licence and
    author lists, requirements files, or anything under hidden, test or vendored directories.
    """
    directories, stem, extension = split_path(path.lower())
    if any(part.startswith(".") or part in _SKIPPED_DIRS or _NOT_DOC_DIR.fullmatch(part)
           for part in directories) or _NOT_DOC_NAME.match(stem):
        return False
    if stem.startswith("readme"):
        return extension in _DOC_EXTENSIONS or not extension
    if extension == "txt":
        # Most .txt files are data or requirements; under a docs directory they are prose.
        return any(part in _DOC_DIRS for part in directories)
    return extension in _DOC_EXTENSIONS


def doc_sections(path: str, text: str) -> list[DocSection]:
    """The sections of a Markdown, reStructuredText or plain text file, in file order.

    A file without headings is one section titled after the file name. Mentions come from
    prose only: code blocks, literal blocks and doctests are skipped, because examples call
    many helpers and would make every section with an example look like an overview, while
    the symbol a section documents is named in its prose, directives and roles.
    """
    lines = text.splitlines()
    _, stem, extension = split_path(path)
    markdown = extension.lower() in _MARKDOWN_EXTENSIONS
    code = _markdown_code_lines(lines) if markdown else _rst_literal_lines(lines)
    headings = _markdown_headings(lines, code) if markdown else _rst_headings(lines, code)
    if not headings:
        headings = [_Heading(0, -1, 0, " ".join(re.split(r"[-_. ]+", stem)).strip())]
    mentions = _section_mentions(lines, code, headings, markdown)
    sections = []
    for index, heading in enumerate(headings):
        end = headings[index + 1].start if index + 1 < len(headings) else len(lines)
        title = _plain(heading.title[:_MAX_PARAGRAPH_CHARS]).rstrip(":").strip()
        if title:
            summary = _summary(lines, code, heading.body, end, markdown)
            sections.append(DocSection(path, title, max(heading.title_line + 1, 1), summary,
                                       tuple(mentions[index])))
    return sections


def split_path(path: str) -> tuple[list[str], str, str]:
    """A path's directories, file stem and extension ("" when the name has no dot)."""
    *directories, name = path.split("/")
    stem, dot, extension = name.rpartition(".")
    return (directories, stem, extension) if dot else (directories, name, "")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _markdown_code_lines(lines: Sequence[str]) -> list[bool]:
    """Which lines are code or hidden: fenced blocks, front matter, HTML comments."""
    code = [False] * len(lines)
    fence = ""  # the open fence, "" outside a code block
    comment = False
    front_matter = bool(lines) and lines[0].strip() == "---"
    for number, line in enumerate(lines):
        stripped = line.strip()
        if front_matter:
            code[number] = True
            front_matter = number == 0 or stripped not in ("---", "...")
        elif fence:
            code[number] = True
            if not stripped.strip(fence[0]) and len(stripped) >= len(fence):
                fence = ""
        elif comment or stripped.startswith("<!--"):
            code[number] = True
            comment = "-->" not in stripped
        elif opening := _FENCE.match(line):
            code[number] = True
            fence = opening.group(1)
    return code


def _markdown_headings(lines: Sequence[str], code: Sequence[bool]) -> list[_Heading]:
    headings: list[_Heading] = []
    for number, line in enumerate(lines):
        if code[number]:
            continue
        atx = _ATX.match(line)
        if atx:
            title = (atx.group(1) or "").strip()
            # A closing run of #s is markup when a space separates it from the text.
            unclosed = title.rstrip("#")
            if not unclosed or unclosed[-1] in " \t":
                title = unclosed.strip()
            if title:
                headings.append(_Heading(number, number, number + 1, title))
            continue
        above = number - 1
        if (above >= 0 and _SETEXT.match(line) and not code[above] and lines[above].strip()
                and (above == 0 or not lines[above - 1].strip())
                and _indent(lines[above]) < 4 and not _ATX.match(lines[above])
                and not _NOT_PROSE.match(lines[above].strip())):
            headings.append(_Heading(above, above, number + 1, lines[above].strip()))
    return headings


def _rst_literal_lines(lines: Sequence[str]) -> list[bool]:
    """Which lines are literal: `::` blocks, code directives, comments and doctests."""
    literal = [False] * len(lines)
    block_indent: int | None = None
    doctest = False
    for number, line in enumerate(lines):
        stripped = line.strip()
        indent = _indent(line)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                literal[number] = True
                continue
            block_indent = None
        if doctest or stripped.startswith(">>>"):
            literal[number] = doctest = bool(stripped)
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            if directive.group(1) in _LITERAL_DIRECTIVES:
                block_indent = indent
        elif stripped == ".." or (stripped.startswith(".. ") and not stripped.startswith(".. _")):
            literal[number] = True  # a comment, with its indented body
            block_indent = indent
        elif stripped.endswith("::"):
            block_indent = indent
    return literal


def _rst_headings(lines: Sequence[str], literal: Sequence[bool]) -> list[_Heading]:
    headings: list[_Heading] = []
    number = 0
    while number < len(lines) - 1:
        title, under = lines[number], _ADORNMENT.match(lines[number + 1])
        if (under and title.strip() and not literal[number] and not _ADORNMENT.match(title)
                and len(lines[number + 1].rstrip()) >= len(title.strip())):
            over = number > 0 and lines[number - 1].rstrip() == lines[number + 1].rstrip()
            alone = _indent(title) == 0 and (number == 0 or not lines[number - 1].strip())
            if over or alone:
                start = number - 1 if over else number
                headings.append(_Heading(start, number, number + 2, title.strip()))
                number += 2
                continue
        number += 1
    return headings


class _RstNames:
    """Names rst lines mention, qualified by the module and class directives above them."""

    def __init__(self) -> None:
        self.module = ""
        self.owner: tuple[str, int] | None = None  # enclosing class directive: name, indent
        self.listing: int | None = None  # indent of an autosummary whose body lists names

    def names(self, line: str) -> list[str]:
        """The names one rst line mentions, in order."""
        stripped, indent = line.strip(), _indent(line)
        if not stripped:
            return []
        if self.owner and indent <= self.owner[1]:
            self.owner = None
        if self.listing is not None:
            if indent > self.listing:
                entry = _TARGET.match(stripped)
                return [self._qualify(entry.group(1))] if entry else []
            self.listing = None
        directive = _DIRECTIVE.match(line)
        if directive is None:
            return _inline_names(line, markdown=False)
        kind, argument = directive.group(1), (directive.group(2) or "").strip()
        if kind == "autosummary":
            self.listing = indent
            return []
        target = _TARGET.match(argument)
        name = target.group(1).rstrip(".") if target else ""
        if kind in ("module", "currentmodule", "automodule"):
            self.module = "" if name in ("", "None") else name
            return [name] if kind == "automodule" and name else []
        kind = kind.removeprefix("auto")
        if kind not in _OBJECT_KINDS or not name:
            return _inline_names(argument, markdown=False)
        name = self._qualify(name, member=kind in _MEMBER_KINDS)
        if kind in _CLASS_KINDS:
            self.owner = (name, indent)
        return [name]

    def _qualify(self, name: str, member: bool = False) -> str:
        if member and self.owner and "." not in name:
            return f"{self.owner[0]}.{name}"
        top = self.module.split(".", 1)[0]
        if self.module and name != top and not name.startswith(f"{top}."):
            return f"{self.module}.{name}"
        return name


def _inline_names(text: str, markdown: bool) -> list[str]:
    """The names in one line's code spans and object roles, in order."""
    names = []
    for match in (_MD_CODE if markdown else _RST_INLINE).finditer(text):
        groups = match.groupdict()
        role, plain = groups["role"], groups.get("text")
        if role is not None and role.rsplit(":", 1)[-1] not in _OBJECT_ROLES:
            continue
        name = _mention(groups.get("target") or groups["code"] or plain or "", role is not None)
        # rst default-role text is often math (`x`) or a title: only dotted names and calls.
        if name and not (plain and "." not in name and not plain.rstrip().endswith(")")):
            names.append(name)
    return names


def _mention(raw: str, explicit: bool = False) -> str | None:
    """The dotted name in a code span or role target, without call arguments; None if none.

    A code span holding one plain lower-case word (`main`, `read`) or one character (`x`) is as
    often a value, key, branch name or variable as a symbol, so it counts only when `explicit`
    (a role or directive) or written as a call.
    """
    text = raw.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1:-1]
    text = text.lstrip("~!.")
    paren = text.find("(")
    call = paren > 0 and text.endswith(")")
    name = text[:paren] if call else text
    distinct = len(name) > 1 and not _WORD.fullmatch(name)
    if _NAME.fullmatch(name) and (explicit or call or distinct):
        return name
    return None


def _section_mentions(lines: Sequence[str], code: Sequence[bool], headings: Sequence[_Heading],
                      markdown: bool) -> list[dict[str, None]]:
    # One pass over the whole file: rst module directives before the first heading still count.
    mentions: list[dict[str, None]] = [{} for _ in headings]
    rst = _RstNames()
    section = -1
    for number, line in enumerate(lines):
        while section + 1 < len(headings) and headings[section + 1].start <= number:
            section += 1
        if code[number]:
            continue
        names = _inline_names(line, markdown) if markdown else rst.names(line)
        if section >= 0:
            for name in names:
                if len(mentions[section]) < MAX_MENTIONS:
                    mentions[section][name] = None
    return mentions


def _summary(lines: Sequence[str], code: Sequence[bool], start: int, end: int,
             markdown: bool) -> str:
    """The first prose sentence among lines[start:end], or "" if there is none."""
    paragraph: list[str] = []
    for number in range(start, end + 1):
        line = lines[number] if number < end and not code[number] else ""
        if line.strip():
            paragraph.append(line)
            continue
        first = paragraph[0].strip() if paragraph else ""
        # Indented rst paragraphs are directive bodies or quotes; indented Markdown is code.
        if (first and _indent(paragraph[0]) <= (3 if markdown else 0)
                and not _NOT_PROSE.match(first)):
            # The sentence is near the start; a cap keeps huge paragraphs cheap.
            text = _plain(" ".join(line.strip() for line in paragraph)[:_MAX_PARAGRAPH_CHARS])
            words = _SENTENCE_END.split(text, maxsplit=1)[0].split()[:MAX_SUMMARY_WORDS]
            if len(words) >= 3:
                return " ".join(words).rstrip(".:;,")
        paragraph = []
    return ""


def _plain(text: str) -> str:
    """Text without Markdown or rst markup: roles and code spans keep their content."""
    return " ".join(_MARKUP.sub(_display, text).replace("::", ":").split())


def _display(match: re.Match[str]) -> str:
    target = match.group("role")
    if target is None:
        text = match.group("text")
        return _plain(text) if text else match.group("link") or match.group("code") or ""
    if target.endswith(">") and "<" in target:
        return target[:target.rindex("<")].strip()
    target = target.strip().lstrip("!")
    return target[1:].rsplit(".", 1)[-1] if target.startswith("~") else target
