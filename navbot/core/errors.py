"""The one exception hierarchy of navbot.

Every error a user can cause or meet derives from :class:`NavbotError`; the CLI turns
these into one-line messages with a non-zero exit code instead of tracebacks.
"""

from __future__ import annotations


class NavbotError(Exception):
    """Base class of every error navbot raises on purpose."""

    exit_code = 1


class ConfigError(NavbotError):
    """A setting or flag has a value navbot cannot use."""

    exit_code = 2


class HomeError(NavbotError):
    """The data directory (NAVBOT_HOME, --home) cannot be created or written."""

    exit_code = 73  # EX_CANTCREAT


class InputError(NavbotError):
    """An input file navbot was given is not what it must be (UTF-8 text, say)."""

    exit_code = 65  # EX_DATAERR


class RepositoryError(NavbotError):
    """A path is not a git repository, or git could not read it."""


class UnknownCommitError(RepositoryError):
    """The requested commit does not exist in the repository."""


class GitTimeoutError(RepositoryError):
    """A git call ran past its time limit."""


class IndexStoreError(NavbotError):
    """The stored index is missing, from another schema version, or unreadable."""


class IndexLockedError(NavbotError):
    """Another process is writing the same repository's index."""


class TargetNotFoundError(NavbotError):
    """`navbot show` was asked about a file or symbol the index does not hold."""


class EvalDataError(NavbotError):
    """An evaluation data file cannot be read at all."""

    exit_code = 2


class Interrupted(NavbotError):
    """The user interrupted a run; whatever was stored before is left intact."""

    exit_code = 130


class GitHubError(NavbotError):
    """GitHub answered with an error navbot cannot work around, or could not be reached."""


class GitHubAuthError(GitHubError):
    """The App's credentials are missing or GitHub refused them."""

    exit_code = 2


class TokenRefusedError(GitHubAuthError):
    """GitHub refused an installation's access token (revoked, or the App lost its access)."""


class UnsafeURLError(GitHubError):
    """The App's credentials would go to a URL that is not HTTPS on the configured GitHub host."""

    exit_code = 2


class RateLimitedError(GitHubError):
    """GitHub asked navbot to slow down; the job is retried after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CloneError(RepositoryError):
    """git could not clone or fetch a repository (the message never holds the token)."""


class StateError(NavbotError):
    """navbot's state database cannot be opened or written."""


class QueueError(NavbotError):
    """The job queue (SQLite file or Redis) cannot be reached."""


class JobBusyError(NavbotError):
    """A job's repository or issue is locked by another worker; the job runs again later."""


class LLMError(NavbotError):
    """The language model could not give a usable answer; the run goes on without it."""


class LLMUnavailableError(LLMError):
    """No model is configured, it cannot be reached, or replay mode has no recording."""


class LLMBudgetError(LLMError):
    """A run or repository used up its LLM calls or tokens, or repeated the same call."""


class RunLimitError(NavbotError):
    """A pipeline run passed its wall-time limit; the stages done so far still count."""


class PipelineError(NavbotError):
    """A pipeline stage cannot go on, for example because a stage it needs failed."""


class RunNotFoundError(NavbotError):
    """No analysis run has the id (or id prefix) asked for."""

    exit_code = 2


class CalibrationError(NavbotError):
    """A repository's history has no past fixes navbot can replay to calibrate on."""
