"""`navbot serve`'s processes: gunicorn for the webhook app and a `navbot worker`, supervised.

The web app and the workers live in their own processes: a long index or a model call never
delays an acknowledgement, and gunicorn (gthread, `webhooks/gunicorn_conf.py`) serves the
deliveries. serve binds the socket itself and hands it to gunicorn (`fd://`), so it knows
the port even when asked for any (`--port 0`). A child that dies is started again; a child
that keeps dying at once stops serve with one line. SIGTERM or SIGINT stops the children
gracefully (the worker returns its running jobs to the queue) within a bounded time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from navbot.core.errors import NavbotError

log = logging.getLogger("navbot.serve")

#: A child that exits within this many seconds of its start counts as failing to start.
QUICK_EXIT_S = 5.0
#: After this many quick exits in a row serve gives up instead of restarting forever.
MAX_QUICK_EXITS = 3
POLL_S = 0.2
#: Extra seconds children get beyond the worker's grace before they are killed.
STOP_MARGIN_S = 15.0


@dataclass
class Child:
    """One supervised process: how to start it, and its current incarnation."""

    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0

    def start(self, env: dict[str, str]) -> None:
        """Start (or start again) the process."""
        self.process = subprocess.Popen(self.argv, env=env, pass_fds=self.pass_fds,
                                        preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)


@dataclass
class Supervisor:
    """Starts the children, starts again those that die, and stops them all on a signal."""

    children: Sequence[Child]
    env: dict[str, str]
    grace_s: float
    _stopping: bool = field(default=False, init=False)

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT; raise NavbotError if a child cannot start."""
        previous = {sig: signal.signal(sig, self._stop) for sig in
                    (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                child.start(self.env)
            while not self._stopping:
                time.sleep(POLL_S)
                for child in self.children:
                    self._check(child)
        finally:
            self._stop_children()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def _check(self, child: Child) -> None:
        if child.process is None or child.process.poll() is None or self._stopping:
            return
        code = child.process.returncode
        quick = time.monotonic() - child.started_at < QUICK_EXIT_S
        child.quick_exits = child.quick_exits + 1 if quick else 0
        if child.quick_exits >= MAX_QUICK_EXITS:
            raise NavbotError(f"{child.name} exited with code {code} right after starting, "
                             f"{child.quick_exits} times in a row; see its log above")
        log.warning("%s exited with code %s; starting it again", child.name, code)
        child.start(self.env)

    def _stop_children(self) -> None:
        running = [c.process for c in self.children
                   if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s + STOP_MARGIN_S
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port) that a child process can inherit."""
    try:
        sock = socket.create_server((host, port), backlog=2048)
    except OSError as exc:
        raise NavbotError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def gunicorn_child(sock: socket.socket) -> Child:
    """gunicorn serving the webhook app on the inherited socket."""
    return Child("gunicorn", [sys.executable, "-m", "gunicorn", "-c",
                              "python:webhooks.gunicorn_conf", "--bind",
                              f"fd://{sock.fileno()}", "webhooks:create_app()"],
                 pass_fds=(sock.fileno(),))


def worker_child(threads: int, grace_s: float) -> Child:
    """A `navbot worker` process with `threads` worker threads."""
    return Child("worker", [sys.executable, "-m", "navbot", "worker", "--workers",
                            str(threads), "--grace", str(grace_s)])


def _die_with_parent() -> None:
    # If serve itself is killed, its children get SIGTERM rather than living on unsupervised
    # (Linux; elsewhere they outlive it, as any process would).
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    os.setpgid(0, 0)  # its own group: a terminal's Ctrl-C reaches serve, which stops it
