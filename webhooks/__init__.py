"""The GitHub App's webhook receiver: verify, deduplicate, route to jobs, enqueue.

Serve it with `gunicorn -c python:webhooks.gunicorn_conf 'webhooks:create_app()'` (what
`navbot serve` runs): its settings are in `webhooks/gunicorn_conf.py`, which also checks the
settings and creates the schema once, before the workers fork. Flask, the queue and the state
database are imported only when an app is built, so the pure parts (signature, router, the feature
handlers) stay light for workers and tests; nothing here imports torch, chromadb or PyGithub.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from navbot.core.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

    from bot.state.queue import JobQueue
    from bot.state.store import StateStore
    from navbot.core.config import Settings
    from webhooks.router import Router

#: The one logger of the receiver; every line it writes names the delivery it belongs to.
LOGGER_NAME = "navbot.webhooks"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [delivery %(delivery_id)s] %(message)s"

#: The delivery being handled in this thread; "-" outside a request.
current_delivery: ContextVar[str] = ContextVar("navbot_delivery", default="-")

_MISSING_SECRET = (
    "NAVBOT_WEBHOOK_SECRET is not set: without it the receiver cannot tell GitHub's "
    "deliveries from forged ones, so it refuses to start. Generate a secret (for example "
    "`python -c 'import secrets; print(secrets.token_hex(32))'`), enter it as the GitHub "
    "App's webhook secret, and set NAVBOT_WEBHOOK_SECRET to the same value."
)


@dataclass(frozen=True)
class Services:
    """What the views work with: settings, the webhook secret, queue, state and router."""

    settings: Settings
    secret: bytes
    queue: JobQueue
    state: StateStore
    router: Router


def services(app: Flask) -> Services:
    """The services of an app built by :func:`create_app`."""
    return cast(Services, app.extensions["navbot"])


class DeliveryIdFilter(logging.Filter):
    """Puts the current delivery id on every record as `delivery_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        record.delivery_id = current_delivery.get()
        return True


def configure_logging() -> logging.Logger:
    """Make `navbot.webhooks` lines carry the delivery id; safe to call for every app."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, DeliveryIdFilter) for f in logger.filters):
        logger.addFilter(DeliveryIdFilter())
    if not logger.handlers:
        # Nobody configured this logger (gunicorn configures only its own): give it a
        # handler that prints the delivery id, and keep the lines from printing twice
        # through the root logger's handlers, which would drop the id.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return logger


def webhook_secret(settings: Settings) -> bytes:
    """The secret deliveries are verified with; ConfigError when none is set."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        raise ConfigError(_MISSING_SECRET)
    return secret.encode("utf-8")


def create_app(settings: Settings | None = None, queue: JobQueue | None = None,
               state: StateStore | None = None) -> Flask:
    """The webhook app; missing parts are built from the environment's settings.

    Raises ConfigError when no webhook secret is set: a receiver that cannot verify
    signatures must not run.
    """
    from flask import Flask

    from bot.state.queue import JobQueue
    from bot.state.store import StateStore
    from navbot.core.config import load_settings

    # Importing the feature modules registers their handlers on the router.
    from webhooks import commands, installations, issues, pulls, pushes  # noqa: F401
    from webhooks.router import router
    from webhooks.views import blueprint

    settings = settings or load_settings()
    secret = webhook_secret(settings)
    configure_logging()
    app = Flask("webhooks")
    state = state if state is not None else StateStore(settings.state_url())
    app.extensions["navbot"] = Services(
        settings=settings, secret=secret,
        queue=queue if queue is not None else JobQueue(settings, state), state=state,
        router=router)
    app.register_blueprint(blueprint)
    return app
