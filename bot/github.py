"""navbot's GitHub access: App authentication and the few REST calls the bot makes.

The only module that talks to GitHub's API. PyGithub objects become the plain dataclasses of
bot.github_data (re-exported here), PyGithub and requests errors become navbot errors, and no
token ever reaches a message.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from github import Auth, Github, GithubRetry
from github.GithubException import (
    GithubException,
    RateLimitExceededExceedsMaxWait,
    UnknownObjectException,
)
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from github.Requester import Requester
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse

from bot.github_data import (
    CommentData,
    IssueData,
    ItemData,
    RepoRef,
    comment_data,
    issue_data,
    repo_ref,
)
from indexer.refs import issue_refs
from navbot.config import Settings
from navbot.errors import GitHubAuthError, GitHubError, RateLimitedError
from navbot.job import MAINTAINER_ASSOCIATIONS

__all__ = ["CommentData", "GitHubApp", "InstallationClient", "IssueData", "ItemData",
           "RepoClient", "RepoRef"]

JWT_BACKDATE_S = 60  # GitHub's advice against clock drift
JWT_LIFETIME_S = 9 * 60  # GitHub refuses JWTs living longer than 10 minutes
TOKEN_REFRESH_MARGIN_S = 5 * 60
MAX_RATE_LIMIT_WAIT_S = 60.0
RETRIES = 5
TIMEOUT_S = 30
WRITE_SPACING_S = 1.0  # GitHub asks integrations to space content-creating requests
_API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_KEY_HINT = "set NAVBOT_PRIVATE_KEY (the PEM text) or NAVBOT_PRIVATE_KEY_PATH (a .pem file)"
_FOCUS = re.compile(r"/navbot\s+focus\b(.*)", re.IGNORECASE | re.DOTALL)


class _BoundedRetry(GithubRetry):
    """PyGithub's retry, but a Retry-After beyond the wait bound fails at once instead of
    blocking a worker: the job queue reschedules the job."""

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        wait = self.get_retry_after(response)
        bound = self.max_rate_limit_wait
        if wait is not None and bound is not None and wait > bound:
            raise RateLimitExceededExceedsMaxWait(
                response.status, {"message": "Retry-After exceeds the wait bound"},
                dict(response.headers), wait=wait)
        return super().sleep_for_retry(response)


def _retry() -> _BoundedRetry:
    # raise_on_status=False: once retries run out, the last response becomes a GithubException
    # carrying GitHub's status, message and headers rather than an opaque RetryError.
    # POST is not retried here: a 5xx on "create comment" may come after GitHub stored the
    # comment, and a blind retry would post it twice. The job retries instead, and it looks
    # for navbot's comment by its marker before creating one.
    return _BoundedRetry(total=RETRIES, backoff_factor=0.5, raise_on_status=False,
                         max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_S,
                         allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE",
                                                    "OPTIONS"}))


def _rate_limit_wait(status: int, message: str, headers: Mapping[str, Any]) -> float | None:
    """Seconds GitHub asks us to wait, or None when the error is no rate limit."""
    lower = {key.lower(): str(value) for key, value in headers.items()}
    limited = status == 429 or (status == 403 and (
        Requester.isRateLimitError(message) or "retry-after" in lower
        or lower.get("x-ratelimit-remaining") == "0"))
    if not limited:
        return None
    retry_after = lower.get("retry-after", "").strip()
    if retry_after.isdigit():
        return max(1.0, float(retry_after))
    reset = lower.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(1.0, int(reset) - time.time() + 1)
    return MAX_RATE_LIMIT_WAIT_S


def _converted(exc: GithubException, doing: str) -> GitHubError:
    data = exc.data
    message = str(data.get("message", "")) if isinstance(data, dict) else str(data or "")
    if isinstance(exc, RateLimitExceededExceedsMaxWait) and exc.wait is not None:
        wait: float | None = exc.wait
    else:
        wait = _rate_limit_wait(exc.status, message, exc.headers or {})
    if wait is not None:
        return RateLimitedError(
            f"GitHub rate limit while {doing} ({exc.status} {message}); retry in {wait:.0f}s",
            retry_after=wait)
    if exc.status == 401:
        return GitHubAuthError(
            f"GitHub refused the App's credentials while {doing} (401 {message}); check "
            f"NAVBOT_APP_ID and the private key (NAVBOT_PRIVATE_KEY / NAVBOT_PRIVATE_KEY_PATH)")
    return GitHubError(f"GitHub answered {exc.status} while {doing}: {message}")


@contextmanager
def _github_call(doing: str) -> Iterator[None]:
    """Turn PyGithub and requests errors raised inside into navbot errors."""
    try:
        yield
    except GithubException as exc:
        raise _converted(exc, doing) from exc
    except requests.RequestException as exc:
        raise GitHubError(f"could not reach GitHub while {doing}: {exc}") from exc


def _load_private_key(settings: Settings) -> RSAPrivateKey:
    """The App's RSA key from NAVBOT_PRIVATE_KEY or the file NAVBOT_PRIVATE_KEY_PATH."""
    if settings.private_key is not None:
        source, pem = "NAVBOT_PRIVATE_KEY", settings.private_key.get_secret_value()
        # Keys pasted into one-line environment variables often carry literal "\n".
        if "\n" not in pem.strip():
            pem = pem.replace("\\n", "\n")
    elif settings.private_key_path is not None:
        source = f"NAVBOT_PRIVATE_KEY_PATH ({settings.private_key_path})"
        try:
            pem = settings.private_key_path.read_text()
        except OSError as exc:
            raise GitHubAuthError(f"cannot read the App's private key from {source}: "
                                  f"{exc.strerror}; {_KEY_HINT}") from None
    else:
        raise GitHubAuthError(f"the GitHub App's private key is not configured: {_KEY_HINT}")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise GitHubAuthError(f"{source} does not hold an unencrypted PEM private key; "
                              "download one from the App's settings page") from None
    if not isinstance(key, RSAPrivateKey):
        raise GitHubAuthError(f"{source} is not an RSA key; GitHub Apps sign with RS256")
    return key


