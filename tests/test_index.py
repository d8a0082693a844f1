"""The knowledge graph of a real fixture repository: code, history and what is skipped."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from indexer.build import Indexer
from indexer.gitrepo import run_git
from indexer.store import IndexStore
from navbot.core.config import Settings
from navbot.core.errors import GitTimeoutError
from tests.gitfixture import GitFixture


def _edges(graph: nx.MultiDiGraph, kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, k in graph.edges(keys=True) if k == kind}


@pytest.fixture
def indexed(settings: Settings, history_repo: tuple[GitFixture, list[str]]
            ) -> tuple[nx.MultiDiGraph, list[str]]:
    repo, shas = history_repo
    result = Indexer(settings).index(repo.path)
    return result.graph.to_networkx(), shas


def test_code_graph_has_files_symbols_imports_calls_and_inheritance(indexed) -> None:
    graph, _ = indexed
    files = {n for n, a in graph.nodes(data=True) if a["kind"] == "file"}
    assert files == {"file:app.py", "file:shapes/__init__.py", "file:shapes/base.py",
                     "file:shapes/circle.py", "file:docs/circle.md"}
    assert graph.nodes["file:shapes/base.py"]["module"] == "shapes.base"
    assert graph.nodes["sym:shapes/base.py::Shape.area"]["symbol_kind"] == "method"
    assert ("dir:shapes", "file:shapes/base.py") in _edges(graph, "contains")
    assert ("dir:", "dir:shapes") in _edges(graph, "contains")
    assert ("file:shapes/base.py", "sym:shapes/base.py::Shape") in _edges(graph, "defines")
    assert _edges(graph, "imports") >= {("file:app.py", "file:shapes/base.py"),
                                        ("file:shapes/circle.py", "file:shapes/base.py")}
    assert ("sym:app.py::main", "sym:shapes/base.py::area_of") in _edges(graph, "calls")
    assert ("sym:app.py::main", "sym:shapes/base.py::Shape") in _edges(graph, "calls")
    assert _edges(graph, "inherits") == {
        ("sym:shapes/circle.py::Circle", "sym:shapes/base.py::Shape")}


def test_history_graph_follows_renames_and_links_prs_and_issues(indexed) -> None:
    graph, shas = indexed
    initial, circles, docs, tidy, merge, squash, drop = shas
    assert graph.nodes[f"commit:{merge}"]["merge"] is True
    assert not [e for e in graph.out_edges(f"commit:{merge}", keys=True) if e[2] == "modifies"]
    modifies = _edges(graph, "modifies")
    # core.py was renamed to base.py; its older history belongs to base.py now.
    assert (f"commit:{initial}", "file:shapes/base.py") in modifies
    assert graph.edges[f"commit:{circles}", "file:shapes/base.py", "modifies"]["added"] == 3
    assert ("author:bob@example.com", f"commit:{circles}") in _edges(graph, "authored")
    assert graph.nodes["author:bob@example.com"]["name"] == "Bob Builder"
    assert graph.nodes["pr:7"]["title"] == "Document circles"
    assert graph.nodes["pr:12"]["title"] == "Rename core to base"
    part_of = _edges(graph, "part_of")
    assert {(f"commit:{docs}", "pr:7"), (f"commit:{merge}", "pr:7"),
            (f"commit:{squash}", "pr:12")} <= part_of
    assert (f"commit:{tidy}", "pr:7") not in part_of
    assert ("pr:7", "file:docs/circle.md") in modifies
    assert (f"commit:{circles}", "issue:3") in _edges(graph, "fixes")
    assert (f"commit:{docs}", "issue:4") in _edges(graph, "mentions")
    assert (f"commit:{drop}", "issue:owner/other#5") in _edges(graph, "fixes")
    co_change = graph.edges["file:shapes/base.py", "file:shapes/circle.py", "co_changes"]
    assert co_change["weight"] == 2  # commits "Add circles" and the squash


def test_skips_binary_files_and_deleted_paths(settings: Settings, history_repo) -> None:
    repo, _ = history_repo
    result = Indexer(settings).index(repo.path)
    nodes = {n for n, _ in result.graph.nodes}
    assert "file:logo.png" not in nodes
    assert "file:README.md" not in nodes


def test_history_stops_at_the_indexed_commit(settings: Settings, history_repo) -> None:
    repo, shas = history_repo
    graph = Indexer(settings).index(repo.path, commit=shas[1]).graph.to_networkx()
    commits = {a["sha"] for _, a in graph.nodes(data=True) if a["kind"] == "commit"}
    assert commits == set(shas[:2])
    assert "file:shapes/core.py" in graph


def test_history_window_setting_caps_commits(home: Path, history_repo) -> None:
    from navbot.core.config import load_settings

    repo, shas = history_repo
    graph = Indexer(load_settings(history_max_commits=2)).index(repo.path).graph
    commits = [n for n, a in graph.nodes if a["kind"] == "commit"]
    assert sorted(commits) == sorted(f"commit:{s}" for s in shas[-2:])


def test_skip_rules_cover_vendored_large_ignored_and_minified(home: Path, tmp_path: Path
                                                               ) -> None:
    from navbot.core.config import load_settings

    repo = GitFixture(tmp_path / "skips")
    repo.commit("files", {
        "keep.py": "def kept():\n    pass\n",
        "node_modules/lib/index.js": "function vendored() {}\n",
        "third_party/x.c": "int x(void) { return 1; }\n",
        "big.txt": "x" * 5000,
        "gen/out_pb2.py": "X = 1\n",
        "app.min.js": "var a=1;\n",
        "bundle.js": "var a=1;" * 2000,
        "static/underscore-1.13.1.js": "function copied() {}\n",
        "static/app-v2.js": "function ours() {}\n",
    })
    settings = load_settings(max_file_bytes=4000, ignore=["*_pb2.py"])
    nodes = {n for n, _ in Indexer(settings).index(repo.path).graph.nodes}
    assert {n for n in nodes if n.startswith("file:")} == {"file:keep.py", "file:static/app-v2.js"}


def test_symlinks_are_not_followed(settings: Settings, tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "links")
    (repo.path / "real.py").write_text("def real():\n    pass\n")
    (repo.path / "link.py").symlink_to("real.py")
    repo.git("add", "real.py", "link.py")
    repo.commit("with a symlink")
    nodes = {n for n, _ in Indexer(settings).index(repo.path).graph.nodes}
    assert "file:real.py" in nodes and "file:link.py" not in nodes


def test_bare_mirror_is_indexed_without_a_work_tree(settings: Settings, history_repo,
                                                    tmp_path: Path) -> None:
    repo, shas = history_repo
    bare = tmp_path / "mirror.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    result = Indexer(settings).index(bare)
    assert result.commit == shas[-1]
    assert result.counts["file"] == 5


def test_absent_blobs_are_skipped_and_history_keeps_their_commits(settings: Settings,
                                                                  tmp_path: Path) -> None:
    # A partial clone or a trimmed mirror lists blobs it does not have: ls-tree prints
    # "BAD" for their size and `git log --numstat` cannot count their lines.
    repo = GitFixture(tmp_path / "trimmed")
    repo.commit("Add code", {"pkg/code.py": "def f():\n    return 1\n"})
    big = repo.commit("Add data", {"pkg/data.txt": "0123456789\n" * 50})
    repo.commit("Change code", {"pkg/code.py": "def f():\n    return 2\n"})
    blob = repo.git("rev-parse", f"{big}:pkg/data.txt")
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()

    result = Indexer(settings).index(repo.path)
    state = IndexStore.for_path(settings, repo.path).load_state()
    assert state.skipped["pkg/data.txt"][1].startswith("blob absent from the repository")
    assert set(state.facts) == {"pkg/code.py"}
    assert len(state.history) == 3 and result.counts["commit"] == 3
    # The commit with the absent blob keeps its paths, without line counts; the others
    # (in the same batch) keep theirs.
    assert [(c.path, c.added) for c in state.history[big].changes] == [("pkg/data.txt", None)]
    newest = state.history[repo.git("rev-parse", "HEAD")]
    assert [(c.path, c.added, c.removed) for c in newest.changes] == [("pkg/code.py", 1, 1)]


def test_a_git_call_past_its_time_limit_is_one_clear_error(tmp_path: Path) -> None:
    # A hung git (a stalled network filesystem, a huge repository) must not hang a worker.
    repo = GitFixture(tmp_path / "slow")
    repo.commit("first", {"a.py": "x = 1\n"})
    with pytest.raises(GitTimeoutError, match=r"git -c timed out after 0 s"):
        run_git(["-c", "alias.nap=!sleep 2", "nap"], cwd=repo.path, timeout=0.3)


def test_a_repositorys_own_config_cannot_start_an_fsmonitor(tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "hostile")
    repo.commit("first", {"a.py": "x = 1\n"})
    ran = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {ran}\n")
    hook.chmod(0o755)
    repo.git("config", "core.fsmonitor", str(hook))
    result = run_git(["status", "--porcelain"], cwd=repo.path)
    assert result.returncode == 0 and not ran.exists()
