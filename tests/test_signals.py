"""Synthetic questions, the vector store, and the dense, history and graph signals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from indexer.build import Indexer
from indexer.facts import Definition, FileFacts
from indexer.gitrepo import GitRepo
from navbot.core.config import Settings
from retrieval.dense import dense_queries
from retrieval.embed import Embedder
from retrieval.expand import Neighbourhood
from retrieval.history_signal import HistorySignal
from retrieval.locate import locate
from retrieval.persist import load_search, save_search
from retrieval.query import parse_issue
from retrieval.questions import file_question, first_sentence, is_public, symbol_questions
from retrieval.searcher import SearchBuilder
from retrieval.vectors import (
    VectorCollection,
    VectorItem,
    collection_name,
    ledger_path,
    open_client,
)
from tests.evalfixture import ISSUES, build_eval_repo
from tests.gitfixture import GitFixture


def test_questions_come_from_docs_names_raises_and_options() -> None:
    reserve = Definition("reserve", "Stock.reserve", "method", 1, 9,
                         doc="Take `quantity` of `sku` out of stock.\n\nMore text.")
    lines = ['    if quantity > level:',
             '        raise OutOfStock(f"only {level} left of {sku}")',
             '    parser.add_argument("--dry-run", action="store_true")']
    questions = symbol_questions("shop/inventory.py", reserve, lines)
    assert questions == [
        "Which method take quantity of sku out of stock? "
        "(reserve method of stock in shop inventory)",
        "Why do I get OutOfStock: only {level} left of {sku}?",
        "What does the --dry-run option do?",
    ]
    bare = Definition("parse_args", "parse_args", "function", 1, 2)
    assert symbol_questions("shop/cli.py", bare, []) == [
        "What does the parse args function in shop cli do?"]
    facts = FileFacts("shop/pricing.py", "b", "python", 1, 1, doc="Prices and discounts.")
    assert file_question(facts) == "Where is shop pricing? Prices and discounts"
    assert first_sentence("Round a price. Then more.") == "Round a price"
    assert is_public("Cart.total", "shop/cart.py")
    assert not is_public("Cart._cache", "shop/cart.py")
    assert not is_public("test_total", "tests/test_cart.py")


def test_dense_queries_are_title_paragraph_and_errors() -> None:
    queries = parse_issue("Receipt crash\n\nSending a receipt fails for guests.\n\n"
                          "```\nx = 1\n```\nKeyError: 'email'\n")
    assert dense_queries(queries) == ["Receipt crash", "Sending a receipt fails for guests.",
                                      "KeyError: 'email'"]


def test_sync_embeds_only_new_or_changed_texts(settings: Settings) -> None:
    embedder = Embedder()
    client = open_client(settings)
    collection = VectorCollection(lambda: client, collection_name("shop-1234", "questions"),
                                  embedder)
    items = [VectorItem("a#1", "Which function rounds a price to whole cents?", "p.py", "f"),
             VectorItem("b#1", "Which class holds the items in a cart?", "c.py", "Cart"),
             VectorItem("c#1", "Which function emails a receipt?", "e.py", "send")]
    first = collection.sync(items)
    assert (first.embedded, first.kept, first.removed) == (3, 0, 0) and embedder.calls == 3
    again = VectorCollection(lambda: client, collection_name("shop-1234", "questions"),
                             embedder)
    assert again.sync(items).embedded == 0 and embedder.calls == 3  # hashes were stored
    changed = [items[0], VectorItem("b#1", "Which class is a shopping basket?", "c.py", "Cart"),
               VectorItem("d#1", "Which method reserves stock?", "i.py", "Stock.reserve")]
    stats = again.sync(changed)
    assert (stats.embedded, stats.kept, stats.removed) == (2, 1, 1) and embedder.calls == 5
    [hits] = again.search(["rounding prices to cents"], limit=3)
    assert hits[0].path == "p.py" and hits[0].similarity > hits[-1].similarity
    assert {h.path for h in hits} == {"p.py", "c.py", "i.py"}


class Connections:
    """Opens the embedded store like `open_client`, counting how often it was asked to."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.opened = settings, 0

    def __call__(self) -> Any:
        self.opened += 1
        return open_client(self.settings)


