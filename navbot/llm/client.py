"""The one edge that talks to a language model (any OpenAI-compatible API), and its budgets.

Every call goes through :meth:`LLMClient.complete`, which in order: refuses a call this run has
already made (a stage looping on the same call must stop), answers from the recordings when it
can, and otherwise checks the run's and the repository's budgets, calls the API with its own
retries of retryable errors, records the reply and counts its tokens. In replay mode nothing
touches the network. The `openai` package is imported on first live call only, so the CLI and
the webhook receiver start fast without it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from navbot.core.config import Settings
from navbot.core.errors import LLMBudgetError, LLMUnavailableError
from navbot.llm.cache import CallCache, RecordedReply, RecordedRequest
from navbot.llm.prompts import Prompt

if TYPE_CHECKING:
    import openai

log = logging.getLogger("navbot.llm")

TEMPERATURE = 0.0
CHARS_PER_TOKEN = 4
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 4.0
RETRY_AFTER_MAX_S = 10.0
TRIMMED_NOTICE = "\n…(trimmed)"


@dataclass(frozen=True)
class LLMReply:
    """A model's answer to one prompt, and what it cost (nothing when `cached`)."""

    text: str
    model: str
    prompt_name: str
    prompt_version: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool
    key: str


class UsageLedger(Protocol):
    """Tokens each repository used today, shared by every run (and process, if persistent)."""

    def tokens_today(self, repo: str) -> int:
        """Tokens `repo` used so far today."""
        ...

    def add_tokens(self, repo: str, tokens: int) -> None:
        """Count `tokens` more for `repo` today."""
        ...


class MemoryLedger:
    """A UsageLedger in memory: per process, forgotten on restart."""

    def __init__(self, today: Callable[[], date] = lambda: datetime.now(UTC).date()) -> None:
        self._today = today
        self._used: dict[tuple[str, date], int] = {}
        self._lock = threading.Lock()

    def tokens_today(self, repo: str) -> int:
        """Tokens `repo` used so far today (UTC)."""
        with self._lock:
            return self._used.get((repo, self._today()), 0)

    def add_tokens(self, repo: str, tokens: int) -> None:
        """Count `tokens` more for `repo` today (UTC)."""
        with self._lock:
            day = self._today()
            self._used[(repo, day)] = self._used.get((repo, day), 0) + tokens


class RunBudget:
    """LLM calls and tokens one pipeline run may spend, and its circuit breaker."""

    def __init__(self, max_calls: int, max_tokens: int) -> None:
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.calls = 0
        self.tokens = 0
        self._keys: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> RunBudget:
        """The per-run limits from `llm_run_calls` and `llm_run_tokens`."""
        return cls(settings.llm_run_calls, settings.llm_run_tokens)

    def enter(self, key: str, prompt_name: str) -> None:
        """Note a request; the same request twice in one run means a stage is looping."""
        if key in self._keys:
            raise LLMBudgetError(f"repeated call of prompt {prompt_name!r} in one run")
        self._keys.add(key)

    def check_call(self) -> None:
        """Refuse a model call that would pass the run's call limit or has no tokens left."""
        if self.calls >= self.max_calls:
            raise LLMBudgetError(f"run budget: all {self.max_calls} LLM calls used")
        if self.tokens >= self.max_tokens:
            raise LLMBudgetError(f"run budget: all {self.max_tokens} LLM tokens used")

    def spend(self, tokens: int) -> None:
        """Count one model call that used `tokens`."""
        self.calls += 1
        self.tokens += tokens


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about four characters per token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def trim_to_tokens(text: str, max_tokens: int) -> str:
    """`text` cut to about `max_tokens` tokens, at a line break when one is near."""
    limit = max(max_tokens, 0) * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    keep = max(limit - len(TRIMMED_NOTICE), 0)
    head = text[:keep]
    line_end = head.rfind("\n")
    # Cut at a whole line unless that would throw away more than a quarter of what fits.
    if line_end >= keep * 3 // 4:
        head = head[:line_end]
    return head + TRIMMED_NOTICE if limit >= len(TRIMMED_NOTICE) else head


