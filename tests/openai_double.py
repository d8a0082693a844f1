"""A local OpenAI-compatible API for tests: `POST /v1/chat/completions` over real HTTP.

Use it as a context manager and point navbot at it::

    with OpenAIDouble(responder=lambda request: "parse_config\\nload settings") as api:
        settings = load_settings(home=tmp_path, llm_base_url=api.base_url, llm_api_key="k")
        ...
        assert len(api.requests) == 1

Knobs, all safe to change while serving:

- `responder(request_json) -> str` decides the reply text (default: echoes the last message).
- `fail_next(status, times=1, headers=None)` answers the next requests with an OpenAI-style
  error (500, 429 with `Retry-After`, 400, ...).
- `delay_s` sleeps before answering, to provoke client timeouts.
- `tokens = (prompt, completion)` fixes the reported usage; None estimates it from lengths.
- `block`: a `threading.Event`. While it is given and not set, every request waits for it
  after being recorded in `requests`, so a test can act while a caller is stuck mid-request
  (e.g. kill a worker) and then release it with `block.set()`. `wait_for_requests(n)` waits
  until n requests have arrived. Stopping the double sets `block` so no handler hangs.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.local_server import LocalServer

__all__ = ["OpenAIDouble", "echo_last_message"]

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                404: "not_found_error", 429: "rate_limit_exceeded"}


def echo_last_message(request: dict[str, Any]) -> str:
    """The default reply: "echo: " and the last message's content."""
    messages = request.get("messages") or [{"content": ""}]
    return f"echo: {messages[-1].get('content', '')}"


@dataclass
class _Fault:
    status: int
    headers: dict[str, str]
    times: int




class OpenAIDouble(LocalServer):
    """A fake OpenAI chat-completions server on 127.0.0.1, on an ephemeral port."""

    def __init__(self, responder: Callable[[dict[str, Any]], str] = echo_last_message,
                 delay_s: float = 0.0, block: threading.Event | None = None,
                 tokens: tuple[int, int] | None = None) -> None:
        self.responder = responder
        self.delay_s = delay_s
        self.block = block
        self.tokens = tokens
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._arrived = threading.Condition()

    def stop(self) -> None:
        """Release blocked requests, stop serving and close the socket."""
        if self.block is not None:
            self.block.set()
        super().stop()

    @property
    def base_url(self) -> str:
        """The API base to configure as `llm_base_url` (ends in /v1)."""
        if self._server is None:
            raise RuntimeError("the double is not running")
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    # -- helpers for tests -----------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` chat requests with an error of HTTP `status`."""
        with self._arrived:
            self._faults.append(_Fault(status, dict(headers or {}), times))

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least `count` requests arrived; False if `timeout` passed first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return _error(404, f"Unknown request URL: {request.method} {request.path}")
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        with self._arrived:
            self.requests.append(body)
            self.authorizations.append(request.headers.get("Authorization"))
            self._arrived.notify_all()
        if self.block is not None:
            self.block.wait()
        if self.delay_s:
            time.sleep(self.delay_s)
        fault = self._take_fault()
        if fault is not None:
            return _error(fault.status, f"Injected failure (HTTP {fault.status}).",
                          fault.headers)
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            return _error(400, "'model' and 'messages' are required.")
        return self._completion(body)

    def _take_fault(self) -> _Fault | None:
        with self._arrived:
            for fault in self._faults:
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _completion(self, body: dict[str, Any]) -> Response:
        text = self.responder(body)
        if self.tokens is not None:
            prompt_tokens, completion_tokens = self.tokens
        else:
            prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
            prompt_tokens, completion_tokens = prompt_chars // 4 + 1, len(text) // 4 + 1
        payload = {
            "id": f"chatcmpl-double-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        return Response(json.dumps(payload), 200, content_type="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return Response(json.dumps(body), status, headers or {}, content_type="application/json")
