"""Signed but malformed deliveries: never a 5xx, never a job with an argument of the wrong type.

A fixed-seed generator mutates the recorded payloads of `tests/payloads/` at every path (types
swapped, numbers out of range, bad text, deep nesting, invalid UTF-8) and posts each mutation,
signed, to the real app with its SQLite queue and state. What the queue then holds is read
back from huey and checked against the job types written out here, independently of
`bot.state.job`'s own checks.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.state.job import Job, JobError
from bot.state.store import StateStore
from tests.deliveries import PAYLOADS, delivery_headers, load_payload
from webhooks import LOGGER_NAME, services
from webhooks.payloads import MAX_DEPTH, nesting_depth, shown

URL = "/webhooks/github"
SEED = 18
RAW = "__navbot_raw_json__"  # replaced by raw bytes after json.dumps

Path_ = tuple[str | int, ...]

# What navbot reads of each recorded payload (`action` of every one; "*" is any list index).
# A mutation at one of these paths, or at a parent of one, may change the answer; any other
# must not.
READS: dict[str, set[Path_]] = {
    "issues": {("installation", "id"), ("repository", "id"), ("repository", "full_name"),
               ("issue", "number"), ("issue", "pull_request"), ("issue", "user", "id"),
               ("issue", "user", "login"), ("issue", "user", "type"), ("sender", "id"),
               ("sender", "login"), ("sender", "type"), ("changes",)},
    "push": {("installation", "id"), ("repository", "id"), ("repository", "full_name"),
             ("repository", "default_branch"), ("ref",), ("deleted",)},
    "pull_request": {("installation", "id"), ("repository", "id"), ("repository", "full_name"),
                     ("pull_request", "merged")},
    "installation": {("installation", "id")},
    "installation_repositories": {("installation", "id"), ("repositories_added", "*", "id"),
                                  ("repositories_added", "*", "full_name"),
                                  ("repositories_removed", "*", "id"),
                                  ("repositories_removed", "*", "full_name")},
    "ping": set(),
}
READS["issue_comment"] = READS["issues"] | {
    ("comment", "id"), ("comment", "body"), ("comment", "author_association"),
    ("comment", "user", "id"), ("comment", "user", "login"), ("comment", "user", "type")}

# Values swapped in at a path: every JSON type, and what breaks numbers and text.
SWAPS: list[Any] = [
    {"k": 1}, [1, "x"], [], "42", "", 42, 4.5, None, True, False,
    2**70, -1, 0, ("raw", b"1e400"), "\ud800", "nul\x00here", "line\nFORGED log line",
    "é" * 300,
]


@dataclass(frozen=True)
class Mutation:
    """One signed delivery to post: the event, its body, and what was changed where."""

    event: str
    recorded: str  # the payload file it came from
    path: Path_
    kind: str
    body: bytes

    @property
    def touches_reads(self) -> bool:
        """Whether the change is at, or above, a field navbot reads."""
        reads = READS[self.event] | {("action",)}
        return any(len(read) >= len(self.path)
                   and all(r in ("*", p) for r, p in zip(read, self.path, strict=False))
                   for read in reads)

    @property
    def whole_body(self) -> bool:
        """Whether the change makes the whole body unreadable (too deep, not UTF-8)."""
        return self.kind in ("deep", "invalid-utf8")


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _set(payload: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


def _body(payload: dict[str, Any], path: Path_, value: Any) -> bytes:
    if isinstance(value, tuple):  # raw JSON text that json.dumps cannot write
        return json.dumps(_set(payload, path, RAW)).encode().replace(
            f'"{RAW}"'.encode(), value[1])
    return json.dumps(_set(payload, path, value)).encode()


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for level in range(levels):
        value = [value] if level % 2 else {"d": value}
    return value


def _deep_raw(levels: int) -> tuple[str, bytes]:
    # Written out as text: json.dumps itself cannot go 5,000 levels deep.
    half = levels // 2
    return "raw", b'{"d": [' * half + b'"bottom"' + b"]}" * half


def _recorded() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name.split(".")[0], name, load_payload(name))
            for name in sorted(p.stem for p in PAYLOADS.glob("*.json"))]


def mutations(seed: int = SEED) -> list[Mutation]:
    """Every mutation of the recorded payloads, deterministic for a seed.

    Each path gets one swapped value (in turn, from a seeded shuffle); the paths navbot reads
    and their parents get every swap; each payload also gets deep nesting in a field navbot
    never reads (5,000 levels, refused, and 40, accepted), invalid UTF-8 in a string and,
    when it has an action, an action of 10 MB.
    """
    rng = random.Random(seed)
    made: list[Mutation] = []
    for event, name, payload in _recorded():
        order = SWAPS[:]
        rng.shuffle(order)
        for i, path in enumerate(_paths(payload)):
            chosen = [order[i % len(order)]]
            probe = Mutation(event, name, path, "", b"")
            if probe.touches_reads:
                chosen = SWAPS
            made.extend(Mutation(event, name, path, f"swap {_label(value)}",
                                 _body(payload, path, value)) for value in chosen)
        unread = ("never_read_by_navbot",)
        made.append(Mutation(event, name, unread, "deep", _body(payload, unread, _deep_raw(5000))))
        made.append(Mutation(event, name, unread, "nested 40",
                             _body(payload, unread, _deep(40))))
        made.append(Mutation(event, name, unread, "invalid-utf8",
                             _body(payload, unread, ("raw", b'"caf\xe9 \xff\xfe"'))))
        if "action" in payload:
            made.append(Mutation(event, name, ("action",), "10MB",
                                 _body(payload, ("action",), "opened" * 1_750_000)))
    return made


def _label(value: Any) -> str:
    return shown(value[1].decode() if isinstance(value, tuple) else json.dumps(value), 20)


# Independent of bot.state.job: what each argument of a queued job must be.
FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
TRIGGERS = {"opened", "reopened", "edited", "run", "rerun", "help", "stop", "focus"}


def assert_well_typed(name: str, args: dict[str, Any]) -> None:
    """Fail unless every argument of queued job `name(args)` has the type its worker takes."""
    assert name in {"sync_installation", "forget_installation", "suspend_installation",
                    "sync_repository", "forget_repository", "ingest_history", "analyse_issue"}
    for key, value in args.items():
        if key in ("installation_id", "repo_id", "comment_id"):
            assert type(value) is int and 0 < value < 2**63, (name, key, value)
        elif key == "number":
            assert type(value) is int and 0 < value < 2**31, (name, key, value)
        elif key == "full_name":
            assert isinstance(value, str) and FULL_NAME.fullmatch(value), (name, key, value)
            assert ".." not in value.split("/"), (name, key, value)
        elif key == "trigger":
            assert value in TRIGGERS, (name, key, value)
        elif key in ("suspended", "maintainer"):
            assert type(value) is bool, (name, key, value)
        elif key == "delivery_id":
            assert isinstance(value, str) and re.fullmatch(r"[0-9a-f-]{36}", value)
        else:
            pytest.fail(f"{name} carries an unknown argument {key!r}")


# The fault suite ----------------------------------------------------------------------------

def _post(client: FlaskClient, event: str, body: bytes, secret: str,
          delivery_id: str) -> Any:
    return client.post(URL, data=body,
                       headers=delivery_headers(event, body, secret, delivery_id))


def _answer(reply: Any, delivery_id: str) -> tuple[int, list[str] | None]:
    """Status and job keys of a reply, the delivery id written as DELIVERY."""
    jobs = reply.json.get("jobs")
    return reply.status_code, (None if jobs is None
                               else [key.replace(delivery_id, "DELIVERY") for key in jobs])


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything the receiver's logger writes during the test, as its handler prints it."""
    handler = logging.getLogger(LOGGER_NAME).handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        yield captured
    finally:
        handler.setStream(previous)


