"""Whether the files may be posted, and why not: the one rule, a pure function.

Two questions, in order. Is the issue about this code at all (the aboutness model, fitted on
issues against their own repository and on issues no file of it answers)? Then, is navbot
confident about which file (the confidence model, fitted on whether the listed files were
right)? Before either, something other than embeddings must have matched: a word or name
of the issue in the code, since embeddings rank some file for any text. `navbot ask`, the
eval, calibration and the App's compose stage all ask this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Signals that fire only when the issue's own words or names occur in the code.
LEXICAL_SIGNALS = ("file_lexical", "symbol_lexical", "mention")


class Silence(StrEnum):
    """Why the files stay unposted."""

    NO_FILE = "no file matches the issue"
    NO_TERM = "no term of the issue occurs in the code"
    NOT_ABOUT = "not about this code"
    NOT_CONFIDENT = "not confident about which file"


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on the files, with its reason in a maintainer's words."""

    post: bool
    silence: Silence | None
    reason: str


def lexical_fired(signals: dict[str, dict[str, int]]) -> bool:
    """Whether a lexical or mention signal ranked anything (not embeddings alone)."""
    return any(signals.get(name) for name in LEXICAL_SIGNALS)


def files_verdict(has_files: bool, lexical: bool, about: float, about_threshold: float,
                  confidence: float, threshold: float, source: str = "") -> Verdict:
    """Whether the files clear: a match beyond embeddings, aboutness, then confidence."""
    where = f" ({source})" if source else ""
    if not has_files:
        return Verdict(False, Silence.NO_FILE, Silence.NO_FILE.value)
    if not lexical:
        return Verdict(False, Silence.NO_TERM, Silence.NO_TERM.value)
    if about < about_threshold:
        return Verdict(False, Silence.NOT_ABOUT,
                       f"{Silence.NOT_ABOUT.value}: aboutness {about:.2f} < "
                       f"{about_threshold:.2f}")
    if confidence < threshold:
        return Verdict(False, Silence.NOT_CONFIDENT,
                       f"{Silence.NOT_CONFIDENT.value}: confidence {confidence:.2f} < "
                       f"{threshold:.2f}{where}")
    return Verdict(True, None, f"confidence {confidence:.2f} >= {threshold:.2f}{where}")
