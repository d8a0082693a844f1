"""Recorded LLM calls: one human-readable JSON file per request, keyed by its content.

A recording holds the request (model, prompt name and version, messages, parameters) and the
reply (text, token counts), nothing about the account that made it, so recordings can be
committed as test fixtures and replayed without a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from navbot.core.atomic import write_atomically

log = logging.getLogger("navbot.llm")

_KEY_LENGTH = 64


@dataclass(frozen=True)
class RecordedRequest:
    """What was asked: everything that decides the reply, and nothing else."""

    model: str
    prompt_name: str
    prompt_version: int
    messages: tuple[tuple[str, str], ...]
    max_tokens: int
    temperature: float

    def key(self) -> str:
        """sha256 of the request's canonical JSON: equal requests share a recording."""
        canonical = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def as_json(self) -> dict[str, Any]:
        """The request as stored in a recording."""
        return {"model": self.model,
                "prompt": {"name": self.prompt_name, "version": self.prompt_version},
                "messages": [{"role": role, "content": content}
                             for role, content in self.messages],
                "params": {"max_tokens": self.max_tokens, "temperature": self.temperature}}


@dataclass(frozen=True)
class RecordedReply:
    """What the model answered, with the token counts it reported."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class CallCache:
    """A directory of recordings, `<key>.json` each, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        """The file that holds (or would hold) the recording of `key`."""
        if len(key) != _KEY_LENGTH or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("a recording key is 64 lowercase hex digits")
        return self.directory / f"{key}.json"

    def get(self, key: str) -> RecordedReply | None:
        """The recorded reply of `key`, or None when there is none or it cannot be read."""
        path = self.path_for(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            reply = data["reply"]
            return RecordedReply(text=str(reply["text"]),
                                 prompt_tokens=int(reply["prompt_tokens"]),
                                 completion_tokens=int(reply["completion_tokens"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged recording is a miss: live mode records it again, replay mode says so.
            log.warning("ignoring unreadable LLM recording %s (%s)", path.name,
                        type(exc).__name__)
            return None

    def put(self, request: RecordedRequest, reply: RecordedReply) -> Path:
        """Record `reply` to `request`; readers never see a half-written file."""
        key = request.key()
        path = self.path_for(key)
        record = {"key": key, "request": request.as_json(),
                  "reply": {"text": reply.text, "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens}}
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        write_atomically(path, text.encode("utf-8"))
        return path