def _github(api_url: str, auth: Auth.Auth) -> Github:
    return Github(auth=auth, base_url=api_url, retry=_retry(), per_page=100, timeout=TIMEOUT_S,
                  user_agent="navbot", seconds_between_requests=None,
                  seconds_between_writes=WRITE_SPACING_S, lazy=True)


class GitHubApp:
    """The GitHub App: signs JWTs, trades them for installation tokens, hands out clients.

    Credentials are checked on first use, so building one never fails; `jwt()` raises
    GitHubAuthError naming the NAVBOT_ variables to set.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.api_url = settings.github_api_url.rstrip("/")
        self._settings = settings
        self._clock = clock
        self._key: RSAPrivateKey | None = None
        self._tokens: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.mount("http://", HTTPAdapter(max_retries=_retry()))
        self._session.mount("https://", HTTPAdapter(max_retries=_retry()))

    def jwt(self) -> str:
        """A fresh RS256 JWT identifying the App (valid nine minutes)."""
        if self._settings.app_id is None:
            raise GitHubAuthError("the GitHub App id is not configured: set NAVBOT_APP_ID")
        if self._key is None:
            self._key = _load_private_key(self._settings)
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE_S, "exp": now + JWT_LIFETIME_S,
                  "iss": str(self._settings.app_id)}
        return pyjwt.encode(claims, self._key, algorithm="RS256")

    def installation_token(self, installation_id: int) -> str:
        """An access token of the installation, reused until five minutes before it expires."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock() < cached[1] - TOKEN_REFRESH_MARGIN_S:
                return cached[0]
            token, expires_at = self._create_token(installation_id)
            self._tokens[installation_id] = (token, expires_at)
            return token

    def installation(self, installation_id: int) -> InstallationClient:
        """A client acting as the installation."""
        return InstallationClient(self, installation_id)

    def _create_token(self, installation_id: int) -> tuple[str, float]:
        # Plain requests rather than PyGithub: PyGithub's debug log prints response bodies,
        # and this body is the token.
        doing = f"creating an access token for installation {installation_id}"
        url = f"{self.api_url}/app/installations/{installation_id}/access_tokens"
        with _github_call(doing):
            headers = {**_API_HEADERS, "Authorization": f"Bearer {self.jwt()}"}
            response = self._session.post(url, headers=headers, timeout=TIMEOUT_S)
            if response.status_code >= 400:
                raise GithubException(response.status_code, _json_or_text(response),
                                      dict(response.headers))
            data = response.json()
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        return str(data["token"]), expires_at.timestamp()


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:200]}


class _InstallationTokenAuth(Auth.Auth):
    """Authorizes each request with the installation's current token from the App's cache."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self._app = app
        self._installation_id = installation_id

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._app.installation_token(self._installation_id)


class InstallationClient:
    """The API as one installation of the App sees it."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self.installation_id = installation_id
        self._app = app
        self._github = _github(app.api_url, _InstallationTokenAuth(app, installation_id))

    def token(self) -> str:
        """A token valid for at least five more minutes (for git over HTTPS)."""
        return self._app.installation_token(self.installation_id)

    def repositories(self) -> list[RepoRef]:
        """Every repository the installation may access."""
        with _github_call(f"listing the repositories of installation {self.installation_id}"):
            listing = PaginatedList(Repository, self._github.requester,
                                    "/installation/repositories", None,
                                    list_item="repositories")
            return [repo_ref(repo) for repo in listing]

    def repo(self, full_name: str) -> RepoClient:
        """A client for one repository ("owner/name")."""
        return RepoClient(self._github, full_name)


