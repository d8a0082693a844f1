"""What `navbot serve`, `navbot worker` and the gunicorn web app check before they start.

A setting that cannot work (no App id, a private key that is missing or does not parse, no
webhook secret, a state database or queue that does not answer) stops the start with one
line naming it, instead of a worker that starts and then fails every job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from navbot.core.errors import NavbotError

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.state.queue import JobQueue
    from bot.state.store import StateStore
    from navbot.core.config import Settings

def one_line(exc: NavbotError) -> NavbotError:
    """The same error with its message on one line (drivers add "Background on…" lines)."""
    text = " ".join(str(exc).split())
    try:
        return type(exc)(text)
    except TypeError:  # an error class with other arguments: keep it as it is
        return exc


def check_webhook_secret(settings: Settings) -> None:
    """Refuse to receive webhooks without a secret to verify them with."""
    from webhooks import webhook_secret

    webhook_secret(settings)


def check_app_credentials(settings: Settings) -> None:
    """The App id is set and the private key exists and parses (signing a JWT, no network)."""
    from bot.github import GitHubApp

    GitHubApp(settings).jwt()


def open_state(settings: Settings) -> StateStore:
    """The state database, its tables created, answering a query."""
    from bot.state.store import StateStore
    from navbot.core.errors import StateError

    state = StateStore(settings.state_url())
    if not state.reachable():
        raise StateError("navbot's state database does not answer a query "
                         "(NAVBOT_DATABASE_URL, or navbot.db under NAVBOT_HOME)")
    return state


def open_queue(settings: Settings, state: StateStore) -> JobQueue:
    """The job queue, answering, noting its jobs in `state`."""
    from bot.state.queue import JobQueue

    queue = JobQueue(settings, state)
    queue.check()
    return queue


def web_ready(settings: Settings) -> tuple[StateStore, JobQueue]:
    """Everything the web app needs: the secret, the state database and the queue."""
    return _ready(settings, check_webhook_secret)


def worker_ready(settings: Settings) -> tuple[StateStore, JobQueue]:
    """Everything a worker needs: the App's credentials, the state database and the queue."""
    return _ready(settings, check_app_credentials)


def _ready(settings: Settings, check: Callable[[Settings], None]
           ) -> tuple[StateStore, JobQueue]:
    """`check`, then the state database and the queue; any failure as one line."""
    try:
        check(settings)
        state = open_state(settings)
        return state, open_queue(settings, state)
    except NavbotError as exc:
        raise one_line(exc) from None