class FailingEmbedder(Embedder):
    """A real embedder that fails while `fail` is set, as a crash in the middle of a sync."""

    fail = False

    def batches(self, texts: Sequence[str], progress: Any = None, size: int = 512) -> Any:
        """Embed, or fail while `fail` is set."""
        if self.fail:
            raise RuntimeError("killed while embedding")
        return super().batches(texts, progress, size)


QUESTIONS = [VectorItem("a#1", "Which function rounds a price to whole cents?", "p.py", "f"),
             VectorItem("b#1", "Which class holds the items in a cart?", "c.py", "Cart")]


def _synced(settings: Settings, repo_key: str, embedder: Embedder) -> tuple[str, Path]:
    """A questions collection synced with QUESTIONS through its ledger: its name and ledger."""
    name = collection_name(repo_key, "questions")
    ledger = ledger_path(settings, name)
    assert ledger is not None
    VectorCollection(Connections(settings), name, embedder, ledger).sync(QUESTIONS)
    return name, ledger


def test_the_ledger_spares_opening_chroma_when_nothing_changed(settings: Settings) -> None:
    embedder = Embedder()
    name, ledger = _synced(settings, "shop-77", embedder)
    connections = Connections(settings)
    again = VectorCollection(connections, name, embedder, ledger)  # as a new process
    stats = again.sync(QUESTIONS)
    assert (stats.embedded, stats.kept, connections.opened) == (0, 2, 0)
    stats = again.sync(QUESTIONS[:1])
    assert (stats.removed, connections.opened) == (1, 1)
    # The ledger and chroma agree: a process without the ledger sees the same.
    assert VectorCollection(Connections(settings), name, embedder).known() == again.known()
    assert again.search(["rounding prices"], limit=5)[0][0].path == "p.py"


def test_a_sync_that_dies_midway_leaves_chroma_to_be_asked(settings: Settings) -> None:
    embedder = FailingEmbedder()
    name, ledger = _synced(settings, "shop-78", embedder)
    embedder.fail = True
    changed = [QUESTIONS[0], VectorItem("c#1", "Which function emails a receipt?", "e.py", "s")]
    with pytest.raises(RuntimeError):
        VectorCollection(Connections(settings), name, embedder, ledger).sync(changed)
    # "b#1" was removed before the embedding failed, and the note says so.
    assert set(json.loads(ledger.read_text())["hashes"]) == {"a#1"}
    embedder.fail = False
    connections = Connections(settings)
    stats = VectorCollection(connections, name, embedder, ledger).sync(changed)
    assert (stats.embedded, stats.removed, connections.opened) == (1, 0, 1)
    assert set(VectorCollection(Connections(settings), name, embedder).known()) == {"a#1", "c#1"}


def test_a_ledger_of_another_model_is_not_trusted(settings: Settings) -> None:
    name, ledger = _synced(settings, "shop-79", Embedder())
    noted = json.loads(ledger.read_text())
    ledger.write_text(json.dumps({**noted, "model": "another-model"}))
    connections = Connections(settings)
    stats = VectorCollection(connections, name, Embedder(), ledger).sync(QUESTIONS)
    assert (stats.embedded, connections.opened) == (0, 1)  # asked chroma; hashes matched


@pytest.fixture
def shop(tmp_path: Path, settings: Settings):
    """The shop fixture at its newest commit, indexed, with its graph and search builder."""
    path = tmp_path / "shop"
    build_eval_repo(path)
    indexed = Indexer(settings).index(path)
    git = GitRepo(path)
    builder = SearchBuilder(settings, git, "shop-test", Embedder())
    return indexed, builder


def test_dense_signal_finds_behaviour_and_shows_the_question(shop) -> None:
    indexed, builder = shop
    search, stats = builder.build(indexed.facts, indexed.graph)
    assert stats is not None and stats.embedded > 0
    # No word of this issue is in pricing.py ("rounded" is not "round"); the question is.
    found = locate(search, "Prices are rounded down instead of to the nearest cent")
    assert found.signals["dense"]["shop/pricing.py"] == 1
    pricing = next(f for f in found.files if f.path == "shop/pricing.py")
    assert any(why.startswith('matched question "') and "`shop/pricing.py" in why
               for why in pricing.evidence)
    _, again = builder.build(indexed.facts, indexed.graph)
    assert again is not None and again.embedded == 0


