"""Ingesting a repository's issues and PRs from GitHub, and the embeddings of their titles.

Incremental: each run asks GitHub only for items updated since the newest one it has (the
cursor), stores them in the state database, and syncs the title collection in chroma, which
embeds only titles that are new or changed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.state.store import StateStore
from navbot.core.config import Settings

if TYPE_CHECKING:
    from bot.github import RepoClient
    from retrieval.vectors import VectorCollection

log = logging.getLogger("navbot.ingest")

SIMILAR_TITLES = 50


def ingest_items(settings: Settings, state: StateStore, client: RepoClient, repo_id: int,
                 clone: Path) -> int:
    """Fetch items updated since the cursor, store them, embed new titles; returns the count."""
    from datetime import datetime

    row = state.repository(repo_id) or {}
    cursor = row.get("history_cursor")
    since = datetime.fromisoformat(cursor) if cursor else None
    fetched = []
    for item in client.items_since(since):
        data: dict[str, Any] = asdict(item)
        data["updated_at"] = item.updated_at.isoformat()
        fetched.append(data)
    stored = state.save_items(repo_id, fetched)
    if fetched:
        newest = max(d["updated_at"] for d in fetched)
        state.save_repository(repo_id, row.get("installation_id", 0), row.get("full_name", ""),
                              history_cursor=newest)
    collection = _titles(settings, clone)
    if collection is not None:
        from retrieval.vectors import VectorItem

        collection.sync([VectorItem(str(d["number"]), d["title"], str(d["number"]), d["kind"])
                         for d in state.items(repo_id) if d["kind"] == "issue" and d["title"]])
    log.info("ingested %d issues and PRs of repository %d", stored, repo_id)
    return stored


def title_similarity(settings: Settings, clone: Path, title: str) -> dict[int, float]:
    """Cosine similarity of `title` to the most similar ingested issue titles, by number."""
    collection = _titles(settings, clone)
    if collection is None or not title.strip():
        return {}
    hits = collection.search([title], SIMILAR_TITLES)[0]
    return {int(hit.path): hit.similarity for hit in hits}


def drop_collections(settings: Settings, repo_key: str) -> None:
    """Delete a forgotten repository's chroma collections (questions and issue titles)."""
    from retrieval.vectors import collection_name, ledger_path, open_client

    client = open_client(settings)
    existing = {getattr(c, "name", c) for c in client.list_collections()}
    for kind in ("questions", "issues"):
        name = collection_name(repo_key, kind)
        ledger = ledger_path(settings, name)
        if ledger is not None:
            ledger.unlink(missing_ok=True)
        if name in existing:
            client.delete_collection(name)


def _titles(settings: Settings, clone: Path) -> VectorCollection | None:
    from indexer.store import IndexStore
    from retrieval.searcher import embedder_for
    from retrieval.vectors import VectorCollection

    embedder = embedder_for(settings)
    if embedder is None or not clone.exists():
        return None
    repo_key = IndexStore.for_path(settings, clone).root.name
    return VectorCollection.for_repository(settings, repo_key, "issues", embedder)
