"""A local fake GitHub for tests: the REST API navbot uses and git's dumb HTTP protocol.

Real HTTP on 127.0.0.1, state in plain Python. Use it as a context manager::

    with GitHubDouble() as github:
        github.add_installation(1, "octo")
        github.add_repo(1, "octo/shapes", git_dir)
        settings = load_settings(home=tmp_path, **github.settings_overrides())

The endpoints, JSON shapes and git's dumb HTTP are in `tests.github_double_api`; this module
holds the state, the helpers tests call, and the server.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from tests.github_double_api import (
    REACTIONS,
    ROUTES,
    TOKEN_LIFETIME_S,
    GitHubApi,
    Reply,
    iso,
    json_response,
    user_json,
)
from tests.local_server import LocalServer

__all__ = ["BOT_LOGIN", "DOCS_URL", "REACTIONS", "TOKEN_LIFETIME_S", "GitHubDouble",
           "LoggedRequest", "iso"]

BOT_LOGIN = "navbot[bot]"
DOCS_URL = "https://docs.github.com/rest"
_BAD_JWT = "A JSON web token could not be decoded"


@dataclass(frozen=True)
class LoggedRequest:
    """One request the double answered."""

    method: str
    path: str
    query: str
    status: int
    has_auth: bool
    credential: str = ""  # the token, JWT or basic-auth password it carried


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    message: str
    times: int




class GitHubDouble(GitHubApi, LocalServer):
    """A fake GitHub holding one App, its installations, repositories, issues, PRs and comments.

    `clock` decides JWT and token validity, so tests can move time forward; rate-limit
    headers use the wall clock because PyGithub compares them with it.
    """

    def __init__(self, app_id: int = 4242, clock: Callable[[], float] = time.time,
                 bot_login: str = BOT_LOGIN) -> None:
        self.app_id = app_id
        self.clock = clock
        self.bot_login = bot_login
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode()
        self.public_key = key.public_key()
        self.installations: dict[int, dict[str, Any]] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[int, dict[str, Any]]] = {}
        self.comment_store: dict[int, dict[str, Any]] = {}
        self.tokens: dict[str, tuple[int, float]] = {}
        self.revoked_tokens: set[str] = set()
        self.revoke_every_token = False
        self.writes: list[dict[str, Any]] = []
        self.requests_log: list[LoggedRequest] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()


    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for `load_settings` that point navbot at this double."""
        return {"app_id": self.app_id, "private_key": self.private_key_pem,
                "github_api_url": self.url, "github_allow_http": True}

    # -- state helpers for tests -----------------------------------------------------------

    def add_installation(self, installation_id: int, account: str) -> None:
        """Install the App on `account` (no repositories yet)."""
        with self._lock:
            self.installations[installation_id] = {"account": account, "repos": []}

    def add_repo(self, installation_id: int, full_name: str, git_dir: Path,
                 default_branch: str = "main", private: bool = True,
                 clone_url: str | None = None) -> int:
        """Add a repository backed by a local git repository (work tree or bare).

        `clone_url` is what the API reports (default: this double's git endpoint).
        """
        git_dir = Path(git_dir)
        if (git_dir / ".git").is_dir():
            git_dir = git_dir / ".git"
        with self._lock:
            repo_id = next(self._ids)
            self.repos[full_name] = {"id": repo_id, "full_name": full_name,
                                     "default_branch": default_branch, "git_dir": git_dir,
                                     "private": private, "clone_url": clone_url}
            self.issues.setdefault(full_name, {})
            self.installations[installation_id]["repos"].append(full_name)
            return repo_id

    def add_issue(self, full_name: str, number: int, title: str, body: str | None = "",
                  user: str = "alice", state: str = "open", state_reason: str | None = None,
                  labels: Iterable[str] = (), updated_at: datetime | None = None,
                  user_type: str = "User") -> dict[str, Any]:
        """Add (or replace) an issue and return its stored record."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        if updated_at is not None and updated_at.tzinfo is None:
            updated_at = updated_at.replace(tzinfo=UTC)
        record = {"id": next(self._ids), "number": number, "title": title, "body": body,
                  "state": state, "state_reason": state_reason, "user": user_json(user, user_type),
                  "labels": list(labels), "created_at": now, "updated_at": updated_at or now,
                  "pull": None}
        with self._lock:
            self.issues[full_name][number] = record
        return record

    def add_pull(self, full_name: str, number: int, title: str, body: str | None = "",
                 merged: bool = True, files: Iterable[str] = (), user: str = "alice",
                 state: str | None = None, updated_at: datetime | None = None) -> dict[str, Any]:
        """Add a pull request; merged ones are closed unless `state` says otherwise."""
        record = self.add_issue(full_name, number, title, body, user=user,
                                state=state or ("closed" if merged else "open"),
                                updated_at=updated_at)
        record["pull"] = {"merged": merged, "files": list(files)}
        return record

    def add_comment(self, full_name: str, number: int, body: str, user: str = "alice",
                    user_type: str = "User") -> int:
        """Add a comment written by someone else than the App; returns its id."""
        with self._lock:
            return self._new_comment(full_name, number, body, user_json(user, user_type))

    def add_reaction(self, comment_id: int, content: str, user: str = "alice") -> None:
        """React to a comment as `user`."""
        with self._lock:
            self.comment_store[comment_id]["reactions"].append(self._reaction(content, user))

    def fail_next(self, method: str, path_regex: str, status: int,
                  headers: dict[str, str] | None = None, times: int = 1,
                  message: str | None = None) -> None:
        """Answer the next `times` matching requests with `status` (fault injection)."""
        default = ("API rate limit exceeded for installation." if status in (403, 429)
                   else "Server Error" if status >= 500 else "Injected failure")
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), status,
                                       dict(headers or {}), message or default, times))

    def revoke_token(self, token: str | None = None) -> None:
        """Make GitHub answer 401 to `token`, or to every installation token (also those
        issued later) when None, as for a revoked token or an App that lost its access."""
        with self._lock:
            if token is None:
                self.revoke_every_token = True
            else:
                self.revoked_tokens.add(token)

    def requests_to(self, method: str, path_regex: str) -> list[LoggedRequest]:
        """Logged requests with this method whose path matches `path_regex`."""
        return [r for r in self.requests_log
                if r.method == method.upper() and re.search(path_regex, r.path)]

    def issue_webhook(self, full_name: str, number: int, action: str = "opened"
                      ) -> dict[str, Any]:
        """The payload of an `issues` webhook event GitHub would send for this issue."""
        with self._lock:
            installation_id = next(i for i, inst in self.installations.items()
                                   if full_name in inst["repos"])
            issue = self.issues[full_name][number]
            return {"action": action, "issue": self._issue_json(full_name, issue),
                    "repository": self._repo_json(self.repos[full_name]),
                    "installation": {"id": installation_id, "node_id": f"I_{installation_id}"},
                    "sender": issue["user"]}

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._respond(request)
        response.headers.setdefault("X-RateLimit-Limit", "5000")
        response.headers.setdefault("X-RateLimit-Remaining", "4999")
        response.headers.setdefault("X-RateLimit-Reset", str(int(time.time()) + 3600))
        response.headers.setdefault("X-RateLimit-Resource", "core")
        auth = request.authorization
        credential = ((auth.password or "") if auth and auth.type == "basic"
                      else request.headers.get("Authorization", "").partition(" ")[2].strip())
        with self._lock:
            self.requests_log.append(LoggedRequest(
                request.method, request.path, request.query_string.decode(),
                response.status_code, "Authorization" in request.headers, credential))
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            return json_response(fault.status,
                                 {"message": fault.message, "documentation_url": DOCS_URL},
                                 fault.headers)
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
        except HTTPException:
            return json_response(404, {"message": "Not Found", "documentation_url": DOCS_URL})
        try:
            with self._lock:
                installation = self._authenticate(request, str(endpoint))
                return getattr(self, f"_ep_{endpoint}")(request, installation, **args)
        except Reply as reply:
            if endpoint == "git":
                return Response(reply.message + "\n", reply.status, reply.headers,
                                content_type="text/plain")
            return json_response(reply.status,
                                 {"message": reply.message, "documentation_url": DOCS_URL},
                                 reply.headers)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.method == method and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _authenticate(self, request: Request, endpoint: str) -> int | None:
        """The installation a request acts for; None for the App itself or anonymous calls."""
        if request.path.startswith("/app"):
            self._check_jwt(request.headers.get("Authorization", ""))
            return None
        if endpoint == "git":
            auth = request.authorization
            password = auth.password if auth and auth.type == "basic" else None
            installation = self._installation_of(password or "")
            if auth is None or auth.username != "x-access-token" or installation is None:
                raise Reply(401, "Authentication failed",
                            {"WWW-Authenticate": 'Basic realm="GitHub"'})
            return installation
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        installation = self._installation_of(value.strip())
        if endpoint == "rate_limit" and not scheme:
            return None
        if scheme.lower() not in ("token", "bearer") or installation is None:
            raise Reply(401, "Bad credentials")
        return installation

    def _check_jwt(self, header: str) -> None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Reply(401, _BAD_JWT)
        try:
            claims = jwt.decode(value, self.public_key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False,
                                         "require": ["iat", "exp", "iss"]})
        except jwt.PyJWTError:
            raise Reply(401, _BAD_JWT) from None
        now = self.clock()
        if str(claims["iss"]) != str(self.app_id):
            raise Reply(401, "Integration not found")
        if claims["exp"] <= now:
            raise Reply(401, "'Expiration time' claim ('exp') must be in the future")
        if claims["iat"] > now + 60 or claims["exp"] - claims["iat"] > 600:
            raise Reply(401, "'Expiration time' claim ('exp') is too far in the future")

    def _installation_of(self, token: str) -> int | None:
        found = self.tokens.get(token)
        if (found is None or found[1] <= self.clock() or self.revoke_every_token
                or token in self.revoked_tokens):
            return None
        return found[0]
