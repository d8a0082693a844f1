"""Deciding whether to analyse an issue and what to do with the one comment: pure functions.

Silence is the default. An issue event analyses only in auto or shadow mode, only when the
text is new or changed materially, and never after `/navbot stop`. A comment is created once,
edited only when the answer changed, and never deleted; an explicit `/navbot` always gets an
answer. Two things withhold any write: the kill switch (`navbot pause`, `NAVBOT_PAUSED`), and
shadow mode, where only a maintainer's explicit `/navbot` is answered on the issue.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from bot.state.job import COMMANDS
from bot.state.records import ALL_REPOSITORIES, Thread
from navbot.core.config import RepoMode

#: What happens to the one comment; `withheld` is a create or edit that a pause or shadow
#: mode kept from being written.
CommentAction = Literal["create", "edit", "unchanged", "silent", "withheld"]
#: The actions that write to GitHub.
WRITES: frozenset[CommentAction] = frozenset({"create", "edit"})

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CHECKBOX = re.compile(r"^\s*[-*]\s+\[[ xX]\]", re.MULTILINE)
_PUNCTUATION = re.compile(r"[^\w\s]")


def text_fingerprint(title: str, body: str) -> str:
    """A hash of what an issue says, blind to edits that change nothing material.

    Case, whitespace, punctuation, hidden template comments and ticked checkboxes do not
    change what the issue is about, so editing only them does not re-run navbot.
    """
    text = _CHECKBOX.sub(" ", _HTML_COMMENT.sub(" ", f"{title}\n{body}"))
    words = _PUNCTUATION.sub(" ", text.lower()).split()
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]


def is_explicit(trigger: str) -> bool:
    """Whether `trigger` is a `/navbot` command that asks for an answer (every one but stop).

    An explicit request always gets a comment, even when navbot is not confident or thinks
    the issue is not about this code; the pipeline's compose stage and the comment plan ask
    this one function.
    """
    return trigger in COMMANDS and trigger != "stop"


@dataclass(frozen=True)
class Go:
    """Whether to analyse, and why not when not."""

    analyse: bool
    reason: str


def effective_mode(configured: RepoMode | None, default: RepoMode) -> RepoMode:
    """The repository's mode: its `.github/navbot.yml`'s, else the installation's default."""
    return configured if configured is not None else default


def should_analyse(trigger: str, mode: RepoMode, thread: Thread, text_hash: str,
                   is_open: bool = True) -> Go:
    """Whether a trigger on an issue warrants a run of the analysis."""
    if trigger == "stop":
        return Go(False, "stopped by /navbot stop")
    if trigger in COMMANDS:
        return Go(True, f"/navbot {trigger}")
    if not is_open:
        return Go(False, "the issue is closed")
    if mode == "on-demand":
        return Go(False, "the repository is in on-demand mode")
    if thread.stopped:
        return Go(False, "navbot was stopped on this issue")
    if thread.text_hash == text_hash and thread.outcome is not None:
        return Go(False, "the issue's text has not changed materially since the last run")
    return Go(True, f"issue {trigger}")


@dataclass(frozen=True)
class CommentPlan:
    """What to do with the one comment: create, edit, leave as it is, or stay silent."""

    action: CommentAction
    reason: str


def plan_comment(trigger: str, cleared: frozenset[str], fingerprint: str, thread: Thread,
                 existing_comment: int | None) -> CommentPlan:
    """Decide the comment's fate from the sections that cleared their gates."""
    if not cleared and not is_explicit(trigger):
        if existing_comment is not None:
            # Withdrawing an earlier answer would be another notification; leave it be.
            return CommentPlan("unchanged", "no section cleared its gate; earlier comment kept")
        return CommentPlan("silent", "no section cleared its gate")
    if existing_comment is None:
        return CommentPlan("create", "first answer on this issue")
    if thread.answer_hash == fingerprint:
        return CommentPlan("unchanged", "the answer is the same as the one posted")
    return CommentPlan("edit", "the answer changed")


def pause_reason(paused_by_setting: bool, paused: Collection[str], full_name: str
                 ) -> str | None:
    """Why every write on `full_name` is stopped by the kill switch, or None when it is not.

    `paused` holds the scopes `navbot pause` recorded: lower-cased names, or ALL_REPOSITORIES.
    """
    if paused_by_setting:
        return "paused by NAVBOT_PAUSED"
    if ALL_REPOSITORIES in paused:
        return "paused for every repository (navbot pause --all)"
    if full_name.lower() in paused:
        return f"paused on {full_name} (navbot pause {full_name})"
    return None


def withhold_reason(mode: RepoMode, trigger: str, maintainer: bool, paused: str | None
                    ) -> str | None:
    """Why this run must not write its comment, or None when it may.

    The kill switch wins over everything, a maintainer's `/navbot` included. In shadow mode
    only a maintainer's explicit request is answered on the issue: anyone else's is analysed
    and kept, as every issue event is.
    """
    if paused is not None:
        return paused
    if mode == "shadow" and not (maintainer and is_explicit(trigger)):
        return "shadow mode"
    return None


def hold_back(plan: CommentPlan, withheld: str | None) -> CommentPlan:
    """The plan once `withhold_reason` is applied: a create or edit becomes `withheld`."""
    if withheld is None or plan.action not in WRITES:
        return plan
    verb = "created" if plan.action == "create" else "edited"
    return CommentPlan("withheld", f"{withheld}: would have {verb} the comment ({plan.reason})")


def thread_after_stop(thread: Thread) -> Thread:
    """The thread once `/navbot stop` was said: no more runs until a command asks again."""
    return replace(thread, stopped=True, outcome="stopped", reason="/navbot stop")


def thread_after_skip(thread: Thread, trigger: str, reason: str) -> Thread | None:
    """The thread after an analysis was not run, or None when it stays as it is.

    Only an issue's first event is recorded as skipped: a skipped command, or a skip after a
    run, must not hide the outcome of the last run.
    """
    if trigger in COMMANDS or thread.outcome is not None:
        return None
    return replace(thread, outcome="skipped", reason=reason)


@dataclass(frozen=True)
class Answered:
    """What a finished post stage did, as the thread record keeps it."""

    action: CommentAction
    reason: str
    comment_id: int | None
    fingerprint: str
    confidence: float | None
    thumbs_up: int = 0
    thumbs_down: int = 0


def thread_after_answer(thread: Thread, trigger: str, text_hash: str,
                        answered: Answered) -> Thread:
    """The thread after a run's post stage: its comment, outcome and the text it answered.

    A command lifts an earlier `/navbot stop`; a silent or withheld run keeps the fingerprint
    of the answer still shown, so an unchanged answer later is not posted again and a
    withheld one is posted once writes are allowed.
    """
    return replace(
        thread, comment_id=answered.comment_id, text_hash=text_hash,
        answer_hash=(answered.fingerprint if answered.action not in ("silent", "withheld")
                     else thread.answer_hash),
        stopped=False if trigger in COMMANDS else thread.stopped,
        outcome=answered.action, reason=answered.reason, confidence=answered.confidence,
        thumbs_up=answered.thumbs_up if answered.comment_id else thread.thumbs_up,
        thumbs_down=answered.thumbs_down if answered.comment_id else thread.thumbs_down)
