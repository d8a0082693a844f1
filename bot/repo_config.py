"""A repository's own settings for navbot, from `.github/navbot.yml` on its default branch.

Parsing never fails the job: a broken file means the defaults plus a one-line error the App
can show to the maintainers, who wrote the file and can fix it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from navbot.core.config import RepoMode

CONFIG_PATH = ".github/navbot.yml"
MAX_CONFIG_CHARS = 64_000

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Sections(BaseModel):
    """Which parts of an answer to show."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    files: bool = True
    related: bool = True
    changes: bool = True


class RepoConfig(BaseModel):
    """The settings a repository can choose."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # auto: analyse opened issues and post only when confident; on-demand: only on /navbot;
    # shadow: analyse as auto, post nothing but a maintainer's /navbot. Unset: the
    # installation's default (NAVBOT_DEFAULT_MODE).
    mode: RepoMode | None = None
    sections: Sections = Field(default_factory=Sections)
    threshold: Fraction | None = None  # overrides the default posting threshold for files
    related_threshold: Fraction | None = None
    changes_threshold: Fraction | None = None  # unset: the files threshold
    ignore: list[str] = Field(default_factory=list)  # globs of paths never to suggest
    # Three by default: the calibrated confidence is about the top three files.
    max_files: int = Field(default=3, ge=1, le=20)

    def enabled_sections(self) -> frozenset[str]:
        """The sections switched on, as `comment.Answer.sections` takes them."""
        return frozenset(name for name, on in self.sections.model_dump().items() if on)


@dataclass(frozen=True)
class ConfigResult:
    """The settings to use, and what was wrong with the file if anything."""

    config: RepoConfig
    error: str | None


_FIELD_HINTS = {
    "mode": "must be 'auto', 'on-demand' or 'shadow'",
    "sections": "must be a mapping such as {files: true, related: true, changes: false}",
    "threshold": "must be a number between 0 and 1",
    "related_threshold": "must be a number between 0 and 1",
    "ignore": "must be a list of glob patterns (strings)",
    "max_files": "must be a whole number from 1 to 20",
}


def parse_repo_config(text: str | None) -> ConfigResult:
    """The settings in `text` (the file's content, None if absent); never raises."""
    if text is None or not text.strip():
        return ConfigResult(RepoConfig(), None)
    if len(text) > MAX_CONFIG_CHARS:
        return _failed(f"{CONFIG_PATH} is too large (over {MAX_CONFIG_CHARS} characters)")
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        return _failed(_yaml_message(exc))
    except (yaml.YAMLError, RecursionError) as exc:
        return _failed(f"{CONFIG_PATH} is not valid YAML: {exc}".splitlines()[0])
    if data is None:
        return ConfigResult(RepoConfig(), None)
    if not isinstance(data, dict):
        return _failed(f"{CONFIG_PATH} must be a mapping of settings, not a "
                       f"{type(data).__name__}")
    try:
        return ConfigResult(RepoConfig.model_validate(data), None)
    except ValidationError as exc:
        return _failed(_validation_message(exc, text))


def is_ignored(path: str, patterns: list[str]) -> bool:
    """Whether `path` matches a pattern, itself or through a folder it is in.

    Patterns are fnmatch globs on the whole path ("*" also crosses "/"); "**/" may match no
    folder at all, and a pattern naming a folder ("vendor", "docs/") covers what is inside.
    """
    path = path.lstrip("/")
    folders = [path[:i] for i, char in enumerate(path) if char == "/"]
    for pattern in patterns:
        pattern = pattern.strip().removeprefix("./").lstrip("/").rstrip("/")
        if not pattern:
            continue
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(candidate, variant)
               for variant in variants for candidate in [path, *folders]):
            return True
    return False


def _failed(error: str) -> ConfigResult:
    return ConfigResult(RepoConfig(), error)


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}: " if mark is not None else ""
    problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    hint = ""
    if "alias" in str(exc.context) or "anchor" in str(exc.context):
        hint = " (quote values that start with * or &, such as '*.min.js')"
    return f"{where}{problem}{hint}"


def _validation_message(exc: ValidationError, text: str) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    message = _describe(first["type"], loc, first["msg"])
    line = _line_of(text, loc)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{f'line {line}: ' if line else ''}{message}{more}"


def _describe(kind: str, loc: tuple[Any, ...], fallback: str) -> str:
    top = str(loc[0]) if loc else ""
    if kind in ("extra_forbidden", "invalid_key") and len(loc) == 1:
        known = ", ".join(RepoConfig.model_fields)
        return f"unknown setting '{top}' (known: {known})"
    if top == "sections" and len(loc) == 2:
        if kind in ("extra_forbidden", "invalid_key"):
            known = ", ".join(Sections.model_fields)
            return f"sections: unknown section '{loc[1]}' (known: {known})"
        return f"sections.{loc[1]}: must be true or false"
    if top == "ignore" and len(loc) == 2:
        return f"ignore: pattern {int(loc[1]) + 1} must be a string (quote it)"
    if top in _FIELD_HINTS:
        return f"{top}: {_FIELD_HINTS[top]}"
    return f"{'.'.join(str(part) for part in loc)}: {fallback}"


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest key or item of `loc` found in the YAML `text`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last of repeated keys is the one that counts, as in yaml.safe_load.
            match = next(((key, value) for key, value in reversed(node.value)
                          if isinstance(key, yaml.ScalarNode) and key.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
