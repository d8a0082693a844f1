"""Make markdown safe to post as navbot: nobody pinged, nothing hidden, no links out.

Everything navbot posts passes through :func:`sanitize`, including text it did not write
(issue titles, evidence quoting an issue, later model output), so the input is hostile.
Rather than parse the input exactly as GitHub would, the sanitizer makes its *output*
unambiguous: it decides what is code and keeps that raw, and in text it escapes every markdown
construct it did not emit on purpose (stray backticks and brackets, other HTML, fences it does
not recognise, URLs that could be autolinked), so GitHub cannot read the output another way.
The pass repeats until nothing changes, which makes it idempotent even where dropping a link
joins the text around it into something new.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from bot.links import (
    ENTITY,
    PUNCT,
    RepoLinks,
    bracket_pairs,
    decode_entities,
    parse_destination,
    trim_url,
    unescape_destination,
)

# A zero-width space after "@" keeps "@octocat" looking as written while GitHub's mention rule
# (an "@" followed by a letter or digit) no longer matches. Backticks would also stop the ping,
# but inside raw-HTML blocks such as a <summary> line GitHub shows backticks literally and still
# pings; the invisible break works in every context and changes nothing a reader sees.
MENTION_BREAK = "\u200b"
TRUNCATED_NOTICE = "…(truncated)"
_MAX_PASSES = 10

# Blockquote markers and list markers that may precede a block on a line.
_CONTAINER = r"[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+[ \t>]*)*"
_HTML_BLOCK_START = re.compile(_CONTAINER + r"</?(?:details|summary)(?:[\s/>]|$)", re.I)
_TILDE_FENCE = re.compile("(" + _CONTAINER + r")(~{3,})")
_TABLE_DELIMITER = re.compile(_CONTAINER + r"[|: \t-]*-[|: \t-]*$")
_FENCE_OPEN = re.compile(r"( *)(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_ALLOWED_TAG = re.compile(r"<(/?)(details|summary)((?:\s[^<>]*)?)>", re.I)
_OPEN_ATTRIBUTE = re.compile(r"(?:^|\s)open(?:[\s=/]|$)", re.I)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")
_BARE_URL = re.compile(r"(https?|ftp)\\?:\\?/\\?/", re.I)
_URL_TAIL = re.compile(r"[A-Za-z0-9\-._~:/?#!$&'()*+,;=%]*")
_WWW = re.compile(r"www\\?\.", re.I)
_MENTION_START = re.compile(r"\\?[A-Za-z0-9-]")
_BARE_PIPE = re.compile(r"(?<!\\)\|")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab and newline; C1
_BACKTICK_RUN = re.compile(r"`+")
_DEFANGED = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}

_TOP, _LINK_TEXT, _ALT_TEXT = 0, 1, 2  # what inline text may contain: links, images, neither


def sanitize(markdown: str, repo_full_name: str, max_chars: int = 20_000) -> str:
    """`markdown` made safe to post on `repo_full_name`, at most `max_chars` long."""
    if max_chars < 4 * len(TRUNCATED_NOTICE):
        raise ValueError(f"max_chars must be at least {4 * len(TRUNCATED_NOTICE)}")
    repo = RepoLinks(repo_full_name)
    text = markdown
    for _ in range(_MAX_PASSES):
        cleaned = _sanitize_once(text, repo)
        if cleaned == text:
            break
        text = cleaned
    return _truncate(text, max_chars)


@dataclass
class _Fence:
    char: str
    length: int
    indent: int

    @property
    def closer(self) -> str:
        return self.char * self.length

    def closes(self, line: str) -> bool:
        match = _FENCE_CLOSE.fullmatch(line)
        run = match.group(1) if match else ""
        return run[:1] == self.char and len(run) >= self.length


def _open_fence(line: str) -> tuple[_Fence, str] | None:
    """A fence opened by `line` and the opener as navbot writes it (at column 0), if any.

    An indented opener is moved to column 0 with its block: GitHub would read it one way or
    another depending on the list it sits in, while a column-0 fence reads only one way.
    """
    match = _FENCE_OPEN.fullmatch(line)
    if not match:
        return None
    indent, run, info = match.groups()
    if run[0] == "`" and "`" in info:
        return None
    language = re.sub(r"[^A-Za-z0-9_+.#-]", "", (info.split() or [""])[0])
    return _Fence(run[0], len(run), len(indent)), run + language


def _dedent(line: str, spaces: int) -> str:
    stripped = line.lstrip(" ")
    return line[min(spaces, len(line) - len(stripped)):]


def _classify(lines: list[str]) -> list[tuple[str, str]]:
    """Each line as ("code" | "blank", final text) or ("text" | "html", text to clean)."""
    classified: list[tuple[str, str]] = []
    fence: _Fence | None = None
    in_html = False  # a raw-HTML block started by an allowed tag runs to the next blank line
    for line in lines:
        if fence is not None:
            body = _dedent(line, fence.indent)
            if fence.closes(body):
                classified.append(("code", body.strip()))
                fence = None
            else:
                classified.append(("code", body))
            continue
        if not line.strip():
            classified.append(("blank", ""))
            in_html = False
            continue
        opened = None if in_html else _open_fence(line)
        if opened is not None:
            fence, opener = opened
            classified.append(("code", opener))
            continue
        in_html = in_html or bool(_HTML_BLOCK_START.match(line))
        classified.append(("html" if in_html else "text", line))
    if fence is not None:
        classified.append(("code", fence.closer))
    return classified


def _table_lines(classified: list[tuple[str, str]]) -> set[int]:
    """Lines in a run of text that may be a table, where GitHub splits cells at "|"."""
    flagged: set[int] = set()
    run: list[int] = []
    for index, (kind, _) in enumerate([*classified, ("blank", "")]):
        if kind in ("text", "html"):
            run.append(index)
            continue
        if any(_TABLE_DELIMITER.fullmatch(classified[i][1]) for i in run):
            flagged.update(run)
        run = []
    return flagged


def _sanitize_once(text: str, repo: RepoLinks) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    classified = _classify(_visible(text).split("\n"))
    tables = _table_lines(classified)
    out: list[str] = []
    depth = 0
    for index, (kind, line) in enumerate(classified):
        if kind in ("text", "html"):
            line = _sanitize_line(line, repo, html_block=kind == "html", table=index in tables)
            depth = _details_depth(line, depth)
        out.append(line)
    if depth:  # close what the text left open, after a blank line that ends any paragraph
        out.extend(["", *["</details>"] * depth])
    return "\n".join(out).strip("\n")


def _visible(text: str) -> str:
    """`text` without control characters or invisible format characters (category Cf).

    Bidirectional controls (U+202E, U+2066 to U+2069, …) make text read differently from what
    it holds, and zero-width characters hide words from readers and filters alike. The one
    kept is MENTION_BREAK, which navbot itself puts after "@"; one found in the input is
    harmless, since it can only stop a mention.
    """
    text = _CONTROL.sub("", text)
    if text.isascii():
        return text
    return "".join(char for char in text
                   if char == MENTION_BREAK or unicodedata.category(char) != "Cf")


def _details_depth(line: str, depth: int) -> int:
    """How many <details> are open after `line` (outside its code spans)."""
    for code, part in _split_code_spans(line, table=False):
        if not code:
            for tag in _ALLOWED_TAG.finditer(part):
                if tag.group(2).lower() == "details":
                    depth = max(0, depth + (-1 if tag.group(1) else 1))
    return depth


def _sanitize_line(line: str, repo: RepoLinks, html_block: bool, table: bool) -> str:
    tilde = _TILDE_FENCE.match(line)
    if tilde:  # a fence GitHub might open here, but navbot does not treat as one
        line = tilde.group(1) + "\\~" * len(tilde.group(2)) + line[tilde.end():]
    # In a raw-HTML block backticks are literal, so nothing there is treated as code.
    segments = [(False, line)] if html_block else _split_code_spans(line, table)
    decoded = [(code, part if code else decode_entities(part)) for code, part in segments]
    return _Inline(decoded, repo, _TOP, html_block).render()


def _split_code_spans(line: str, table: bool) -> list[tuple[bool, str]]:
    """`line` as (is code span, text) parts; spans never cross lines (or table cells)."""
    runs: dict[int, list[int]] = {}  # run length -> starts of backtick runs of that length
    for run in _BACKTICK_RUN.finditer(line):
        runs.setdefault(len(run.group()), []).append(run.start())
    parts: list[tuple[bool, str]] = []
    start = i = 0
    while i < len(line):
        if line[i] == "\\" and line[i + 1:i + 2] in PUNCT:
            i += 2
            continue
        if line[i] != "`":
            i += 1
            continue
        end = i
        while end < len(line) and line[end] == "`":
            end += 1
        starts = runs.get(end - i, [])  # after an escaped "\`" the opener is shorter
        after = bisect.bisect_left(starts, end)
        close = starts[after] if after < len(starts) else None
        if close is None or (table and _BARE_PIPE.search(line, end, close)):
            i = end
            continue
        if start < i:
            parts.append((False, line[start:i]))
        parts.append((True, line[i:close + end - i]))
        start = i = close + end - i
    if start < len(line):
        parts.append((False, line[start:]))
    return parts


class _Inline:
    """One line's inline text, cleaned left to right; code spans pass through unchanged."""

    def __init__(self, segments: list[tuple[bool, str]], repo: RepoLinks, mode: int,
                 html_block: bool) -> None:
        self.segments = segments
        self.repo = repo
        self.mode = mode
        self.html_block = html_block
        self.out: list[str] = []
        self.brackets = bracket_pairs(segments)

    def render(self) -> str:
        k = i = 0
        while k < len(self.segments):
            code, text = self.segments[k]
            if code or i >= len(text):
                if code:
                    self.out.append(text)
                k, i = k + 1, 0
                continue
            k, i = self._step(k, i, text)
        return "".join(self.out)

    def _last(self) -> str:
        return next((piece[-1] for piece in reversed(self.out) if piece), "")

    def _step(self, k: int, i: int, text: str) -> tuple[int, int]:
        char = text[i]
        if char == "\\":
            return k, self._backslash(text, i)
        if char == "`":  # a backtick that opens no code span here
            end = i
            while end < len(text) and text[end] == "`":
                end += 1
            self.out.append("\\`" * (end - i))
            return k, end
        if char == "<":
            return k, self._angle(text, i)
        if char == "!" and text.startswith("[", i + 1) and self.mode != _ALT_TEXT:
            linked = self._link(k, i + 1, image=True)
            if linked is not None:
                return linked
        if char == "[" and self.mode == _TOP:
            linked = self._link(k, i, image=False)
            if linked is not None:
                return linked
        if char in "[]":
            self.out.append("\\" + char)
            return k, i + 1
        if char == "@" and not _is_alnum(self._last()) and _MENTION_START.match(text, i + 1):
            self.out.append("@" + MENTION_BREAK)
            return k, i + 1
        if char in "hHfF":
            url = _BARE_URL.match(text, i)
            if url is not None:
                return k, self._bare_url(text, i, url)
        if char in "wW" and not _is_alnum(self._last()):
            www = _WWW.match(text, i)
            if www is not None:  # GitHub would link www.example.com
                self.out.append(text[i:i + 3] + "\\[.\\]")
                return k, www.end()
        self.out.append(char)
        return k, i + 1

    def _backslash(self, text: str, i: int) -> int:
        escaped = text[i + 1:i + 2]
        if escaped in ("@", ":", "/"):  # GitHub sees "\@x" as "@x": judge the plain character
            return i + 1
        if escaped == "<":  # one spelling of a harmless "<" everywhere
            self.out.append("&lt;")
            return i + 2
        if escaped in PUNCT:
            self.out.append(text[i:i + 2])
            return i + 2
        self.out.append("\\")
        return i + 1

    def _angle(self, text: str, i: int) -> int:
        tag = _ALLOWED_TAG.match(text, i)
        if tag is not None:
            closing, name, attributes = tag.groups()
            opens = name.lower() == "details" and not closing and _OPEN_ATTRIBUTE.search(attributes)
            self.out.append(f"<{closing}{name.lower()}{' open' if opens else ''}>")
            return tag.end()
        autolink = _AUTOLINK.match(text, i)
        if autolink is not None:
            url = self.repo.allowed(decode_entities(autolink.group(1), only_plain=False))
            if url is not None:
                self.out.append(url if self.html_block else f"<{url}>")
                return autolink.end()
        self.out.append("&lt;")
        return i + 1

    def _bare_url(self, text: str, i: int, scheme: re.Match[str]) -> int:
        kind = scheme.group(1).lower()
        if kind != "https" or text[scheme.end():scheme.end() + 11].lower() != "github.com/":
            self.out.append(_DEFANGED[kind] + "://")  # so GitHub does not link it
            return scheme.end()
        rest = _URL_TAIL.match(text, scheme.end())
        tail = rest.group() if rest else ""
        reference = ENTITY.search(tail)  # "&lt;" after a URL is text, not part of the URL
        tail = trim_url(tail[:reference.start()] if reference else tail)
        url = self.repo.allowed(f"https://{tail}")
        if url is None:  # the rest is read as text
            self.out.append(_DEFANGED[kind] + "://")
            return scheme.end()
        # Angle brackets fix where the link ends: a bare URL would run on over backticks.
        self.out.append(url if self.html_block else f"<{url}>")
        return scheme.end() + len(tail)

    def _link(self, k: int, i: int, image: bool) -> tuple[int, int] | None:
        """Emit the link or image whose "[" is at (k, i); None if there is none."""
        close = self.brackets.get((k, i))
        if close is None:
            return None
        k_end, j = close
        destination = parse_destination(self.segments[k_end][1], j + 1)
        if destination is None:
            return None
        raw, end = destination
        inner = self._slice(k, i + 1, k_end, j)
        label = _Inline(inner, self.repo, _ALT_TEXT if image else _LINK_TEXT,
                        self.html_block).render()
        url = self.repo.allowed(unescape_destination(raw))
        if url is None:
            self.out.append(label)
        else:
            self.out.append(f"{'!' if image else ''}[{label}]({url})")
        return k_end, end

    def _slice(self, k: int, i: int, k_end: int, j: int) -> list[tuple[bool, str]]:
        if k == k_end:
            return [(False, self.segments[k][1][i:j])]
        return [(False, self.segments[k][1][i:]), *self.segments[k + 1:k_end],
                (False, self.segments[k_end][1][:j])]


def _is_alnum(char: str) -> bool:
    """Whether `char` keeps a following "@" from being a mention ("_" does not: "_@x_")."""
    return char.isascii() and char.isalnum()


def _truncate(text: str, max_chars: int) -> str:
    """`text` cut at a line so that, with its open blocks closed and a notice, it fits."""
    if len(text) <= max_chars:
        return text
    kept, tail = 0, TRUNCATED_NOTICE
    fence: _Fence | None = None
    depth = 0
    in_html = False
    length = -1  # of the first lines joined by newlines
    for line in text.split("\n"):
        length += len(line) + 1
        if fence is not None:
            if fence.closes(line):
                fence = None
        elif not line.strip():
            in_html = False
        elif (opened := None if in_html else _open_fence(line)) is not None:
            fence = opened[0]
        else:
            in_html = in_html or bool(_HTML_BLOCK_START.match(line))
            depth = _details_depth(line, depth)
        closing = ("\n" + fence.closer if fence else "") + "\n\n</details>" * bool(depth) \
            + "\n</details>" * (depth - 1) + "\n\n" + TRUNCATED_NOTICE
        if length + len(closing) <= max_chars:
            kept, tail = length, closing
    return text[:kept] + tail
