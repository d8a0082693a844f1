"""The HTTP edge: `POST /webhooks/github` turns a delivery into queued jobs; `GET /healthz`.

The view never calls GitHub, git or a model: it checks size and signature, reads the body
(bounded, `webhooks/payloads.py`), routes the payload to jobs with pure handlers, records the
delivery as pending, enqueues its jobs and marks it done. A signed delivery of the wrong
shape is a 400 with a one-line reason and a WARNING line without traceback.
"""

from __future__ import annotations

import logging
import re
from typing import IO

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.state.job import DELIVERY_ID, Job, JobError
from navbot.core.errors import QueueError, StateError
from webhooks import LOGGER_NAME, Services, current_delivery, services
from webhooks.payloads import PayloadError, action_of, parse_body, shown
from webhooks.signature import verify_signature

blueprint = Blueprint("webhooks", __name__)
log = logging.getLogger(LOGGER_NAME)

# GitHub's event names are snake_case words (`projects_v2_item`); anything else is refused
# before it reaches the logs or the deliveries table (64 characters wide). Delivery ids are
# checked the same way (bot.state.job.DELIVERY_ID).
_EVENT = re.compile(r"[a-z0-9_]{1,64}")
_READ_CHUNK = 64 * 1024

Reply = tuple[Response, int]


def _error(status: int, message: str) -> Reply:
    return jsonify(error=message), status


@blueprint.post("/webhooks/github")
def github_webhook() -> Reply:
    """Receive one GitHub delivery."""
    claimed = request.headers.get("X-GitHub-Delivery", "")
    token = current_delivery.set(claimed if DELIVERY_ID.fullmatch(claimed) else "-")
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
    if not _EVENT.fullmatch(event) or not DELIVERY_ID.fullmatch(delivery_id):
        log.warning("refused: X-GitHub-Event %s or X-GitHub-Delivery is not a valid value",
                    shown(event))
        return _error(400, "X-GitHub-Event or X-GitHub-Delivery is not a valid value")
    try:
        payload = parse_body(body, request.mimetype)
        action = action_of(payload)
    except PayloadError as exc:
        log.warning("refused %s: %s", event, shown(str(exc), 300))
        return _error(400, str(exc))
    if event == "ping":
        zen = payload.get("zen")
        log.info("ping: %s", shown(zen if isinstance(zen, str) else ""))
        return jsonify(status="pong"), 200

    name = f"{event}.{action}" if action else event
    try:
        # Routing is pure, so it runs before anything is recorded: a payload the handlers
        # cannot read leaves no trace and GitHub shows the 400 in its delivery log.
        jobs = svc.router.route(event, payload, delivery_id)
    except (PayloadError, JobError) as exc:
        log.warning("refused %s: %s", name, shown(str(exc), 300))
        return _error(400, f"{name} payload is not what navbot reads: {exc}")

    try:
        # Recorded as pending until its jobs are enqueued: if this process dies in between,
        # GitHub's redelivery is processed again instead of being taken as a duplicate.
        claimed = svc.state.record_delivery(delivery_id, event, action)
    except StateError:
        log.exception("%s: cannot record the delivery", name)
        return _error(503, "navbot's state database is unavailable; redeliver later")
    if not claimed:
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
    try:
        svc.state.finish_delivery(delivery_id)
    except StateError:
        # The jobs are queued; left pending, a later redelivery queues them again (safe).
        log.exception("%s: cannot mark the delivery done", name)
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
