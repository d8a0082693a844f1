"""navbot's GitHub access: App authentication and the few REST calls the bot makes.

The only module that talks to GitHub's API. PyGithub objects become the plain dataclasses of
bot.github_data (re-exported here), PyGithub and requests errors become navbot errors
(bot.github_http), and no token ever reaches a message. Credentials go only where
bot.token_hosts allows.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import jwt as pyjwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from github import Auth, Github, GithubIntegration
from github.GithubException import GithubException, UnknownObjectException
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from requests import Session
from requests.adapters import HTTPAdapter

from bot.comment import has_marker
from bot.github_data import (
    CommentData,
    IssueData,
    ItemData,
    RepoRef,
    comment_data,
    issue_data,
    repo_ref,
)
from bot.github_http import (
    API_HEADERS,
    PER_PAGE,
    TIMEOUT_S,
    github_call,
    json_or_text,
    new_github,
    retry_policy,
)
from bot.state.job import MAINTAINER_ASSOCIATIONS
from bot.token_hosts import TokenHosts
from indexer.refs import issue_refs
from navbot.core.config import Settings
from navbot.core.errors import GitHubAuthError, TokenRefusedError

__all__ = ["CommentData", "GitHubApp", "InstallationClient", "IssueData", "ItemData",
           "RepoClient", "RepoRef"]

JWT_BACKDATE_S = 60  # GitHub's advice against clock drift
JWT_LIFETIME_S = 9 * 60  # GitHub refuses JWTs living longer than 10 minutes
TOKEN_REFRESH_MARGIN_S = 5 * 60
_KEY_HINT = "set NAVBOT_PRIVATE_KEY (the PEM text) or NAVBOT_PRIVATE_KEY_PATH (a .pem file)"
_FOCUS = re.compile(r"/navbot\s+focus\b(.*)", re.IGNORECASE | re.DOTALL)
T = TypeVar("T")


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


class GitHubApp:
    """The GitHub App: signs JWTs, trades them for installation tokens, hands out clients.

    Credentials are checked on first use, so building one never fails; `jwt()` raises
    GitHubAuthError naming the NAVBOT_ variables to set.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.api_url = settings.github_api_url.rstrip("/")
        self.token_hosts = TokenHosts.from_settings(settings)
        self._settings = settings
        self._clock = clock
        self._key: RSAPrivateKey | None = None
        self._tokens: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._bot_login: str | None = None
        self._identity_lock = threading.Lock()
        self._session = Session()
        self._session.mount("http://", HTTPAdapter(max_retries=retry_policy()))
        self._session.mount("https://", HTTPAdapter(max_retries=retry_policy()))

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

    def bot_login(self) -> str:
        """The login navbot's comments are written by, `<slug>[bot]`; read once per process."""
        with self._identity_lock:
            if self._bot_login is None:
                self.token_hosts.check(self.api_url, "NAVBOT_GITHUB_API_URL")
                token = self.jwt()
                # PyGithub's AppAuth would sign claims of its own with the wall clock; the
                # App's JWT (its key loading, its clock) is what goes out instead.
                auth = Auth.AppAuth(str(self._settings.app_id), sign_func=lambda _: token)
                integration = GithubIntegration(auth=auth, base_url=self.api_url,
                                                retry=retry_policy(), timeout=TIMEOUT_S,
                                                user_agent="navbot")
                try:
                    with github_call("reading the App (GET /app)"):
                        self._bot_login = f"{integration.get_app().slug}[bot]"
                finally:
                    integration.close()
            return self._bot_login

    def installation_token(self, installation_id: int) -> str:
        """An access token of the installation, reused until five minutes before it expires."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock() < cached[1] - TOKEN_REFRESH_MARGIN_S:
                return cached[0]
            token, expires_at = self._create_token(installation_id)
            self._tokens[installation_id] = (token, expires_at)
            return token

    def forget_token(self, installation_id: int, token: str) -> None:
        """Drop `token` from the cache once GitHub refused it; the next call gets a new one."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached[0] == token:  # not one another thread just made
                del self._tokens[installation_id]

    def installation(self, installation_id: int) -> InstallationClient:
        """A client acting as the installation."""
        return InstallationClient(self, installation_id)

    def _create_token(self, installation_id: int) -> tuple[str, float]:
        # Plain requests rather than PyGithub: PyGithub's debug log prints response bodies,
        # and this body is the token.
        self.token_hosts.check(self.api_url, "NAVBOT_GITHUB_API_URL")
        doing = f"creating an access token for installation {installation_id}"
        url = f"{self.api_url}/app/installations/{installation_id}/access_tokens"
        with github_call(doing):
            headers = {**API_HEADERS, "Authorization": f"Bearer {self.jwt()}"}
            response = self._session.post(url, headers=headers, timeout=TIMEOUT_S)
            if response.status_code >= 400:
                raise GithubException(response.status_code, json_or_text(response),
                                      dict(response.headers))
            data = response.json()
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        return str(data["token"]), expires_at.timestamp()


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
        self.app = app
        self.github = new_github(app.api_url, _InstallationTokenAuth(app, installation_id))

    def token(self) -> str:
        """A token valid for at least five more minutes (for git over HTTPS)."""
        return self.app.installation_token(self.installation_id)

    def call(self, doing: str, action: Callable[[], T]) -> T:
        """`action()`, GitHub calls as the installation, with their errors as navbot's.

        A token GitHub refuses (revoked before it expired) is dropped and `action` runs once
        more with a new one; otherwise every job would fail until the old token expired.
        """
        token = self.token()
        try:
            with github_call(doing, self.installation_id):
                return action()
        except TokenRefusedError:
            self.app.forget_token(self.installation_id, token)
        with github_call(doing, self.installation_id):
            return action()

    def repositories(self) -> list[RepoRef]:
        """Every repository the installation may access."""
        def listed() -> list[RepoRef]:
            listing = PaginatedList(Repository, self.github.requester,
                                    "/installation/repositories", None,
                                    list_item="repositories")
            return [repo_ref(repo) for repo in listing]

        refs = self.call(f"listing the repositories of installation {self.installation_id}",
                         listed)
        return [_safe_to_clone(self.app, ref) for ref in refs]

    def repo(self, full_name: str) -> RepoClient:
        """A client for one repository ("owner/name")."""
        return RepoClient(self, full_name)


