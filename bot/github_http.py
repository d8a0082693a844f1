"""How navbot talks HTTP to GitHub: bounded retries, and GitHub's errors as navbot's.

Used only by bot.github, which makes every call; nothing here holds a credential.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from github import Auth, Github, GithubRetry
from github.GithubException import GithubException, RateLimitExceededExceedsMaxWait
from github.Requester import Requester
from urllib3.response import BaseHTTPResponse

from navbot.core.errors import GitHubAuthError, GitHubError, RateLimitedError, TokenRefusedError

MAX_RATE_LIMIT_WAIT_S = 60.0
PER_PAGE = 100
RETRIES = 5
TIMEOUT_S = 30
WRITE_SPACING_S = 1.0  # GitHub asks integrations to space content-creating requests
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


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


def retry_policy() -> GithubRetry:
    """Retries of one request: server errors and short rate limits, never a POST."""
    # raise_on_status=False: once retries run out, the last response becomes a GithubException
    # carrying GitHub's status, message and headers rather than an opaque RetryError.
    # POST is not retried here: a 5xx on "create comment" may come after GitHub stored the
    # comment, and a blind retry would post it twice. The job retries instead, and it looks
    # for navbot's comment by its marker before creating one.
    return _BoundedRetry(total=RETRIES, backoff_factor=0.5, raise_on_status=False,
                         max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_S,
                         allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE",
                                                    "OPTIONS"}))


def new_github(api_url: str, auth: Auth.Auth) -> Github:
    """A PyGithub client on `api_url` with navbot's retries, timeouts and write spacing."""
    return Github(auth=auth, base_url=api_url, retry=retry_policy(), per_page=PER_PAGE,
                  timeout=TIMEOUT_S, user_agent="navbot", seconds_between_requests=None,
                  seconds_between_writes=WRITE_SPACING_S, lazy=True)


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


def _converted(exc: GithubException, doing: str, installation_id: int | None) -> GitHubError:
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
    if exc.status == 401 and installation_id is not None:
        return TokenRefusedError(
            f"GitHub refused the installation token for installation {installation_id} while "
            f"{doing} (401 {message}); the App may have been uninstalled or suspended there, "
            "or the token revoked")
    if exc.status == 401:
        return GitHubAuthError(
            f"GitHub refused the App's credentials while {doing} (401 {message}); check "
            f"NAVBOT_APP_ID and the private key (NAVBOT_PRIVATE_KEY / NAVBOT_PRIVATE_KEY_PATH)")
    return GitHubError(f"GitHub answered {exc.status} while {doing}: {message}")


@contextmanager
def github_call(doing: str, installation_id: int | None = None) -> Iterator[None]:
    """Turn PyGithub and requests errors raised inside into navbot errors.

    `installation_id` says whose token the calls carry (None: the App's JWT), so that a 401
    names the credential GitHub refused.
    """
    try:
        yield
    except GithubException as exc:
        raise _converted(exc, doing, installation_id) from exc
    except requests.RequestException as exc:
        raise GitHubError(f"could not reach GitHub while {doing}: {exc}") from exc


def json_or_text(response: requests.Response) -> Any:
    """A response's JSON body, or its first characters as a message."""
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:200]}