def test_mutations_are_many_and_deterministic() -> None:
    made = mutations()
    assert len(made) >= 1000
    assert [m.body for m in made[:50]] == [m.body for m in mutations()[:50]]
    kinds = {m.kind.split(" ")[0] for m in made}
    assert kinds == {"swap", "deep", "nested", "invalid-utf8", "10MB"}
    assert nesting_depth(next(m.body for m in made if m.kind == "deep")) > 5000


def test_signed_mutations_never_get_a_5xx_nor_queue_a_wrong_type(
        app: Flask, client: FlaskClient, webhook_secret: str,
        captured_log: io.StringIO) -> None:
    rng = random.Random(SEED)
    baseline: dict[str, tuple[int, list[str] | None]] = {}
    for event, name, payload in _recorded():
        delivery_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        reply = _post(client, event, json.dumps(payload).encode(), webhook_secret,
                      delivery_id)
        baseline[name] = _answer(reply, delivery_id)
    assert baseline["issues.opened"][0] == 202 and baseline["ping"][0] == 200

    statuses: dict[int, int] = {}
    queued = sum(len(jobs or []) for _status, jobs in baseline.values())
    for mutation in mutations():
        delivery_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        reply = _post(client, mutation.event, mutation.body, webhook_secret, delivery_id)
        where = (mutation.recorded, mutation.path, mutation.kind)
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        assert reply.status_code < 500, where
        if reply.status_code == 400:
            assert "\n" not in reply.json["error"], where
        if mutation.whole_body:
            assert reply.status_code == 400, where
        elif not mutation.touches_reads:
            # A field navbot never reads changes nothing, whatever it holds.
            assert _answer(reply, delivery_id) == baseline[mutation.recorded], where
        queued += len(reply.json.get("jobs") or [])

    assert statuses[400] > 500 and statuses[202] > 500
    tasks = services(app).queue.huey.pending()
    assert len(tasks) == queued
    for task in tasks:
        name, args = task.args
        assert_well_typed(name, args)
    # A newline the sender wrote never starts a log line of its own.
    assert not any(line.startswith("FORGED") for line in captured_log.getvalue().splitlines())