def test_history_signal_points_at_files_of_similar_changes(shop) -> None:
    indexed, _ = shop
    searchable = {p for p, f in indexed.facts.items() if f.language}
    history = HistorySignal.from_graph(indexed.graph, searchable)
    scores, evidence = history.score(parse_issue("Receipts sent by email are empty").tokens)
    assert max(scores, key=scores.__getitem__) == "shop/emails.py"
    assert evidence["shop/emails.py"].startswith('changed by similar commit ')
    assert '"Send receipts by email"' in evidence["shop/emails.py"]


def test_graph_expansion_follows_imports(shop) -> None:
    indexed, _ = shop
    searchable = {p for p, f in indexed.facts.items() if f.language}
    neighbourhood = Neighbourhood.from_graph(indexed.graph, searchable)
    near, evidence = neighbourhood.expand([("shop/cart.py", 2.0)])
    assert near["shop/pricing.py"] == pytest.approx(0.5)
    assert evidence["shop/pricing.py"] == "imported by `shop/cart.py`"
    assert "shop/cart.py" not in near


def test_locate_with_every_signal_keeps_evidence(shop) -> None:
    indexed, builder = shop
    search, _ = builder.build(indexed.facts, indexed.graph)
    found = locate(search, ISSUES["emails"])
    assert found.files[0].path == "shop/emails.py"
    assert set(found.signals) == {"file_lexical", "path", "symbol_lexical", "mention", "dense",
                                  "history", "graph"}
    evidence = " | ".join(found.files[0].evidence)
    assert "traceback frame" in evidence and "matched question" in evidence
    assert "its path has the issue's words: shop, emails" in evidence


def test_a_saved_search_answers_exactly_like_the_built_one(shop, tmp_path: Path) -> None:
    indexed, builder = shop
    built, _ = builder.build(indexed.facts, indexed.graph)
    saved = tmp_path / "search"
    save_search(built, saved, indexed.commit)
    loaded = load_search(saved, indexed.commit, builder.dense())
    assert loaded is not None
    for text in ISSUES.values():
        assert locate(loaded, text).to_json() == locate(built, text).to_json()
    assert load_search(saved, "another commit", builder.dense()) is None
    assert load_search(tmp_path / "nothing", indexed.commit) is None


def test_related_past_fixes_need_shared_terms(settings: Settings, tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "prices")
    repo.commit("Add pricing", {"pricing.py": "def round_price(x):\n    return int(x)\n"})
    repo.commit("Fix rounding of half cents in round_price\n\nFixes #41", {
        "pricing.py": "def round_price(x):\n    return round(x, 2)\n"})
    repo.commit("Unrelated tidy-up; fixes #42", {"other.py": "VALUE = 1\n"})
    indexed = Indexer(settings).index(repo.path)
    history = HistorySignal.from_graph(indexed.graph, {"pricing.py", "other.py"})
    [related] = history.related(parse_issue("round_price drops half cents again").tokens)
    assert related.state == "closed as fixed" and related.issues == ["#41"]
    assert related.change.endswith('"Fix rounding of half cents in round_price", which fixed #41')
    assert {"round", "price", "round_price", "half", "cents"} <= set(related.shared_terms)
    assert history.related(parse_issue("a tidy-up of the value").tokens) == []


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` server on a free local port; yields its URL."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen([str(binary), "run", "--path", str(tmp_path / "chroma-server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_chroma_server_mode_is_the_same_code(settings: Settings, chroma_server: str) -> None:
    served = settings.model_copy(update={"chroma_url": chroma_server})
    name = collection_name("shop-9", "questions")
    assert ledger_path(served, name) is None  # a shared server is always asked
    collection = VectorCollection(lambda: open_client(served), name, Embedder())
    stats = collection.sync([VectorItem("a#1", "Which function emails a receipt?", "e.py", "f"),
                             VectorItem("b#1", "Which class is a cart?", "c.py", "Cart")])
    assert stats.embedded == 2
    [hits] = collection.search(["sending receipts by email"], limit=1)
    assert hits[0].path == "e.py"
    assert not (settings.home / "chroma").exists()  # nothing went to the local store


def test_an_unreachable_chroma_server_is_a_clean_error(runner, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from navbot.cli.main import main

    path = tmp_path / "shop"
    build_eval_repo(path)
    monkeypatch.setenv("NAVBOT_CHROMA_URL", "http://127.0.0.1:1")
    result = runner.invoke(main, ["index", str(path)])
    assert result.exit_code == 1
    assert "cannot reach chroma at http://127.0.0.1:1" in result.output
