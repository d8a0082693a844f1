"""Killing workers at a chosen moment: a GitHub double that holds a request, and real
`navbot worker` processes to kill while it is held."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.github_double import GitHubDouble

HOLD_LIMIT_S = 60.0  # a hold nobody releases ends by itself, so a failing test cannot hang


@dataclass
class Hold:
    """One request to hold: the `skip`+1-th matching one, before or after GitHub acts on it."""

    method: str
    pattern: re.Pattern[str]
    after: bool
    skip: int
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def wait_reached(self, timeout: float = 90.0) -> None:
        """Wait until the worker's request arrived and is being held."""
        if not self.reached.wait(timeout):
            raise AssertionError(f"no {self.method} {self.pattern.pattern} arrived")

    def release(self) -> None:
        """Let the held request go on (its client may be dead by now)."""
        self.released.set()


class HoldingGitHub(GitHubDouble):
    """The GitHub double, able to hold a request until the test releases it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holds: list[Hold] = []

    def hold(self, method: str, path_regex: str, after: bool = False, skip: int = 0) -> Hold:
        """Hold the next matching request (after `skip` others), before GitHub acts on it or,
        with `after`, once it acted (a comment is stored) but before it answers."""
        hold = Hold(method.upper(), re.compile(path_regex), after, skip)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _respond(self, request: Request) -> Response:
        self._wait_if_held(request, after=False)
        response = super()._respond(request)
        self._wait_if_held(request, after=True)
        return response

    def _wait_if_held(self, request: Request, after: bool) -> None:
        with self._lock:
            hold = next((h for h in self._holds if h.after == after
                         and h.method == request.method
                         and h.pattern.search(request.path)), None)
            if hold is None:
                return
            if hold.skip:
                hold.skip -= 1
                return
            self._holds.remove(hold)
        hold.reached.set()
        hold.released.wait(HOLD_LIMIT_S)


def worker_env(overrides: dict[str, Any], private_key: str) -> dict[str, str]:
    """The environment of a `navbot worker` with the App host's settings."""
    env = {**os.environ, **{f"NAVBOT_{k.upper()}": str(v) for k, v in overrides.items()
                            if k != "private_key"}}
    env["NAVBOT_PRIVATE_KEY"] = private_key
    return env


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """A `navbot worker` process with one thread, in its own process group, logging to
    `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "navbot", "worker", "--workers", "1",
                                 *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and everything it started (git), as an OOM kill or a machine's
    crash would."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def stop(worker: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM the worker and wait for it to exit; its exit code."""
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(worker)
        raise AssertionError("the worker did not stop on SIGTERM") from None
