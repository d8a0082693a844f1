"""Settings: one object, built from `NAVBOT_*` environment variables and CLI flags.

Nothing here runs at import time; factories call :func:`load_settings`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from navbot.core.errors import ConfigError

#: Directory names that hold vendored or generated code; users never want them indexed.
DEFAULT_SKIP_DIRS = (
    "node_modules",
    "vendor",
    "third_party",
    "dist",
    "build",
    ".git",
    "__pycache__",
    ".tox",
    ".venv",
    "venv",
    "site-packages",
)

WEB_SCHEMES = ("http", "https")
#: URL settings that are not web services, and the schemes they take.
URL_SCHEMES = {"redis_url": ("redis", "rediss", "unix")}


#: How a repository lets navbot speak: post when confident (auto), only on `/navbot`
#: (on-demand), or analyse every issue and post nothing, keeping the would-be answer (shadow).
RepoMode = Literal["auto", "on-demand", "shadow"]


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("navbot", appauthor=False))


class Settings(BaseSettings):
    """Every knob navbot has. Environment: `NAVBOT_<FIELD>`; lists are JSON or comma-separated."""

    model_config = SettingsConfigDict(env_prefix="NAVBOT_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data directory.")
    max_file_bytes: int = Field(1_000_000, gt=0, description="Larger files are skipped.")
    # NoDecode: the validator below reads both forms, so a broken JSON list is a clear
    # error naming the variable rather than pydantic-settings' own parse failure.
    ignore: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra glob patterns of paths to skip."
    )
    skip_dirs: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SKIP_DIRS))
    history_max_commits: int = Field(
        20_000,
        ge=0,
        description="How many commits before the indexed one feed the history graph.",
    )
    cochange_max_files: int = Field(
        50, gt=1, description="Commits touching more files are ignored for co-change."
    )
    parse_workers: int = Field(2, ge=1, description="Processes that parse files.")
    lock_timeout_s: float = Field(0.0, ge=0, description="How long to wait for a repo lock.")
    embeddings: bool = Field(True, description="Embed synthetic questions for dense search.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="The bundled default, or a local sentence-transformers model directory.",
    )
    chroma_url: str | None = Field(None, description="A chroma server; unset: on disk.")
    post_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Confidence needed to post files; unset means the fitted default.",
    )

    # The GitHub App (webhooks, queue, workers).
    webhook_secret: SecretStr | None = Field(
        None, description="The App's webhook secret; `serve` refuses to start without it."
    )
    app_id: int | None = Field(None, description="The GitHub App's id.")
    private_key: SecretStr | None = Field(None, description="The App's private key (PEM).")
    private_key_path: Path | None = Field(None, description="A file holding the private key.")
    github_api_url: str = Field(
        "https://api.github.com", description="The REST API base (GitHub Enterprise: …/api/v3)."
    )
    github_allow_http: bool = Field(
        False, description="Send the App's credentials over plain HTTP to the GitHub host "
        "(tests; GitHub Enterprise on a private network)."
    )
    redis_url: str | None = Field(None, description="Redis for the queue; unset: SQLite.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of navbot's state; unset: SQLite under home."
    )
    max_payload_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Larger webhook bodies get 413 (GitHub caps 25 MB)."
    )
    workers: int = Field(2, ge=1, description="Worker threads of `serve` and `worker`.")
    job_retries: int = Field(5, ge=0, description="Retries of a failing job before it is failed.")
    job_retry_delay_s: float = Field(
        10.0, ge=0, description="First retry delay; it doubles on each retry."
    )
    run_wall_s: float = Field(600.0, gt=0, description="Wall-time limit of one analysis run.")
    # Shadow by default: a new installation has no track record on its repository, and a
    # wrong comment costs more than none; shadow builds that record from real issues.
    default_mode: RepoMode = Field(
        "shadow", description="Mode of a repository whose .github/navbot.yml sets none."
    )
    paused: bool = Field(False, description="Kill switch: no comment is created or edited.")
    llm_base_url: str | None = Field(
        None, description="An OpenAI-compatible API (OpenAI, vLLM, Ollama); unset: no LLM."
    )
    llm_api_key: SecretStr | None = Field(None, description="The LLM API key, if it needs one.")
    llm_cheap_model: str = Field(
        "gpt-4o-mini", description="Model for classification, queries and questions."
    )
    llm_strong_model: str = Field("gpt-4o", description="Model for suggested changes.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request.")
    llm_max_retries: int = Field(2, ge=0, description="Retries of a retryable LLM error.")
    llm_mode: Literal["live", "replay"] = Field(
        "live", description="live: cache, then the API; replay: recorded calls only."
    )
    llm_cache_dir: Path | None = Field(
        None, description="Recorded LLM calls; unset: llm-cache under home."
    )
    llm_run_calls: int = Field(8, ge=0, description="LLM calls allowed per run.")
    llm_run_tokens: int = Field(30_000, ge=0, description="LLM tokens allowed per run.")
    llm_daily_tokens: int = Field(
        500_000, ge=0, description="LLM tokens allowed per repository per day."
    )
    llm_index_questions: bool = Field(
        True, description="LLM-written synthetic questions at index time, when an LLM is set."
    )
    llm_index_files: int = Field(
        200, ge=0, description="Files asked for questions per index run; the next continues."
    )
    otel_endpoint: str | None = Field(
        None, description="An OTLP/HTTP collector (http://host:4318) for run traces; unset: none."
    )
    otel_service_name: str = Field("navbot", description="service.name of exported traces.")

    @field_validator("ignore", "skip_dirs", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg} at character {exc.pos}); "
                             "write a JSON list of strings or comma-separated values") from None

    @field_validator("chroma_url", "github_api_url", "llm_base_url", "otel_endpoint",
                     "redis_url")
    @classmethod
    def _well_formed_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            problem = url_problem(value, URL_SCHEMES.get(info.field_name or "", WEB_SCHEMES))
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _well_formed_database_url(cls, value: str | None) -> str | None:
        if value is not None:
            from sqlalchemy.engine import make_url  # only when one is set: it is not light
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except (ArgumentError, ValueError):
                raise ValueError("not an SQLAlchemy database URL "
                                 "(dialect://user:password@host/name)") from None
        return value

    def repo_dir(self, repo_key: str) -> Path:
        """The folder holding one repository's index."""
        return self.home / "repos" / repo_key

    def clone_dir(self, full_name: str) -> Path:
        """Where the App keeps its bare clone of GitHub repository `owner/name`."""
        return self.home / "clones" / (full_name.replace("/", "+") + ".git")

    def llm_cache_path(self) -> Path:
        """Where recorded LLM calls live."""
        return self.llm_cache_dir or self.home / "llm-cache"

    def state_url(self) -> str:
        """The SQLAlchemy URL of navbot's own state (deliveries, repositories, comments)."""
        return self.database_url or f"sqlite:///{self.home / 'navbot.db'}"


