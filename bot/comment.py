"""The one comment navbot keeps on an issue: what it shows, and how it is written.

The worker fills an :class:`Answer` from retrieval; :func:`compose` turns it into the comment
body (sanitised, with a hidden marker so the App finds its comment again), and
:func:`answer_fingerprint` says whether a new answer says anything different from the last.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import quote

from bot.also_change import AlsoChange
from bot.sanitize import TRUNCATED_NOTICE, sanitize

MARKER = "<!-- navbot:answer -->"
MAX_COMMENT_CHARS = 20_000  # GitHub allows 65,536; a longer answer would not be read anyway
MAX_RELATED_PER_GROUP = 5
SECTIONS = frozenset({"files", "related", "changes"})

HELP_TEXT = """\
**navbot commands** (comment them on the issue):
- `/navbot` looks for the code this issue is about, and answers even when not confident
- `/navbot rerun` looks again, for example after the issue was edited
- `/navbot help` shows this help
- `/navbot stop` stops navbot on this issue"""

LEAD = ("navbot looked for the code this issue is about. These are leads to check, "
        "not answers, and they may be wrong.")

# Group headings in the order shown; "duplicate" never appears without "possible".
RELATED_GROUPS = (
    ("open", "Open (possible duplicates)"),
    ("fixed", "Fixed before (possible regression)"),
    ("not_planned", "Closed as not planned"),
    ("commit", "Past fixes in history"),
)


@dataclass(frozen=True)
class FileHit:
    """A file that looks relevant, with why."""

    path: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class SymbolHit:
    """A definition where a change might go, with its line span and why."""

    name: str
    path: str
    lines: tuple[int, int]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class RelatedItem:
    """A past issue, pull request or fixing commit that resembles this issue."""

    number: int  # 0 for a commit found in history without an issue or PR
    title: str  # for a commit, its title
    kind: str  # "issue" | "pr"
    group: str  # "open" | "fixed" | "not_planned" | "commit"
    evidence: tuple[str, ...]
    fixed_by: tuple[int, ...] = ()  # PR numbers
    fixes: tuple[str, ...] = ()  # for a commit: the issues it closed ("#3")


@dataclass(frozen=True)
class Answer:
    """Everything one comment shows; evidence strings are markdown, titles plain text."""

    repo_full_name: str
    default_branch: str
    index_commit: str
    index_age_s: float  # seconds between the indexed commit's time and now
    confidence: float
    files: tuple[FileHit, ...]
    symbols: tuple[SymbolHit, ...]
    related: tuple[RelatedItem, ...]
    sections: frozenset[str]  # subset of SECTIONS
    max_files: int = 5
    note: str | None = None  # e.g. on an explicit /navbot when not confident
    help: bool = False  # append HELP_TEXT
    also: tuple[AlsoChange, ...] = ()  # other places that may need to change
    plan: str | None = None  # an LLM's short plan, shown with the changes section
    diff: str | None = None  # a validated unified diff sketch
    track_record: str | None = None  # calibration's "right X% of the time" sentence


@dataclass(frozen=True)
class _Shown:
    files: tuple[FileHit, ...]
    symbols: tuple[SymbolHit, ...]
    related: tuple[tuple[str, tuple[RelatedItem, ...]], ...]  # (heading, items) per group


def _shown(answer: Answer) -> _Shown:
    """What of `answer` the comment actually shows, after sections and limits."""
    files = answer.files[:answer.max_files] if "files" in answer.sections else ()
    symbols = answer.symbols[:answer.max_files] if "changes" in answer.sections else ()
    related: list[tuple[str, tuple[RelatedItem, ...]]] = []
    if "related" in answer.sections:
        for group, heading in RELATED_GROUPS:
            items = tuple(item for item in answer.related if item.group == group)
            if items:
                related.append((heading, items[:MAX_RELATED_PER_GROUP]))
    return _Shown(files, symbols, tuple(related))


def compose(answer: Answer, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """The full comment body for `answer`: sanitised markdown, then MARKER."""
    shown = _shown(answer)
    repo = answer.repo_full_name
    parts = [LEAD]
    if answer.note:
        parts.append(answer.note)
    if shown.files:
        parts.append(_files_section(answer, shown.files))
    if shown.related:
        parts.append(_related_section(repo, shown.related))
    if shown.symbols:
        parts.append(_changes_section(answer, shown.symbols))
    # The footer is sanitised on its own so that a long answer is cut, never the footer.
    footer = _footer(answer) + ("\n\n" + HELP_TEXT if answer.help else "")
    safe_footer = sanitize(footer, repo)
    budget = max_chars - len(safe_footer) - len(MARKER) - 4
    body = sanitize("\n\n".join(parts), repo, max_chars=max(budget, 8 * len(TRUNCATED_NOTICE)))
    return f"{body}\n\n{safe_footer}\n\n{MARKER}"


def answer_fingerprint(answer: Answer) -> str:
    """A short hash of what the comment says, blind to the index commit, its age and scores."""
    shown = _shown(answer)
    said = {
        "sections": sorted(answer.sections & SECTIONS),
        "files": sorted(hit.path for hit in shown.files),
        "symbols": sorted([hit.path, hit.name] for hit in shown.symbols),
        "related": sorted([item.group, item.kind, item.number,
                           item.title if item.number == 0 else "", sorted(item.fixed_by)]
                          for _, items in shown.related for item in items),
        "note": answer.note,
        "help": answer.help,
        "also": sorted([a.path, a.kind] for a in answer.also) if shown.symbols else [],
        "plan": answer.plan if shown.symbols else None,
        "diff": answer.diff if shown.symbols else None,
    }
    encoded = json.dumps(said, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def has_marker(body: str, marker: str = MARKER) -> bool:
    """Whether `body` is a comment navbot composed (`marker` closes it; quoting it is not)."""
    return body.rstrip().endswith(marker)


def age_in_words(seconds: float) -> str:
    """A rough, human age such as "3 hours old"."""
    seconds = max(0.0, seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        count = int(seconds // size)
        if count >= 1:
            return f"{count} {unit}{'' if count == 1 else 's'} old"
    return "less than a minute old"


def _files_section(answer: Answer, files: tuple[FileHit, ...]) -> str:
    lines = ["### Relevant files", ""]
    for hit in files:
        url = _blob_url(answer, hit.path)
        lines.append(f"- [{_code(hit.path)}]({url})")
        lines.extend(_why(hit.evidence))
    return _joined(lines)


def _related_section(repo: str,
                     groups: tuple[tuple[str, tuple[RelatedItem, ...]], ...]) -> str:
    lines = ["### Related issues and PRs"]
    for heading, items in groups:
        if lines[-1]:
            lines.append("")
        lines.extend([f"**{heading}**", ""])
        for item in items:
            lines.append("- " + _related_line(repo, item))
            lines.extend(_why(item.evidence))
    return _joined(lines)


def _related_line(repo: str, item: RelatedItem) -> str:
    title = _plain(item.title)
    if item.number > 0:
        title = f"{_issue_link(repo, item.number)} {title}"
    if item.kind == "pr" and item.group != "commit":
        title += " (pull request)"
    if item.fixed_by:
        fixes = ", ".join(_issue_link(repo, number) for number in item.fixed_by)
        title += f", fixed {'by' if item.group == 'fixed' else 'in'} {fixes}"
    return title


def _changes_section(answer: Answer, symbols: tuple[SymbolHit, ...]) -> str:
    lines = ["### Where the change might go", "",
             "A starting point, not a patch: the definitions that look closest to the issue.",
             ""]
    for hit in symbols:
        start, end = hit.lines
        anchor = f"#L{start}" if start == end else f"#L{start}-L{end}"
        span = f"line {start}" if start == end else f"lines {start} to {end}"
        lines.append(f"- [{_code(hit.name)}]({_blob_url(answer, hit.path)}{anchor}) "
                     f"in {_code(hit.path)}, {span}")
        lines.extend(_why(hit.evidence))
    if answer.plan:
        lines += ["", "**A possible approach**, written by a language model from the code "
                  "above: a starting point to check, never a patch to paste.", "",
                  _plain_block(answer.plan)]
    if answer.diff:
        fence = "`" * max(3, _longest_backtick_run(answer.diff) + 1)
        lines += ["", f"<details><summary>A sketch of the diff (it applies to "
                  f"{answer.index_commit[:7]}; not run or tested)</summary>", "",
                  f"{fence}diff", answer.diff.rstrip("\n"), fence, "", "</details>"]
    if answer.also:
        lines += ["", "**What else may need to change**", ""]
        lines += [f"- {_code(item.path)}: {_plain(item.reason)}" for item in answer.also]
    return _joined(lines)


def _plain_block(text: str) -> str:
    """Model-written text as plain lines: bullets kept, nothing else of markdown trusted."""
    out = []
    for line in text.strip().splitlines():
        bullet = line.lstrip().startswith(("- ", "* "))
        words = _plain(line.lstrip()[2:] if bullet else line.strip())
        if words:
            out.append(f"- {words}" if bullet else words)
    return "\n".join(out)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _footer(answer: Answer) -> str:
    repo, commit = answer.repo_full_name, answer.index_commit
    indexed = f"[{commit[:7]}](https://github.com/{repo}/commit/{quote(commit, safe='')})"
    return ("---\n\n"
            f"Indexed at {indexed}, {age_in_words(answer.index_age_s)}.\n"
            + (f"{_plain(answer.track_record)}\n" if answer.track_record else "")
            + "React with 👍 or 👎 to tell us whether this helped.\n"
            "Comment `/navbot rerun` to look again, or `/navbot stop` to stop navbot here.")


def _joined(lines: list[str]) -> str:
    return "\n".join(lines).rstrip("\n")


def _why(evidence: tuple[str, ...]) -> list[str]:
    """Evidence as a folded list under the item above (indented into its list item).

    The blank line after </details> ends GitHub's raw-HTML block, so the next item is markdown.
    """
    if not evidence:
        return []
    lines = ["  <details><summary>why</summary>", ""]
    lines.extend(f"  - {_one_line(reason)}" for reason in evidence)
    lines.extend(["", "  </details>", ""])
    return lines


def _blob_url(answer: Answer, path: str) -> str:
    return (f"https://github.com/{answer.repo_full_name}/blob/"
            f"{quote(answer.index_commit, safe='')}/{quote(path)}")


def _issue_link(repo: str, number: int) -> str:
    return f"[#{number}](https://github.com/{repo}/issues/{number})"


def _one_line(markdown: str) -> str:
    """`markdown` on one line that cannot start a heading, list or quote of its own."""
    text = " ".join(markdown.split())
    if text[:1] in ("#", ">", "-", "+", "*", "=", "|"):
        return "\\" + text
    digits = len(text) - len(text.lstrip("0123456789"))
    if 0 < digits < 10 and text[digits:digits + 1] in (".", ")"):
        return text[:digits] + "\\" + text[digits:]
    return text


def _plain(text: str) -> str:
    """`text` shown exactly as written: nothing in it is read as markdown, HTML or math."""
    escaped = "".join("\\" + char if char in "\\`*_[]<|~#!&$" else char
                      for char in " ".join(text.split()))
    return _one_line(escaped)


def _code(text: str) -> str:
    """`text` as an inline code span, whatever backticks it holds."""
    text = " ".join(text.splitlines())
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