def _safe_to_clone(app: GitHubApp, ref: RepoRef) -> RepoRef:
    """`ref`, once its clone URL is one the installation token may be sent to."""
    app.token_hosts.check(ref.clone_url, f"the clone URL GitHub gave for {ref.full_name}")
    return ref


class RepoClient:
    """The calls navbot makes on one repository."""

    def __init__(self, installation: InstallationClient, full_name: str) -> None:
        self.full_name = full_name
        self._app = installation.app
        self._call = installation.call
        self._github: Github = installation.github
        self._repo = self._github.get_repo(full_name)  # lazy: no request until an attribute is read

    def ref(self) -> RepoRef:
        """The repository's id, default branch and clone URL (one the token may go to)."""
        ref = self._call(f"reading {self.full_name}",
                         lambda: repo_ref(self._github.get_repo(self.full_name)))
        return _safe_to_clone(self._app, ref)

    def issue(self, number: int) -> IssueData:
        """Issue (or pull request) `number`."""
        return self._call(f"reading {self.full_name}#{number}",
                          lambda: issue_data(self._repo.get_issue(number)))

    def find_comment(self, number: int, marker: str) -> CommentData | None:
        """navbot's comment: the first by the App's own account that `marker` closes, or None.

        Anyone can type the marker, and another bot may quote it; only the App's account can
        edit a comment, and only a comment of its own is navbot's to change.
        """
        login = self._app.bot_login().lower()

        def first() -> CommentData | None:
            for comment in self._repo.get_issue(number).get_comments():
                if comment.user.login.lower() == login and has_marker(comment.body or "",
                                                                      marker):
                    return comment_data(comment)
            return None

        return self._call(f"reading the comments of {self.full_name}#{number}", first)

    def maintainer_notes(self, number: int, since: datetime) -> list[str]:
        """Comments maintainers wrote on the issue since `since`, oldest first.

        A maintainer is the repository's owner, a member or a collaborator. A note is a plain
        comment (a correction) or the text of `/navbot focus …`; other commands are requests,
        not notes, and are left out.
        """
        def notes() -> list[str]:
            found = []
            for comment in self._repo.get_issue(number).get_comments(since=since):
                body = (comment.body or "").strip()
                if (comment.user.type == "Bot" or comment.created_at < since
                        or comment.raw_data.get("author_association")
                        not in MAINTAINER_ASSOCIATIONS):
                    continue
                focus = _FOCUS.match(body)
                if focus is not None:
                    found.append(focus.group(1).strip())
                elif not body.lower().startswith("/navbot"):
                    found.append(body)
            return found

        return self._call(f"reading the comments of {self.full_name}#{number}", notes)

    def create_comment(self, number: int, body: str) -> int:
        """Comment on the issue; returns the new comment's id."""
        # Safe to repeat after a 401: GitHub stores nothing for a refused token.
        return self._call(f"commenting on {self.full_name}#{number}",
                          lambda: self._repo.get_issue(number).create_comment(body).id)

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Replace the body of an issue comment."""
        self._call(f"editing comment {comment_id} in {self.full_name}",
                   lambda: self._github.requester.requestJsonAndCheck(
                       "PATCH", f"/repos/{self.full_name}/issues/comments/{comment_id}",
                       input={"body": body}))

    def react(self, comment_id: int, content: str) -> None:
        """Add a reaction ("+1", "eyes", …) to an issue comment."""
        self._call(f"reacting to comment {comment_id} in {self.full_name}",
                   lambda: self._github.requester.requestJsonAndCheck(
                       "POST", f"/repos/{self.full_name}/issues/comments/{comment_id}/reactions",
                       input={"content": content}))

    def file_text(self, path: str, ref: str | None = None) -> str | None:
        """A file's text at `ref` (default branch when None); None when there is no such file."""
        def text() -> str | None:
            try:
                found = (self._repo.get_contents(path, ref=ref) if ref
                         else self._repo.get_contents(path))
            except UnknownObjectException:
                return None
            # Directories come back as lists; files over 1 MB without inline content.
            if isinstance(found, list) or found.type != "file" or found.encoding != "base64":
                return None
            return found.decoded_content.decode("utf-8", errors="replace")

        return self._call(f"reading {path} in {self.full_name}", text)

    def items_since(self, since: datetime | None) -> Iterator[ItemData]:
        """Issues and pull requests updated at or after `since` (all when None), oldest first."""
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
        if since is not None:
            moment = since if since.tzinfo else since.replace(tzinfo=UTC)
            params["since"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Plain issues have no "pull_request" key; without a default, reading it would make
        # PyGithub fetch every such issue again.
        listing = PaginatedList(Issue, self._github.requester,
                                f"/repos/{self.full_name}/issues", params,
                                attributesTransformer=_with_issue_defaults)
        # Page by page, each page one call: a refused token then repeats one page, never
        # items already yielded.
        page = 0
        while True:
            issues = self._call(f"listing the issues of {self.full_name}",
                                partial(listing.get_page, page))
            for issue in issues:
                yield self._call(f"reading {self.full_name}#{issue.number}",
                                 partial(self._item, issue))
            if len(issues) < PER_PAGE:
                return
            page += 1

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
