"""Golden tests: each language fixture's extracted facts match a checked-in JSON file.

Regenerate after an intended change with `NAVBOT_UPDATE_GOLDEN=1 pytest tests/test_languages.py`
and review the diff by hand: the golden files are the specification.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from indexer.languages import GRAMMARS, language_for
from indexer.parse import extract

FIXTURES = Path(__file__).parent / "fixtures" / "languages"
GOLDEN = Path(__file__).parent / "golden"
SAMPLES = sorted(p for p in FIXTURES.iterdir() if p.is_file())


def _facts_for(sample: Path) -> dict[str, object]:
    language = language_for(sample.name)
    facts = asdict(extract(sample.name, "0" * 40, sample.read_bytes(), language))
    return {k: facts[k] for k in ("language", "doc", "defs", "imports", "calls", "error")}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_extracted_facts_match_golden(sample: Path) -> None:
    golden = GOLDEN / f"{sample.name}.json"
    actual = _facts_for(sample)
    if os.environ.get("NAVBOT_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n")
    assert golden.exists(), f"no golden file for {sample.name}; see this module's docstring"
    assert actual == json.loads(golden.read_text())


def test_every_language_has_a_fixture_and_a_query() -> None:
    covered = {language_for(p.name) for p in SAMPLES}
    assert covered >= set(GRAMMARS)
    queries = Path(__file__).parents[1] / "indexer" / "queries"
    assert {p.stem for p in queries.glob("*.scm")} == set(GRAMMARS)
