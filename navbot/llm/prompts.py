"""Versioned prompt files and their rendering into chat messages.

Each prompt is `navbot/llm/prompts/<name>.md`, read with :mod:`importlib.resources` so it
ships in the wheel. The format is deliberately small::

    ---
    version: 1
    model: cheap            # cheap | strong: which configured model answers it
    max_tokens: 200         # the reply's token limit
    ---
    system:
    Text of the system message.
    user:
    Text of the user message, with {placeholders}.

The `system:` and `user:` marker lines must appear exactly like that, each on a line of its own,
system first. Placeholders are `{name}` (letters, digits, underscores); `{{` and `}}` stand for
literal braces. Substitution is one pass over the template, so braces inside a value are never
read as placeholders.

Untrusted values (issue text, repository content) go inside delimiter tags the template
writes around them, each tag on a line of its own::

    <issue>
    {issue}
    </issue>

Every tag name standing alone on a template line is a delimiter; occurrences of any delimiter
tag are stripped from every value before substitution, so a value can neither close its block
early nor open a block of its own. (Tags mentioned inside prose, like `a/<path>`, are not
delimiters, and values keep them.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.S)
_SECTIONS = re.compile(r"\Asystem:\n(?P<system>.*?)^user:\n(?P<user>.*)\Z", re.S | re.M)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BLOCK_TAG = re.compile(r"^</?([a-z][a-z0-9_]*)>$", re.M)
_MODEL_ROLES = ("cheap", "strong")


@dataclass(frozen=True)
class Prompt:
    """One versioned prompt: which model answers it, its token limit and its two messages."""

    name: str
    version: int
    model_role: str
    max_tokens: int
    system: str
    user: str

    def __post_init__(self) -> None:
        if self.model_role not in _MODEL_ROLES:
            raise ValueError(f"prompt {self.name}: model must be one of {_MODEL_ROLES}")

    @property
    def delimiters(self) -> frozenset[str]:
        """The tag names that stand on lines of their own around values in the templates."""
        return frozenset(_BLOCK_TAG.findall(self.system + "\n" + self.user))

    def render(self, **values: object) -> list[dict[str, str]]:
        """The system and user chat messages with `values` filled in (neutralised first)."""
        clean = {key: strip_tags(str(value), self.delimiters) for key, value in values.items()}
        return [
            {"role": "system", "content": self._fill(self.system, clean)},
            {"role": "user", "content": self._fill(self.user, clean)},
        ]

    def _fill(self, template: str, values: dict[str, str]) -> str:
        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key is None:
                return match.group(0)[0]
            if key not in values:
                raise KeyError(f"prompt {self.name} needs a value for {{{key}}}")
            return values[key]

        return _PLACEHOLDER.sub(substitute, template)


def strip_tags(value: str, tags: frozenset[str]) -> str:
    """`value` without any opening or closing tag named in `tags` (any case or spacing)."""
    if not tags:
        return value
    names = "|".join(re.escape(tag) for tag in sorted(tags))
    pattern = re.compile(rf"<\s*/?\s*(?:{names})\b[^<>]*>", re.I)
    # Removing one tag can join its neighbours into a new one ("<iss<issue>ue>"), so repeat.
    while True:
        cleaned = pattern.sub("", value)
        if cleaned == value:
            return cleaned
        value = cleaned


def parse_prompt(name: str, text: str) -> Prompt:
    """A Prompt from the text of a prompt file (format in this module's docstring)."""
    text = text.replace("\r\n", "\n")
    front = _FRONT_MATTER.match(text)
    if front is None:
        raise ValueError(f"prompt {name}: missing the --- front matter block")
    meta: dict[str, str] = {}
    for line in front.group("meta").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.split("#", 1)[0].strip()
    sections = _SECTIONS.match(front.group("body").lstrip("\n"))
    if sections is None:
        raise ValueError(f"prompt {name}: expected a 'system:' line, then a 'user:' line")
    try:
        return Prompt(name=name, version=int(meta["version"]), model_role=meta["model"],
                      max_tokens=int(meta["max_tokens"]),
                      system=sections.group("system").strip(),
                      user=sections.group("user").strip())
    except (KeyError, ValueError) as exc:
        raise ValueError(f"prompt {name}: bad front matter ({exc})") from None


@cache
def load_prompt(name: str) -> Prompt:
    """The packaged prompt `navbot/llm/prompts/<name>.md`."""
    resource = resources.files("navbot.llm") / "prompts" / f"{name}.md"
    return parse_prompt(name, resource.read_text(encoding="utf-8"))


def format_candidates(candidates: Sequence[tuple[str, str]]) -> str:
    """Numbered `path — evidence` lines (from 1) for the rerank prompt's {candidates}."""
    return "\n".join(f"{number}. {path} — {' '.join(evidence.split())}"
                     for number, (path, evidence) in enumerate(candidates, start=1))


def format_snippet(path: str, first_line: int, code: str) -> str:
    """A `file:` header and line-numbered code, as the suggest prompt's {snippets} expect."""
    lines = code.splitlines()
    width = len(str(first_line + max(len(lines) - 1, 0)))
    numbered = (f"{number:>{width}}| {line}"
                for number, line in enumerate(lines, start=first_line))
    return "\n".join([f"file: {path}", *numbered])
