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


class RepositoryError(NavbotError):
    """A path is not a git repository, or git could not read it."""


class UnknownCommitError(RepositoryError):
    """The requested commit does not exist in the repository."""


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
