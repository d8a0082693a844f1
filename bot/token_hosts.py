"""Where the App's credentials may go: HTTPS on the configured GitHub host, nowhere else.

The JWT and the installation tokens are sent to the API, and a token to git for each clone.
GitHub's answers say where to clone from, so a clone URL is checked before the token goes
with it: a compromised or misconfigured API must not collect the token elsewhere, and plain
HTTP would show it to the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from navbot.core.config import Settings
from navbot.core.errors import UnsafeURLError

_DEFAULT_PORTS = {"https": 443, "http": 80}
# github.com's API lives on its own host; GitHub Enterprise serves both from one.
_WEB_HOST_OF_API = {"api.github.com": "github.com"}
_ALLOW_HTTP_HINT = ("set NAVBOT_GITHUB_ALLOW_HTTP=true to allow it (tests, GitHub Enterprise "
                    "on a private network)")


@dataclass(frozen=True)
class TokenHosts:
    """The hosts (with a port other than the scheme's default) credentials may go to."""

    hosts: frozenset[tuple[str, int | None]]
    allow_http: bool
    api_host: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenHosts:
        """The API's host (and github.com for api.github.com), from NAVBOT_GITHUB_API_URL."""
        api = _target(settings.github_api_url)
        hosts = {api} if api is not None else set()
        if api is not None and api[0] in _WEB_HOST_OF_API:
            hosts.add((_WEB_HOST_OF_API[api[0]], api[1]))
        return cls(frozenset(hosts), settings.github_allow_http, api[0] if api else "")

    def problem(self, url: str) -> str | None:
        """Why credentials must not go to `url`, or None when they may."""
        scheme = url.partition(":")[0].lower()
        if scheme not in _DEFAULT_PORTS:
            return "is not an HTTPS URL"
        if scheme == "http" and not self.allow_http:
            return f"uses plain HTTP; {_ALLOW_HTTP_HINT}"
        target = _target(url)
        if target is None:
            return "is not a valid URL"
        if "@" in urlsplit(url).netloc:
            return "carries credentials of its own"
        if target not in self.hosts:
            return f"is not on the GitHub host {self.api_host or '(none configured)'}"
        return None

    def check(self, url: str, what: str) -> None:
        """Raise UnsafeURLError naming `what` when credentials must not go to `url`."""
        problem = self.problem(url)
        if problem is not None:
            raise UnsafeURLError(f"{what} ({_shown(url)}) {problem}; navbot sent no "
                                 "credentials to it")


def _target(url: str) -> tuple[str, int | None] | None:
    """`url`'s lower-case host, and its port unless it is the scheme's default; None if
    `url` names no host or an invalid port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    return parts.hostname.lower(), None if port == default else port


def _shown(url: str) -> str:
    """`url` without any user or password in it, for a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "an unreadable URL"
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host, query="", fragment="").geturl()
