"""What navbot reads of a webhook payload, as typed models; and reading the body safely.

The body is bounded before it is parsed (UTF-8, nesting depth), then each handler validates
only the fields it reads with a model of this module, so a payload of the wrong shape is a
`PayloadError` with a one-line reason (a 400) instead of an exception deep in a handler or a
job with an id of the wrong type. Everything else in the payload is ignored, whatever it is.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.state.job import FULL_NAME, MAX_ID, MAX_NUMBER
from navbot.core.errors import NavbotError

#: Arrays and objects nest at most this deep; GitHub's payloads nest less than ten.
MAX_DEPTH = 64
#: The longest comment body read (GitHub allows 65,536 characters).
MAX_BODY_CHARS = 262_144
#: The longest short text read: logins, refs, branch names, associations.
MAX_NAME_CHARS = 255
#: Characters of sender-controlled text a log line shows.
LOG_CHARS = 100

_M = TypeVar("_M", bound=BaseModel)


class PayloadError(NavbotError):
    """A signed delivery's body or fields are not what navbot reads: a 400, never retried."""


def shown(text: str, limit: int = LOG_CHARS) -> str:
    """`text` fit for a log line: quoted and escaped (no newline, control or non-ASCII
    character survives) and cut to `limit` characters."""
    return ascii(text[:limit]) + ("..." if len(text) > limit else "")


# Reading the body ----------------------------------------------------------------------------
# Escapes go first (so an escaped quote cannot end a string), then strings (so brackets in
# them do not count); what is left of the brackets is counted. All of it runs in C, in time
# linear in the body, and never builds the nested structure it measures.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text `body`, without parsing it."""
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", body)).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse_body(body: bytes, mimetype: str) -> dict[str, Any]:
    """The JSON object of a delivery's body; PayloadError when it is not one navbot reads."""
    hint = (" (set the webhook's content type to application/json)"
            if mimetype == "application/x-www-form-urlencoded" else "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: not UTF-8 at byte {exc.start}"
                           f"{hint}") from exc
    # Measured on the bytes first: the parser recurses once per level and would raise
    # RecursionError near 1,000, and anything deeper than a few levels is not GitHub's.
    depth = nesting_depth(body)
    if depth > MAX_DEPTH:
        raise PayloadError(f"body nests arrays and objects {depth} deep; navbot reads at "
                           f"most {MAX_DEPTH}")
    try:
        payload = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and integers of over 4,300 digits
        raise PayloadError(f"body is not valid JSON: {exc}{hint}") from exc
    if not isinstance(payload, dict):
        raise PayloadError(f"payload must be a JSON object, not {type(payload).__name__}")
    return payload


# Field types ---------------------------------------------------------------------------------
def _no_nul(text: str) -> str:
    # NUL ends strings in C and Postgres refuses it. (Lone surrogates, a "\ud800" escape,
    # pydantic refuses by itself: no string of a model holds one.)
    if "\x00" in text:
        raise ValueError("holds a NUL character")
    return text


def _full_name(text: str) -> str:
    if FULL_NAME.fullmatch(text) is None:
        raise ValueError("is not owner/name")
    return text


Id = Annotated[int, Field(gt=0, le=MAX_ID)]
Number = Annotated[int, Field(gt=0, le=MAX_NUMBER)]
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_no_nul)]
Body = Annotated[str, Field(max_length=MAX_BODY_CHARS), AfterValidator(_no_nul)]
FullName = Annotated[str, Field(max_length=201), AfterValidator(_full_name)]
#: GitHub's actions are snake_case words ("created", "new_permissions_accepted").
Action = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


class _Model(BaseModel):
    # Strict: an id sent as "42", 42.0 or true is refused, not converted. Fields navbot does
    # not read are ignored, whatever they hold.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def parse(model: type[_M], payload: dict[str, Any]) -> _M:
    """The payload read as `model`; PayloadError naming the first field that is wrong."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        first = errors[0]
        # Locations are field names and list indexes of the models, never the sender's keys.
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PayloadError(f"{where}: {first['msg']}{more}") from None


# Models --------------------------------------------------------------------------------------
class Envelope(_Model):
    """What every delivery may carry: its action, recorded with the delivery."""

    action: Action | None = None


def action_of(payload: dict[str, Any]) -> str | None:
    """The payload's action (None when it has none); PayloadError when it is not a word."""
    return parse(Envelope, payload).action


class User(_Model):
    """A sender, an issue's author or a commenter."""

    login: Name | None = None
    id: Id | None = None
    type: Name | None = None

    @property
    def is_bot(self) -> bool:
        """Whether this is a bot (an App, Dependabot, navbot itself, …)."""
        return self.type == "Bot" or (self.login or "").endswith("[bot]")


class Sent(_Model):
    """Who sent the event."""

    sender: User | None = None


class Installation(_Model):
    """The App installation the event belongs to."""

    id: Id


class Repository(_Model):
    """A repository, in an event or in an installation's list."""

    id: Id
    full_name: FullName


class PushedRepository(Repository):
    """The repository of a push, whose default branch decides whether the index moves."""

    default_branch: Name


class Issue(_Model):
    """The issue of an `issues` or `issue_comment` event."""

    number: Number
    pull_request: dict[str, Any] | None = None
    user: User | None = None

    @property
    def is_pull_request(self) -> bool:
        """Whether the issue is a pull request (GitHub sends PRs as issues in places)."""
        return bool(self.pull_request)


class Comment(_Model):
    """A new issue comment."""

    id: Id
    body: Body | None = None
    author_association: Name | None = None
    user: User | None = None


class PullRequest(_Model):
    """The pull request of a `pull_request` event."""

    merged: bool | None = None


class RepositoryEvent(_Model):
    """An event about one repository of an installation."""

    installation: Installation
    repository: Repository


class IssueEvent(RepositoryEvent):
    """An event about one issue of a repository."""

    issue: Issue


class IssuesEvent(IssueEvent):
    """`issues`: opened, reopened, edited (with what changed)."""

    action: Action
    changes: dict[str, Any] | None = None


class IssueCommentEvent(IssueEvent):
    """`issue_comment.created`."""

    comment: Comment


class PushEvent(RepositoryEvent):
    """`push`: which ref moved, and whether it was deleted."""

    repository: PushedRepository
    ref: Name | None = None
    deleted: bool | None = None


class PullRequestEvent(RepositoryEvent):
    """`pull_request.closed`."""

    pull_request: PullRequest


class InstallationEvent(_Model):
    """`installation`: created, deleted, suspended, unsuspended."""

    action: Action
    installation: Installation


class InstallationRepositoriesEvent(InstallationEvent):
    """`installation_repositories`: repositories added to or removed from an installation."""

    repositories_added: list[Repository] | None = None
    repositories_removed: list[Repository] | None = None