def url_problem(value: str, schemes: tuple[str, ...]) -> str | None:
    """Why `value` is not a URL of one of `schemes` with a host and port, or None."""
    try:
        url = urlsplit(value)
        _ = url.port  # a port that is not a number raises here
    except ValueError as exc:
        return f"not a URL: {exc}"
    if url.scheme not in schemes:
        return f"not a {' or '.join(f'{s}://' for s in schemes)} URL"
    if not url.hostname and not (url.scheme == "unix" and url.path):
        return "a URL without a host"
    return None


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment, then apply non-None CLI overrides.

    A value that does not parse is a ConfigError of one line naming its variable (or the
    keyword it was given as), never pydantic's report.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_describe(err, clean) for err in exc.errors())
    except SettingsError as exc:  # a source that cannot decode a value at all
        found = re.search(r'field "(\w+)"', str(exc))
        name = _variable(found.group(1), clean) if found else "a NAVBOT_ variable"
        problems = f"{name}: {exc.__cause__ or exc}"
    raise ConfigError(f"invalid settings: {problems}".replace("\n", " "))


def _variable(field: str, overrides: dict[str, object]) -> str:
    """How the user gave `field`: the keyword of an override, else its environment variable."""
    return field if field in overrides else f"NAVBOT_{field.upper()}"


def _describe(err: ErrorDetails, overrides: dict[str, object]) -> str:
    """One problem of a ValidationError, naming its variable and, unless secret, its value."""
    field, *inner = err["loc"]
    name = _variable(str(field), overrides)
    where = f" (item {'.'.join(str(p) for p in inner)})" if inner else ""
    message = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    shown = isinstance(given, str) and not _may_hold_secret(str(field))
    return f"{name}{where}: {message}" + (f" (got {str(given)[:60]!r})" if shown else "")


def _may_hold_secret(field: str) -> bool:
    # Secrets, and URLs, which may carry a password (redis://:pw@host, postgresql://u:pw@…).
    info = Settings.model_fields.get(field)
    if info is None:
        return False
    return (field.endswith("_url") or info.annotation is SecretStr
            or SecretStr in get_args(info.annotation))


def repo_key_for_path(path: Path, name: str | None = None) -> str:
    """A stable, filesystem-safe folder name for a local repository path."""
    resolved = path.resolve()
    base = name or resolved.name
    if base in {"repo", ".git", "repo.git"}:
        base = resolved.parent.name
    base = re.sub(r"[^A-Za-z0-9._+-]+", "_", base.removesuffix(".git")) or "repo"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return f"{base}-{digest}"