def test_deep_nesting_is_refused_before_parsing(client: FlaskClient, app: Flask,
                                                webhook_secret: str) -> None:
    payload = load_payload("issues.opened", never_read_by_navbot=_deep(MAX_DEPTH + 1))
    reply = _post(client, "issues", json.dumps(payload).encode(), webhook_secret,
                  str(uuid.uuid4()))

    assert reply.status_code == 400
    assert f"navbot reads at most {MAX_DEPTH}" in reply.json["error"]
    assert services(app).state.delivery_count() == 0


@pytest.mark.parametrize(("body", "depth"), [
    (b'{"a": [1, {"b": "[[[{{"}]}', 3),
    (b'{"a": "\\"[[[", "b": [["\\\\"]]}', 3),
    (b'["\\u005b", "]]]]"]', 1),
    (b"42", 0),
])
def test_nesting_depth_ignores_brackets_in_strings(body: bytes, depth: int) -> None:
    json.loads(body)  # each is valid JSON
    assert nesting_depth(body) == depth


# Log lines ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("event", "name", "field"), [
    ("issues", "issues.opened", "action"),
    ("ping", "ping", "zen"),
])
def test_a_newline_from_the_sender_never_forges_a_log_line(
        client: FlaskClient, webhook_secret: str, captured_log: io.StringIO,
        event: str, name: str, field: str) -> None:
    forged = "opened\n2024-05-14 10:00:00 ERROR navbot.webhooks [delivery x] forged"
    payload = load_payload(name, **{field: forged})

    reply = _post(client, event, json.dumps(payload).encode(), webhook_secret, "log-1")

    assert reply.status_code == (400 if field == "action" else 200)
    lines = captured_log.getvalue().splitlines()
    assert lines and all("[delivery log-1]" in line for line in lines)
    assert not any(line.startswith("2024-05-14 10:00:00 ERROR") for line in lines)


def test_an_invalid_event_name_is_logged_escaped(client: FlaskClient, webhook_secret: str,
                                                 captured_log: io.StringIO) -> None:
    body = json.dumps(load_payload("issues.opened")).encode()
    headers = delivery_headers("issues", body, webhook_secret, "log-2")
    headers["X-GitHub-Event"] = "Issues " + "x" * 500

    reply = client.post(URL, data=body, headers=headers)

    assert reply.status_code == 400
    (line,) = captured_log.getvalue().splitlines()
    assert "'Issues xxx" in line and len(line) < 300


# Jobs and failures --------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "args", "problem"), [
    ("sync_installation", {"installation_id": "42"}, "installation_id must be"),
    ("sync_installation", {"installation_id": [42]}, "installation_id must be"),
    ("sync_installation", {"installation_id": True}, "installation_id must be"),
    ("sync_installation", {"installation_id": 2**63}, "installation_id must be"),
    ("sync_installation", {"installation_id": 0}, "installation_id must be"),
    ("sync_installation", {"installation_id": 1, "extra": 1}, "unknown argument"),
    ("sync_repository", {"installation_id": 1, "repo_id": 2, "full_name": "shop"},
     "full_name must be owner/name"),
    ("sync_repository", {"installation_id": 1, "repo_id": 2, "full_name": "octo/.."},
     "full_name must be owner/name"),
    ("sync_repository", {"installation_id": 1, "repo_id": 2, "full_name": "a/b\nc"},
     "full_name must be owner/name"),
    ("suspend_installation", {"installation_id": 1, "suspended": "yes"}, "suspended must"),
    ("analyse_issue", {"installation_id": 1, "repo_id": 2, "full_name": "a/b", "number": 3,
                       "trigger": "labeled"}, "trigger must be one of"),
    ("analyse_issue", {"installation_id": 1, "repo_id": 2, "full_name": "a/b", "number": 3,
                       "trigger": "run", "delivery_id": "a\nb"}, "delivery_id must be"),
])
def test_a_job_with_an_argument_of_the_wrong_type_cannot_be_made(
        name: str, args: dict[str, Any], problem: str) -> None:
    with pytest.raises(JobError, match=problem):
        Job(name, args)


def test_optional_job_arguments_may_be_none() -> None:
    # What a resumed run queues again: the job it was started by, absent ids as None.
    job = Job("analyse_issue", {"installation_id": 1, "repo_id": 2, "full_name": "a/b",
                                "number": 3, "trigger": "opened", "comment_id": None,
                                "delivery_id": None})
    assert job.args["comment_id"] is None


def test_record_failure_keeps_any_text(tmp_path: Path) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

    state.record_failure("sync_installation(installation_id=\ud800\x00)", "boom \udfff" * 10**6)

    (row,) = state.failures()
    assert row["job"] == "sync_installation(installation_id=\\ud800\\x00)"
    assert row["error"].startswith("boom \\udfff") and len(row["error"]) == 2000