class LLMClient:
    """Answers prompts with the configured model, through the recordings and the budgets."""

    def __init__(self, settings: Settings, ledger: UsageLedger | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.ledger: UsageLedger = ledger if ledger is not None else MemoryLedger()
        self.cache = CallCache(settings.llm_cache_path())
        self._sleep = sleep
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether prompts can be answered: a model is configured, or recordings are replayed."""
        return self.settings.llm_mode == "replay" or self.settings.llm_base_url is not None

    def model_for(self, prompt: Prompt) -> str:
        """The configured model for the prompt's role (cheap or strong)."""
        if prompt.model_role == "cheap":
            return self.settings.llm_cheap_model
        return self.settings.llm_strong_model

    def complete(self, prompt: Prompt, budget: RunBudget, repo: str,
                 **values: object) -> LLMReply:
        """The model's reply to `prompt` filled with `values`, for a run of `repo`."""
        request = RecordedRequest(
            model=self.model_for(prompt), prompt_name=prompt.name,
            prompt_version=prompt.version,
            messages=tuple((m["role"], m["content"]) for m in prompt.render(**values)),
            max_tokens=prompt.max_tokens, temperature=TEMPERATURE)
        key = request.key()
        budget.enter(key, prompt.name)
        recorded = self.cache.get(key)
        if recorded is not None:
            return self._reply(request, recorded, key, latency_s=0.0, cached=True)
        if self.settings.llm_mode == "replay":
            raise LLMUnavailableError(
                f"no recording for prompt {prompt.name!r} v{prompt.version} with model "
                f"{request.model!r} in {self.cache.directory} (replay mode)")
        if self.settings.llm_base_url is None:
            raise LLMUnavailableError("no LLM configured (NAVBOT_LLM_BASE_URL is unset)")
        budget.check_call()
        used_today = self.ledger.tokens_today(repo)
        if used_today >= self.settings.llm_daily_tokens:
            raise LLMBudgetError(f"daily budget: {repo} used all "
                                 f"{self.settings.llm_daily_tokens} LLM tokens today")
        started = time.monotonic()
        answer = self._call_with_retries(request)
        latency = time.monotonic() - started
        self.cache.put(request, answer)
        spent = answer.prompt_tokens + answer.completion_tokens
        budget.spend(spent)
        self.ledger.add_tokens(repo, spent)
        return self._reply(request, answer, key, latency_s=latency, cached=False)

    def _reply(self, request: RecordedRequest, answer: RecordedReply, key: str,
               latency_s: float, cached: bool) -> LLMReply:
        log.info("llm prompt=%s v%d model=%s prompt_tokens=%d completion_tokens=%d "
                 "latency=%.2fs cached=%s", request.prompt_name, request.prompt_version,
                 request.model, answer.prompt_tokens, answer.completion_tokens, latency_s,
                 cached)
        return LLMReply(text=answer.text, model=request.model, prompt_name=request.prompt_name,
                        prompt_version=request.prompt_version,
                        prompt_tokens=answer.prompt_tokens,
                        completion_tokens=answer.completion_tokens, latency_s=latency_s,
                        cached=cached, key=key)

    def _openai(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                import openai

                api_key = self.settings.llm_api_key
                self._client = openai.OpenAI(
                    base_url=self.settings.llm_base_url,
                    api_key=api_key.get_secret_value() if api_key else "unused",
                    timeout=self.settings.llm_timeout_s, max_retries=0)
            return self._client

    def _call_with_retries(self, request: RecordedRequest) -> RecordedReply:
        import openai

        client = self._openai()
        retryable = (openai.APIConnectionError, openai.RateLimitError,
                     openai.InternalServerError)
        attempts = self.settings.llm_max_retries + 1
        for attempt in range(attempts):
            try:
                return self._call_once(client, request)
            except retryable as exc:
                if attempt + 1 >= attempts:
                    raise LLMUnavailableError(
                        f"LLM unavailable after {attempts} attempt(s): "
                        f"{self._describe(exc)}") from None
                delay = _retry_delay(exc, attempt)
                log.warning("llm prompt=%s: %s; retrying in %.2fs", request.prompt_name,
                            type(exc).__name__, delay)
                self._sleep(delay)
            except openai.OpenAIError as exc:
                raise LLMUnavailableError(f"LLM request failed: {self._describe(exc)}") from None
        raise AssertionError("unreachable: the loop returns or raises")

    def _call_once(self, client: openai.OpenAI, request: RecordedRequest) -> RecordedReply:
        messages: Any = [{"role": role, "content": content}
                         for role, content in request.messages]
        completion = client.chat.completions.create(
            model=request.model, messages=messages, max_tokens=request.max_tokens,
            temperature=request.temperature)
        if not completion.choices:
            raise LLMUnavailableError(f"the model {request.model!r} returned no choices")
        text = completion.choices[0].message.content or ""
        usage = completion.usage
        if usage is None:
            # Some servers report no usage; estimate so the budgets still bind.
            prompt_chars = "".join(content for _, content in request.messages)
            return RecordedReply(text, estimate_tokens(prompt_chars), estimate_tokens(text))
        return RecordedReply(text, usage.prompt_tokens, usage.completion_tokens)

    def _describe(self, exc: openai.OpenAIError) -> str:
        """A one-line description of an API error with the API key, if any, blanked out."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            detail = f"HTTP {exc.status_code} {type(exc).__name__}: {_first_line(exc.message)}"
        else:
            detail = f"{type(exc).__name__}: {_first_line(str(exc))}"
        secret = self.settings.llm_api_key
        if secret and secret.get_secret_value():
            detail = detail.replace(secret.get_secret_value(), "***")
        return detail


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit]


def _retry_delay(exc: Exception, attempt: int) -> float:
    """Seconds before the next attempt: the server's Retry-After if it sent one, else backoff."""
    backoff = min(BACKOFF_FIRST_S * 2**attempt, BACKOFF_MAX_S)
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header is None:
        return backoff
    try:
        seconds = float(header)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return backoff
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)
