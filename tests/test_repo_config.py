"""`.github/navbot.yml`: defaults, a full valid file, one clear error per broken file."""

from __future__ import annotations

import pytest

from bot.repo_config import RepoConfig, Sections, is_ignored, parse_repo_config

FULL = """\
# navbot settings for this repository
mode: on-demand
sections:
  files: true
  related: false
  changes: false
threshold: 0.4
related_threshold: 0.7
ignore:
  - "*.min.js"
  - vendor/
  - "**/fixtures/**"
max_files: 4
"""


@pytest.mark.parametrize("text", [None, "", "  \n", "# nothing set yet\n", "---\n"])
def test_missing_or_empty_file_gives_defaults_without_error(text: str | None) -> None:
    result = parse_repo_config(text)
    assert result.error is None
    assert result.config == RepoConfig()
    assert result.config.mode is None  # the installation's default (NAVBOT_DEFAULT_MODE)
    assert result.config.sections == Sections(files=True, related=True, changes=True)
    assert (result.config.threshold, result.config.related_threshold) == (None, None)
    assert (result.config.ignore, result.config.max_files) == ([], 3)
    assert result.config.enabled_sections() == frozenset({"files", "related", "changes"})


def test_full_file_is_read() -> None:
    result = parse_repo_config(FULL)
    assert result.error is None
    config = result.config
    assert config.mode == "on-demand"
    assert config.sections == Sections(files=True, related=False, changes=False)
    assert config.enabled_sections() == frozenset({"files"})
    assert (config.threshold, config.related_threshold) == (0.4, 0.7)
    assert config.ignore == ["*.min.js", "vendor/", "**/fixtures/**"]
    assert config.max_files == 4


def test_partial_sections_keep_the_other_defaults() -> None:
    result = parse_repo_config("sections:\n  related: false\nthreshold: 1\n")
    assert result.error is None
    assert result.config.enabled_sections() == frozenset({"files", "changes"})
    assert result.config.threshold == 1.0


@pytest.mark.parametrize(("text", "error"), [
    ("mode: sometimes\n", "line 1: mode: must be 'auto', 'on-demand' or 'shadow'"),
    ("threshold: 0.5\nmode: true\n", "line 2: mode: must be 'auto', 'on-demand' or 'shadow'"),
    ("colour: blue\n", "line 1: unknown setting 'colour' (known: mode, sections, threshold, "
                       "related_threshold, changes_threshold, ignore, max_files)"),
    ("sections:\n  files: true\n  diagram: true\n",
     "line 3: sections: unknown section 'diagram' (known: files, related, changes)"),
    ("sections:\n  files: 'no'\n", "line 2: sections.files: must be true or false"),
    ("sections: [files]\n", "line 1: sections: must be a mapping such as "
                            "{files: true, related: true, changes: false}"),
    ("threshold: 1.5\n", "line 1: threshold: must be a number between 0 and 1"),
    ("related_threshold: high\n", "line 1: related_threshold: must be a number between 0 and 1"),
    ("threshold: '0.5'\n", "line 1: threshold: must be a number between 0 and 1"),
    ("max_files: 0\n", "line 1: max_files: must be a whole number from 1 to 20"),
    ("max_files: 2.5\n", "line 1: max_files: must be a whole number from 1 to 20"),
    ("ignore: docs\n", "line 1: ignore: must be a list of glob patterns (strings)"),
    ("ignore:\n  - docs\n  - 12\n", "line 3: ignore: pattern 2 must be a string (quote it)"),
    ("ignore:\n  - *.min.js\n", "line 2: while scanning an alias, expected alphabetic or numeric "
                                "character, but found '.' (quote values that start with * or &, "
                                "such as '*.min.js')"),
    ("mode: auto\nsections: {files: true\n", "line 3: while parsing a flow mapping, expected ',' "
                                             "or '}', but got '<stream end>'"),
    ("mode: 'auto\n", "line 2: while scanning a quoted scalar, found unexpected end of stream"),
    ("- mode: auto\n", ".github/navbot.yml must be a mapping of settings, not a list"),
    ("just some words\n", ".github/navbot.yml must be a mapping of settings, not a str"),
    ("mode: auto\n---\nmode: on-demand\n", "line 2: expected a single document in the stream, "
                                           "but found another document"),
    ("mode: !!python/name:os.system auto\n", "line 1: could not determine a constructor for the "
                                             "tag 'tag:yaml.org,2002:python/name:os.system'"),
    ("mode: x\nmax_files: 0\n",
     "line 1: mode: must be 'auto', 'on-demand' or 'shadow' (and 1 more)"),
])
def test_broken_file_gives_defaults_and_one_clear_line(text: str, error: str) -> None:
    result = parse_repo_config(text)
    assert result.error == error
    assert "\n" not in error
    assert result.config == RepoConfig()


@pytest.mark.parametrize("text", ["[" * 5000, "a: " + "{" * 5000, "x" * 100_000, "\x00\x01",
                                  "&a [*a, *a]\n", "? [1, 2]\n: 3\n"])
def test_hostile_file_never_raises(text: str) -> None:
    result = parse_repo_config(text)
    assert result.config == RepoConfig()
    assert result.error


@pytest.mark.parametrize(("path", "patterns", "ignored"), [
    ("vendor/lib/a.js", ["vendor"], True),
    ("vendor/lib/a.js", ["vendor/"], True),
    ("vendored/a.js", ["vendor"], False),
    ("static/app.min.js", ["*.min.js"], True),
    ("src/app.js", ["*.min.js"], False),
    ("tests/fixtures/data.py", ["**/fixtures/**"], True),
    ("fixtures/data.py", ["**/fixtures/**"], True),
    ("docs/guide/intro.md", ["docs/*"], True),
    ("src/docs.py", ["docs/*"], False),
    ("src/a.py", ["./src/a.py"], True),
    ("src/A.py", ["src/a.py"], False),
    ("src/a.py", ["", "  "], False),
    ("src/a.py", [], False),
])
def test_is_ignored(path: str, patterns: list[str], ignored: bool) -> None:
    assert is_ignored(path, patterns) is ignored
