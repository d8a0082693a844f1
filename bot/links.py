"""Links in what navbot posts: which URLs stay links, and where GitHub would see one.

A URL stays a link only if it points into the repository being answered, re-encoded so it
reads one way. The helpers pair link brackets, parse inline destinations (bounded, so hostile
input stays cheap), trim autolinks, and decode character references as GitHub does before it
looks for links and mentions.
"""

from __future__ import annotations

import html
import posixpath
import re
import string
from urllib.parse import quote, unquote

_MAX_DECODE_PASSES = 10
_MAX_DESTINATION = 2048
_MAX_PARENS = 32  # as in cmark

PUNCT = frozenset(string.punctuation)  # what a backslash escapes
_DECODABLE = frozenset(string.ascii_letters + string.digits + "@:/.-_")
_URL_SAFE = frozenset(string.ascii_letters + string.digits + "-._~:/?#!$&'*+,;=%")
# A character reference: named, decimal or hexadecimal.
ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TRAILING_ENTITY = re.compile(r"&[A-Za-z0-9]+;$")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HEX_PAIR = re.compile(r"[0-9A-Fa-f]{2}")


class RepoLinks:
    """Which URLs stay links: those into one repository, re-encoded so they read one way."""

    def __init__(self, full_name: str) -> None:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"not an owner/name repository: {full_name!r}")
        self.path = f"/{full_name.lower()}"
        self.root = "https://github.com" + self.path

    def allowed(self, url: str) -> str | None:
        """`url` in a safe spelling if it points into the repository, else None."""
        url = url.strip()
        if not url or "\\" in url or any(ord(ch) < 0x20 for ch in url):
            return None
        lowered = url.lower()
        if _SCHEME.match(url):
            if not self._inside(lowered, self.root):
                return None
            url = _with_slash(url, len(self.root))
            path = url[len("https://github.com"):]
        elif url.startswith("//"):
            return None
        elif url.startswith("/"):
            if not self._inside(lowered, self.path):
                return None
            path = url
        elif url.startswith("#"):
            return _safe_url(url, relative=True)
        else:  # relative to the issue page, /owner/name/issues/<n>
            path = posixpath.join(self.path + "/issues", url)
        resolved = posixpath.normpath(unquote(re.split(r"[?#]", path, maxsplit=1)[0])).lower()
        if not self._inside(resolved, self.path):
            return None
        return _safe_url(url, relative=not url.startswith("https:"))

    @staticmethod
    def _inside(lowered: str, prefix: str) -> bool:
        return lowered.startswith(prefix) and lowered[len(prefix):len(prefix) + 1] in ("", "/",
                                                                                         "?", "#")


def _with_slash(url: str, at: int) -> str:
    """The repository root always spelled with its slash, so every kept URL reads root + '/'."""
    return url if url[at:at + 1] == "/" else url[:at] + "/" + url[at:]


def _safe_url(url: str, relative: bool = False) -> str:
    """`url` with anything that could end or bend a link percent-encoded; idempotent.

    In a relative URL ":" is encoded too, so no scheme or URL can be spelled inside it.
    """
    out = []
    for i, ch in enumerate(url):
        if relative and ch == ":":
            out.append("%3A")
            continue
        if ch == "%" and not _HEX_PAIR.match(url, i + 1):
            out.append("%25")
        elif ch == "&" and ENTITY.match(url, i):
            out.append("&amp;")
        elif ch in _URL_SAFE:
            out.append(ch)
        else:
            out.append(quote(ch, safe=""))
    return "".join(out)


def decode_entities(text: str, only_plain: bool = True) -> str:
    """Decode character references; with `only_plain`, just those naming letters and the like.

    GitHub finds mentions and bare URLs after decoding, so "&#64;octocat" must be seen as
    "@octocat"; references to markup characters stay encoded and harmless.
    """
    def decode(match: re.Match[str]) -> str:
        char = html.unescape(match.group())
        return char if not only_plain or char in _DECODABLE else match.group()

    if not only_plain:
        return ENTITY.sub(decode, text)
    for _ in range(_MAX_DECODE_PASSES):  # decoding a letter can spell a new reference: "&#&#54;4;"
        decoded = ENTITY.sub(decode, text)
        if decoded == text:
            return text
        text = decoded
    return text.replace("&", "&amp;")  # a deeper chain is hostile: let nothing decode


def bracket_pairs(segments: list[tuple[bool, str]]) -> dict[tuple[int, int], tuple[int, int]]:
    """Each "[" (segment, index) paired with the "]" that balances it, outside code spans."""
    pairs: dict[tuple[int, int], tuple[int, int]] = {}
    opened: list[tuple[int, int]] = []
    for k, (code, text) in enumerate(segments):
        j = 0
        while not code and j < len(text):
            if text[j] == "\\" and text[j + 1:j + 2] in PUNCT:
                j += 2
                continue
            if text[j] == "[":
                opened.append((k, j))
            elif text[j] == "]" and opened:
                pairs[opened.pop()] = (k, j)
            j += 1
    return pairs


def trim_url(url: str) -> str:
    """Drop what GitHub leaves out of an autolink: trailing punctuation, unmatched ")"."""
    while url:
        unmatched = url[-1] == ")" and url.count(")") > url.count("(")
        if url[-1] in "?!.,:*_~'\"" or unmatched:
            url = url[:-1]
        elif url[-1] == ";" and _TRAILING_ENTITY.search(url):
            url = url[:url.rindex("&")]
        else:
            return url
    return url


def unescape_destination(destination: str) -> str:
    """A link destination as the browser would get it: escapes and references resolved."""
    unescaped = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", destination)
    return decode_entities(unescaped, only_plain=False)


def parse_destination(text: str, p: int) -> tuple[str, int] | None:
    """The raw destination of an inline link whose "(" is at `p`, and where the link ends.

    Longer or deeper destinations are not links to navbot (their "[" is escaped), which keeps
    hostile input like "[](" repeated from costing quadratic time.
    """
    if text[p:p + 1] != "(":
        return None
    limit = min(len(text), p + _MAX_DESTINATION)
    p = _skip_blanks(text, p + 1)
    if text[p:p + 1] == "<":
        q = p + 1
        while q < limit and text[q] not in "<>":
            q += 2 if text[q] == "\\" else 1
        if q >= limit or text[q] != ">":
            return None
        raw, p = text[p + 1:q], q + 1
    else:
        q, depth = p, 0
        while q < limit and text[q] not in " \t":
            if text[q] == "\\" and text[q + 1:q + 2] in PUNCT:
                q += 2
                continue
            if text[q] == ")" and depth == 0:
                break
            depth += {"(": 1, ")": -1}.get(text[q], 0)
            if depth > _MAX_PARENS:
                return None
            q += 1
        if depth or q >= limit:
            return None
        raw, p = text[p:q], q
    p = _skip_blanks(text, p)
    if text[p:p + 1] in ("\"", "'", "("):  # a title, which navbot drops
        closer = ")" if text[p] == "(" else text[p]
        q = p + 1
        while q < limit and text[q] != closer:
            if closer == ")" and text[q] == "(":
                return None
            q += 2 if text[q] == "\\" else 1
        if q >= limit:
            return None
        p = _skip_blanks(text, q + 1)
    return (raw, p + 1) if text[p:p + 1] == ")" else None


def _skip_blanks(text: str, p: int) -> int:
    while text[p:p + 1] in (" ", "\t"):
        p += 1
    return p
