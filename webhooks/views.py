"""The HTTP edge: `POST /webhooks/github` turns a delivery into queued jobs; `GET /healthz`.

The view never calls GitHub, git or a model: it checks size and signature, deduplicates by
delivery id, routes the payload to jobs with pure handlers and enqueues them.
"""

from __future__ import annotations

import json
import logging
import re
from typing import IO, Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from navbot.errors import QueueError, StateError
from navbot.job import Job
from webhooks import LOGGER_NAME, Services, current_delivery, services
from webhooks.signature import verify_signature

blueprint = Blueprint("webhooks", __name__)
log = logging.getLogger(LOGGER_NAME)

# GitHub's delivery ids are UUIDs and event names are snake_case words; anything else is
# refused before it reaches the logs or the deliveries table (64 characters wide).
_DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_EVENT = re.compile(r"[a-z_]{1,64}")
_READ_CHUNK = 64 * 1024

Reply = tuple[Response, int]


def _error(status: int, message: str) -> Reply:
    return jsonify(error=message), status


@blueprint.post("/webhooks/github")
def github_webhook() -> Reply:
    """Receive one GitHub delivery."""
    claimed = request.headers.get("X-GitHub-Delivery", "")
    token = current_delivery.set(claimed if _DELIVERY_ID.fullmatch(claimed) else "-")
    try:
        return _receive(services(current_app))
    finally:
        current_delivery.reset(token)


def _receive(svc: Services) -> Reply:
    limit = svc.settings.max_payload_bytes
    if request.content_length is not None and request.content_length > limit:
        log.warning("refused: Content-Length %d is over %d bytes", request.content_length, limit)
        return _error(413, f"payload is larger than the {limit} bytes navbot accepts")
    body = _read_at_most(request.stream, limit + 1)
    if len(body) > limit:
        log.warning("refused: body is over %d bytes", limit)
        return _error(413, f"payload is larger than the {limit} bytes navbot accepts")

    if not verify_signature(svc.secret, body, request.headers.get("X-Hub-Signature-256")):
        log.warning("refused: X-Hub-Signature-256 is missing or does not match the secret")
        return _error(401, "X-Hub-Signature-256 is missing or does not match the "
                           "webhook secret")

    event = request.headers.get("X-GitHub-Event", "")
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery_id:
        return _error(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
    if not _EVENT.fullmatch(event) or not _DELIVERY_ID.fullmatch(delivery_id):
        return _error(400, "X-GitHub-Event or X-GitHub-Delivery is not a valid value")
    payload, problem = _parse(body, request.mimetype)
    if payload is None:
        log.warning("refused %s: %s", event, problem)
        return _error(400, problem)
    if event == "ping":
        log.info("ping: %s", payload.get("zen", ""))
        return jsonify(status="pong"), 200

    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    name = f"{event}.{action}" if action else event
    try:
        # Routing is pure, so it runs before anything is recorded: a payload the handlers
        # cannot read leaves no trace and GitHub shows the 400 in its delivery log.
        jobs = svc.router.route(event, payload, delivery_id)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("refused %s: payload lacks %r", name, exc)
        return _error(400, f"{name} payload lacks a field navbot reads: {exc!r}")

    try:
        first_time = svc.state.record_delivery(delivery_id, event, action)
    except StateError:
        log.exception("%s: cannot record the delivery", name)
        return _error(503, "navbot's state database is unavailable; redeliver later")
    if not first_time:
        log.info("%s: redelivery, already handled", name)
        return jsonify(status="duplicate"), 200
    return _enqueue(svc, name, delivery_id, jobs)


def _enqueue(svc: Services, name: str, delivery_id: str, jobs: list[Job]) -> Reply:
    for job in jobs:
        try:
            svc.queue.enqueue(job)
        except QueueError:
            log.exception("%s: cannot enqueue %s", name, job.key)
            # Forgetting the delivery makes GitHub's redelivery count; jobs enqueued before
            # the failure may then run twice, which is safe because jobs are idempotent.
            _forget(svc, delivery_id)
            return _error(503, "navbot's job queue is unavailable; redeliver later")
    keys = [job.key for job in jobs]
    log.info("%s: queued %d job(s) %s", name, len(keys), keys)
    return jsonify(status="queued", jobs=keys), 202


def _forget(svc: Services, delivery_id: str) -> None:
    try:
        svc.state.forget_delivery(delivery_id)
    except StateError:
        log.exception("cannot forget the delivery; its redelivery will be taken as a duplicate")


def _read_at_most(stream: IO[bytes], size: int) -> bytes:
    # A stream may return fewer bytes than asked, so read until `size` or the end, and
    # never more: an oversized body is refused without being read in full.
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _parse(body: bytes, mimetype: str) -> tuple[dict[str, Any] | None, str]:
    try:
        payload = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        hint = (" (set the webhook's content type to application/json)"
                if mimetype == "application/x-www-form-urlencoded" else "")
        return None, f"body is not valid JSON: {exc}{hint}"
    if not isinstance(payload, dict):
        return None, f"payload must be a JSON object, not {type(payload).__name__}"
    return payload, ""


@blueprint.get("/healthz")
def healthz() -> Reply:
    """Whether the queue and the state database answer, and how many jobs wait."""
    svc = services(current_app)
    queue_ok = svc.queue.reachable()
    state_ok = svc.state.reachable()
    healthy = queue_ok and state_ok
    return jsonify(status="ok" if healthy else "unavailable",
                   queue="ok" if queue_ok else "unreachable",
                   state="ok" if state_ok else "unreachable",
                   queue_depth=svc.queue.depth() if queue_ok else None), (
        200 if healthy else 503)


@blueprint.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Reply:
    """Every HTTP error (404, 405, …) as JSON `{"error": ...}`, like the webhook's own."""
    return _error(exc.code or 500, exc.description or exc.name)
