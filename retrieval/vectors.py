"""The vector store edge: chromadb collections of embedded texts, synced by content hash.

Embedded default: a `PersistentClient` under `$NAVBOT_HOME/chroma`. At scale:
`NAVBOT_CHROMA_URL` names a chroma server (`chroma run`) and `HttpClient` talks to it; the
code is the same. Vectors come from navbot's own embedder (collections have no embedding
function) and telemetry is off.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson

from navbot.core.atomic import write_atomically
from navbot.core.config import Settings
from navbot.core.errors import IndexStoreError
from retrieval.embed import Embedder, Progress, text_hash

UPSERT_BATCH = 2000  # ids per delete call
COMMIT_BATCH = 512  # texts embedded and stored (chroma, then the ledger) at a time
LEDGER_DIR = "navbot-ledgers"  # beside chroma's own files: deleting the store drops them too


@dataclass(frozen=True)
class VectorItem:
    """One text to embed, with where it points."""

    id: str
    text: str
    path: str
    qualname: str


@dataclass(frozen=True)
class VectorHit:
    """A stored text similar to a query."""

    path: str
    qualname: str
    text: str
    similarity: float


@dataclass(frozen=True)
class SyncStats:
    """What a sync did: texts embedded, kept as they were, and removed."""

    embedded: int
    kept: int
    removed: int


def open_client(settings: Settings) -> Any:
    """A chromadb client: HTTP when NAVBOT_CHROMA_URL is set, else persistent on disk."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(host=url.hostname or "localhost",
                                       port=url.port or (443 if url.scheme == "https" else 80),
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except ValueError as exc:  # chromadb's "Could not connect to a Chroma server"
            raise IndexStoreError(f"cannot reach chroma at {settings.chroma_url}: {exc}"
                                  ) from None
    path = settings.home / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def collection_name(repo_key: str, kind: str) -> str:
    """A valid chroma collection name for one repository's `kind` of texts."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"navbot-{repo_key}-{kind}")[:200]


def ledger_path(settings: Settings, name: str) -> Path | None:
    """Where the embedded store notes what collection `name` holds; None with a chroma server.

    Only navbot writes to the embedded store, always through `VectorCollection.sync` and
    under the ledger's lock, so the note can stand in for asking chroma. A server is shared
    with other workers and tools, so it is always asked.
    """
    if settings.chroma_url:
        return None
    return settings.home / "chroma" / LEDGER_DIR / f"{name}.json"


class VectorCollection:
    """One repository's collection of one kind, kept in step with its texts.

    chroma is opened only when the collection must change or be searched: with a `ledger`
    saying every text is already stored, a sync reads that file and nothing else.

    A sync that fails leaves the ledger and the collection agreeing: the model is loaded
    before anything changes, texts are committed `batch_size` at a time (chroma first, then
    the ledger), and while chroma is written the ledger is absent, so a process killed
    there leaves the next sync to ask chroma itself. An interrupted sync therefore keeps
    the batches it stored, and the next one embeds only the rest.
    """

    def __init__(self, connect: Callable[[], Any], name: str, embedder: Embedder,
                 ledger: Path | None = None, batch_size: int = COMMIT_BATCH) -> None:
        self.embedder = embedder
        self.name = name
        self.batch_size = batch_size
        self._connect = connect
        self._ledger = ledger
        self._client: Any = None
        self._opened: Any = None
        self._known: dict[str, str] | None = None
        self._other_model = False  # the collection holds another model's vectors

    @classmethod
    def for_repository(cls, settings: Settings, repo_key: str, kind: str, embedder: Embedder
                       ) -> VectorCollection:
        """The collection of `kind` for one repository, in the store `settings` name."""
        name = collection_name(repo_key, kind)
        return cls(lambda: open_client(settings), name, embedder, ledger_path(settings, name))

    @property
    def _collection(self) -> Any:
        # Opening never deletes: vectors of another model go only in a sync, once the new
        # model has loaded (a model that cannot load must not cost the index its vectors).
        if self._opened is None:
            self._client = self._connect()
            self._opened = self._client.get_or_create_collection(
                self.name, embedding_function=None, metadata=self._metadata())
        return self._opened

    def _metadata(self) -> dict[str, str]:
        return {"hnsw:space": "cosine", "model": self.embedder.model_name}

    def _stored_model(self) -> str | None:
        model = (self._collection.metadata or {}).get("model")
        return None if model is None else str(model)

    def known(self) -> dict[str, str]:
        """Stored ids of this embedder's model and the content hash each was embedded from."""
        if self._known is None:
            self._known = self._read_ledger()
            self._other_model = False  # a ledger is only ever written for its own model
        if self._known is None:
            self._other_model = self._stored_model() != self.embedder.model_name
            self._known = {}
            if not self._other_model:
                stored = self._collection.get(include=["metadatas"])
                self._known = {i: str((m or {}).get("hash", "")) for i, m in
                               zip(stored["ids"], stored["metadatas"] or [], strict=True)}
        return self._known

    def _read_ledger(self) -> dict[str, str] | None:
        if self._ledger is None:
            return None
        try:
            noted = orjson.loads(self._ledger.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        if not isinstance(noted, dict) or noted.get("model") != self.embedder.model_name:
            return None
        return dict(noted["hashes"])

    def _write_ledger(self, known: dict[str, str]) -> None:
        if self._ledger is None:
            return
        write_atomically(self._ledger, orjson.dumps({"model": self.embedder.model_name,
                                                     "hashes": known}))

    def _drop_ledger(self) -> None:
        if self._ledger is not None:
            self._ledger.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _ledger_locked(self) -> Iterator[None]:
        if self._ledger is None:
            yield
            return
        from filelock import FileLock

        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self._ledger.with_suffix(".lock"))):
            self._known = None  # another process may have synced since this one read it
            yield

    def sync(self, items: Sequence[VectorItem], progress: Progress | None = None) -> SyncStats:
        """Make the collection hold exactly `items`, embedding only new or changed texts."""
        with self._ledger_locked():
            known = self.known()
            wanted = {item.id: item for item in items}
            stale = [i for i in known if i not in wanted]
            fresh = [item for item in wanted.values()
                     if known.get(item.id) != text_hash(item.text)]
            if not stale and not fresh and not self._other_model:
                return SyncStats(embedded=0, kept=len(wanted), removed=0)
            if fresh:
                # Nothing changes until the model is there; without anything to embed it
                # is not loaded at all (seconds of torch start-up).
                self.embedder.load()
            try:
                self._apply(known, stale, fresh, progress)
            except BaseException:
                self._known = None  # what is stored is what the ledger or chroma says
                raise
        return SyncStats(embedded=len(fresh), kept=len(wanted) - len(fresh), removed=len(stale))

    def _apply(self, known: dict[str, str], stale: list[str], fresh: list[VectorItem],
               progress: Progress | None) -> None:
        """Delete `stale` ids and embed and store `fresh` items, keeping `known` in step."""
        if self._other_model:
            with self._committing(known):
                self._client.delete_collection(self.name)
                self._opened = self._client.create_collection(
                    self.name, embedding_function=None, metadata=self._metadata())
                self._other_model = False
        for start in range(0, len(stale), UPSERT_BATCH):
            gone = stale[start:start + UPSERT_BATCH]
            with self._committing(known):
                self._collection.delete(ids=gone)
                for i in gone:
                    del known[i]
        done = 0
        for vectors in self.embedder.batches([item.text for item in fresh], progress,
                                             self.batch_size):
            batch = fresh[done:done + len(vectors)]
            hashes = [text_hash(item.text) for item in batch]
            with self._committing(known):
                self._collection.upsert(
                    ids=[item.id for item in batch], embeddings=vectors,
                    documents=[item.text for item in batch],
                    metadatas=[{"path": item.path, "qualname": item.qualname, "hash": digest}
                               for item, digest in zip(batch, hashes, strict=True)])
                known.update(zip([item.id for item in batch], hashes, strict=True))
            done += len(batch)

    @contextlib.contextmanager
    def _committing(self, known: dict[str, str]) -> Iterator[None]:
        """One change to chroma, made while the ledger is absent, then noted in it."""
        self._drop_ledger()
        yield
        self._write_ledger(known)

    def search(self, texts: Sequence[str], limit: int) -> list[list[VectorHit]]:
        """For each query text, the `limit` most similar stored texts, best first."""
        count = self._collection.count()
        if not texts or count == 0:
            return [[] for _ in texts]
        vectors = self.embedder.embed(list(texts))
        stored = self._stored_model()
        if stored != self.embedder.model_name:
            # Another model's vectors are not comparable; a sync replaces them.
            raise IndexStoreError(f"chroma collection {self.name} holds vectors of model "
                                  f"{stored!r}, not {self.embedder.model_name!r}; run "
                                  "`navbot index` to embed its texts again")
        result = self._collection.query(query_embeddings=vectors, n_results=min(limit, count),
                                        include=["metadatas", "documents", "distances"])
        hits = []
        for metadatas, documents, distances in zip(result["metadatas"], result["documents"],
                                                   result["distances"], strict=True):
            hits.append([VectorHit(str(m["path"]), str(m["qualname"]), str(d), 1.0 - float(x))
                         for m, d, x in zip(metadatas, documents, distances, strict=True)])
        return hits
