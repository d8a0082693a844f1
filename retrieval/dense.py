"""The dense signal: the issue's sentences against embedded synthetic questions.

Queries are the issue's title, its first prose paragraph and its error lines, each short
like the questions they are compared with. A file scores by its best-matching question; the
question itself is the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from retrieval.corpus import Corpus
from retrieval.query import IssueQueries
from retrieval.vectors import VectorCollection, VectorItem

HITS_PER_QUERY = 100
MAX_QUERY_CHARS = 300


def question_items(corpus: Corpus) -> list[VectorItem]:
    """The corpus's synthetic questions as vector items with stable ids."""
    seen: Counter[tuple[str, str]] = Counter()
    items = []
    for path, qualname, text in corpus.questions:
        seen[(path, qualname)] += 1
        items.append(VectorItem(f"{path}::{qualname}#{seen[(path, qualname)]}", text, path,
                                qualname))
    return items


def dense_queries(queries: IssueQueries) -> list[str]:
    """Short texts that say what the issue is about: title, first paragraph, error lines."""
    text = re.sub(r"```.*?```", " ", queries.text, flags=re.S)
    lines = [line.strip() for line in text.splitlines()]
    title = next((line for line in lines if line), "")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    body = paragraphs[1] if len(paragraphs) > 1 else ""
    errors = [line for line in queries.text.splitlines()
              if re.match(r"\s*\w*(Error|Exception|Warning)\b\S*:", line)][:2]
    found = [q[:MAX_QUERY_CHARS] for q in (title, body, *errors) if q.strip()]
    return list(dict.fromkeys(found))


@dataclass
class DenseScores:
    """Best similarity per file and per symbol, and the question behind each file's score."""

    files: dict[str, float] = field(default_factory=dict)
    symbols: dict[tuple[str, str], float] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)


class DenseSignal:
    """Searches one repository's question collection."""

    def __init__(self, collection: VectorCollection) -> None:
        self.collection = collection

    def score(self, queries: IssueQueries) -> DenseScores:
        """Dense scores of files and symbols for an issue."""
        scores = DenseScores()
        for hits in self.collection.search(dense_queries(queries), HITS_PER_QUERY):
            for hit in hits:
                if hit.similarity > scores.files.get(hit.path, -1.0):
                    scores.files[hit.path] = hit.similarity
                    target = f"{hit.path}::{hit.qualname}" if hit.qualname else hit.path
                    scores.evidence[hit.path] = (f"matched question \"{hit.text}\" → `{target}` "
                                                 f"(similarity {hit.similarity:.2f})")
                if hit.qualname:
                    key = (hit.path, hit.qualname)
                    scores.symbols[key] = max(scores.symbols.get(key, -1.0), hit.similarity)
        return scores
