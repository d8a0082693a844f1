"""Incremental reindexing gives exactly the graph a full index would."""

from __future__ import annotations

from pathlib import Path

from indexer.build import Indexer
from navbot.core.config import Settings, load_settings
from tests.gitfixture import GitFixture


def _full(home: Path, repo: GitFixture, commit: str):
    # A separate home, so the full index cannot reuse anything.
    settings = load_settings(home=home)
    return Indexer(settings).index(repo.path, commit=commit, full=True)


def test_incremental_equals_full_over_a_sequence_of_commits(
        settings: Settings, history_repo, tmp_path: Path) -> None:
    repo, shas = history_repo
    initial, circles, _docs_on_a_branch, tidy, merge, squash, drop = shas
    indexer = Indexer(settings)
    first = indexer.index(repo.path, commit=initial)
    assert not first.incremental
    # Each step descends from the one before: adds, modifies, merges, renames, deletes.
    for step, sha in enumerate([circles, tidy, merge, squash, drop], start=1):
        incremental = indexer.index(repo.path, commit=sha)
        full = _full(tmp_path / f"full-{step}", repo, sha)
        assert incremental.incremental and not full.incremental
        assert incremental.graph.nodes == full.graph.nodes, f"nodes differ at step {step}"
        assert incremental.graph.edges == full.graph.edges, f"edges differ at step {step}"


def test_incremental_reparses_only_changed_files(settings: Settings, history_repo) -> None:
    repo, _shas = history_repo
    indexer = Indexer(settings)
    indexer.index(repo.path)
    head = repo.commit("Touch one file", {"shapes/circle.py": "class Circle:\n    pass\n"})
    result = indexer.index(repo.path, commit=head)
    assert result.incremental
    assert result.reparsed == 1
    assert result.new_commits == 1


def test_same_commit_again_reparses_nothing(settings: Settings, history_repo) -> None:
    repo, _ = history_repo
    indexer = Indexer(settings)
    indexer.index(repo.path)
    again = indexer.index(repo.path)
    assert again.incremental and again.reparsed == 0 and again.new_commits == 0


def test_force_push_falls_back_to_a_full_index(settings: Settings, history_repo) -> None:
    repo, shas = history_repo
    indexer = Indexer(settings)
    indexer.index(repo.path)
    repo.git("checkout", "-q", "-b", "rewritten", shas[1])
    rewritten = repo.commit("A different future", {"other.py": "def other():\n    pass\n"})
    result = indexer.index(repo.path, commit=rewritten)
    assert not result.incremental
    assert "file:other.py" in {n for n, _ in result.graph.nodes}


def test_changed_settings_force_a_full_index(home: Path, history_repo) -> None:
    repo, _ = history_repo
    Indexer(load_settings()).index(repo.path)
    result = Indexer(load_settings(max_file_bytes=10)).index(repo.path)
    assert not result.incremental
