"""Routing a webhook event to the pure handlers that turn its payload into jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.state.job import Job
from webhooks.payloads import RepositoryEvent, Sent, action_of, parse

#: A handler: payload and delivery id in, jobs out. Pure: no I/O, no GitHub, no clock.
#: It reads the payload through a model of `webhooks.payloads`, so a field of the wrong
#: shape is a PayloadError (a 400), never a KeyError or a job with a wrong id.
Handler = Callable[[dict[str, Any], str], list[Job]]

# Events a bot's action must not answer. navbot posts and edits comments on issues, so an
# `issues` or `issue_comment` event from any bot (navbot itself included) could make it
# answer itself and loop. `push`, `pull_request` and `installation*` events from bots still
# count: a bot that merges a PR or pushes a commit changes the code and the history the
# index must follow, and those events can only update the index, never make navbot comment.
BOT_IGNORED_EVENTS = frozenset({"issues", "issue_comment"})


def is_from_bot(payload: dict[str, Any]) -> bool:
    """Whether the event's sender is a bot (an App, Dependabot, navbot itself, …)."""
    sender = parse(Sent, payload).sender
    return sender is not None and sender.is_bot


def repository_args(event: RepositoryEvent) -> dict[str, Any]:
    """The ids every repository job carries: installation, repository id and full name."""
    return {"installation_id": event.installation.id, "repo_id": event.repository.id,
            "full_name": event.repository.full_name}


@dataclass(frozen=True)
class _Route:
    event: str
    actions: frozenset[str]  # empty: every action
    handler: Handler

    def matches(self, event: str, action: str | None) -> bool:
        return self.event == event and (not self.actions or action in self.actions)


class Router:
    """Handlers registered per event (and optionally per action)."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def register(self, event: str, *actions: str) -> Callable[[Handler], Handler]:
        """Decorator: run the handler for `event`, limited to `actions` when any are given."""

        def add(handler: Handler) -> Handler:
            self._routes.append(_Route(event, frozenset(actions), handler))
            return handler

        return add

    def route(self, event: str, payload: dict[str, Any], delivery_id: str) -> list[Job]:
        """The jobs every matching handler asks for, in registration order.

        Raises PayloadError when a field a matching handler reads is not what it reads.
        """
        action = action_of(payload)
        matching = [route for route in self._routes if route.matches(event, action)]
        # Asked only when a handler would act, so that a sender of an odd shape on an event
        # navbot ignores is ignored too.
        if not matching or (event in BOT_IGNORED_EVENTS and is_from_bot(payload)):
            return []
        jobs: list[Job] = []
        for route in matching:
            jobs.extend(route.handler(payload, delivery_id))
        return jobs


#: The router the feature modules (installations, pushes, issues, commands, pulls) register on.
router = Router()