class RepoClient:
    """The calls navbot makes on one repository."""

    def __init__(self, github: Github, full_name: str) -> None:
        self.full_name = full_name
        self._github = github
        self._repo = github.get_repo(full_name)  # lazy: no request until an attribute is read

    def ref(self) -> RepoRef:
        """The repository's id, default branch and clone URL, fetched now."""
        with _github_call(f"reading {self.full_name}"):
            return repo_ref(self._github.get_repo(self.full_name))

    def issue(self, number: int) -> IssueData:
        """Issue (or pull request) `number`."""
        with _github_call(f"reading {self.full_name}#{number}"):
            return issue_data(self._repo.get_issue(number))

    def find_comment(self, number: int, marker: str) -> CommentData | None:
        """The first comment written by a bot whose body contains `marker`, or None.

        Anyone can type the marker; only a bot's comment (the App's) can be navbot's.
        """
        with _github_call(f"reading the comments of {self.full_name}#{number}"):
            for comment in self._repo.get_issue(number).get_comments():
                if marker in (comment.body or "") and comment.user.type == "Bot":
                    return comment_data(comment)
        return None

    def maintainer_notes(self, number: int, since: datetime) -> list[str]:
        """Comments maintainers wrote on the issue since `since`, oldest first.

        A maintainer is the repository's owner, a member or a collaborator. A note is a plain
        comment (a correction) or the text of `/navbot focus …`; other commands are requests,
        not notes, and are left out.
        """
        notes = []
        with _github_call(f"reading the comments of {self.full_name}#{number}"):
            for comment in self._repo.get_issue(number).get_comments(since=since):
                body = (comment.body or "").strip()
                if (comment.user.type == "Bot" or comment.created_at < since
                        or comment.raw_data.get("author_association")
                        not in MAINTAINER_ASSOCIATIONS):
                    continue
                focus = _FOCUS.match(body)
                if focus is not None:
                    notes.append(focus.group(1).strip())
                elif not body.lower().startswith("/navbot"):
                    notes.append(body)
        return notes

    def create_comment(self, number: int, body: str) -> int:
        """Comment on the issue; returns the new comment's id."""
        with _github_call(f"commenting on {self.full_name}#{number}"):
            return self._repo.get_issue(number).create_comment(body).id

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Replace the body of an issue comment."""
        with _github_call(f"editing comment {comment_id} in {self.full_name}"):
            self._github.requester.requestJsonAndCheck(
                "PATCH", f"/repos/{self.full_name}/issues/comments/{comment_id}",
                input={"body": body})

    def react(self, comment_id: int, content: str) -> None:
        """Add a reaction ("+1", "eyes", …) to an issue comment."""
        with _github_call(f"reacting to comment {comment_id} in {self.full_name}"):
            self._github.requester.requestJsonAndCheck(
                "POST", f"/repos/{self.full_name}/issues/comments/{comment_id}/reactions",
                input={"content": content})

    def file_text(self, path: str, ref: str | None = None) -> str | None:
        """A file's text at `ref` (default branch when None); None when there is no such file."""
        with _github_call(f"reading {path} in {self.full_name}"):
            try:
                found = (self._repo.get_contents(path, ref=ref) if ref
                         else self._repo.get_contents(path))
            except UnknownObjectException:
                return None
            # Directories come back as lists; files over 1 MB without inline content.
            if isinstance(found, list) or found.type != "file" or found.encoding != "base64":
                return None
            return found.decoded_content.decode("utf-8", errors="replace")

    def items_since(self, since: datetime | None) -> Iterator[ItemData]:
        """Issues and pull requests updated at or after `since` (all when None), oldest first."""
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
        if since is not None:
            moment = since if since.tzinfo else since.replace(tzinfo=UTC)
            params["since"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with _github_call(f"listing the issues of {self.full_name}"):
            # Plain issues have no "pull_request" key; without a default, reading it would
            # make PyGithub fetch every such issue again.
            listing = PaginatedList(Issue, self._github.requester,
                                    f"/repos/{self.full_name}/issues", params,
                                    attributesTransformer=_with_issue_defaults)
            for issue in listing:
                yield self._item(issue)

    def _item(self, issue: Issue) -> ItemData:
        merged = False
        closes: tuple[int, ...] = ()
        files: tuple[str, ...] = ()
        if issue.pull_request is not None:
            pull = self._repo.get_pull(issue.number)
            merged = bool(pull.merged)
            if merged:
                files = tuple(changed.filename for changed in pull.get_files())
            text = f"{issue.title}\n{issue.body or ''}"
            closes = tuple(sorted({ref.number for ref in issue_refs(text, repo=self.full_name,
                                                                    skip=issue.number)
                                   if ref.closing and ref.repo is None}))
        return ItemData(
            number=issue.number, kind="pr" if issue.pull_request is not None else "issue",
            title=issue.title, body=issue.body or "", state=issue.state,
            state_reason=issue.state_reason,
            labels=tuple(label.name for label in issue.labels), author=issue.user.login,
            updated_at=issue.updated_at, merged=merged, closes=closes, files=files)


def _with_issue_defaults(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"pull_request": None, "state_reason": None, **attributes}
