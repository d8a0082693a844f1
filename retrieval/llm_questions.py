"""LLM-written synthetic questions at index time: one call per file, kept by file content.

The deterministic questions (retrieval/questions.py) only rephrase what the code says about
itself. When an LLM is configured, it is shown a file's public symbols (name, signature, the
first line of the docstring, a few lines of code) and writes up to two questions per symbol
in a user's words. One call per file, not per symbol, keeps a repository of thousands of
symbols affordable.

Answers are stored in `llm-questions.json` next to the repository's index, keyed by path and
blob: an unchanged file is never sent to the LLM again, even if the call recordings are
deleted. Each index run asks for at most `llm_index_files` files; the next run continues.
An LLM failure stops the asking for that run only: the index is built without the missing
questions and never fails because of the LLM.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from indexer.facts import Definition, FileFacts
from indexer.gitrepo import GitRepo
from navbot.core.atomic import write_atomically
from navbot.core.config import Settings
from navbot.core.errors import LLMError
from navbot.llm.client import LLMClient, RunBudget, UsageLedger, estimate_tokens, trim_to_tokens
from navbot.llm.outputs import parse_symbol_questions
from navbot.llm.prompts import load_prompt
from retrieval.corpus import Corpus, is_searchable
from retrieval.questions import first_sentence, is_public
from retrieval.vectors import VectorItem

log = logging.getLogger("navbot.index")

PROMPT = "questions"
STORE_FILE = "llm-questions.json"
PER_SYMBOL = 2
# The prompt's reply limit (max_tokens) fits two short questions for about this many symbols.
MAX_SYMBOLS = 30
LISTING_TOKENS = 2500  # the whole symbol listing of one file
SYMBOL_TOKENS = 120  # one symbol's entry in it
BODY_LINES = 3
BODY_LINE_CHARS = 100
_DOCSTRING_OPEN = re.compile(r"^[rRuUbB]{0,2}(\"\"\"|''')")


def file_key(facts: FileFacts) -> str:
    """A file's store key: its path and content id (the path is part of the prompt)."""
    return f"{facts.path}\0{facts.blob}"


def public_definitions(facts: FileFacts) -> list[Definition]:
    """The definitions of a file that users meet, in file order."""
    return [d for d in facts.defs if is_public(d.qualname, facts.path)]


def askable_files(facts: Mapping[str, FileFacts]) -> list[FileFacts]:
    """Searchable files with public symbols, in the order they are asked for questions.

    Most public symbols first, then by path: when the per-run cap bites, the first runs
    cover the widest part of the API the users meet, and the order is stable across runs.
    """
    files = [f for f in facts.values() if is_searchable(f) and public_definitions(f)]
    return sorted(files, key=lambda f: (-len(public_definitions(f)), f.path))


def symbol_listing(facts: FileFacts, content: bytes) -> tuple[str, list[str]]:
    """The prompt's compact view of a file's public symbols, and the qualnames it lists."""
    lines = content.decode("utf-8", "replace").splitlines()
    entries: list[str] = []
    listed: list[str] = []
    used = 0
    for definition in public_definitions(facts)[:MAX_SYMBOLS]:
        entry = trim_to_tokens(_entry(definition, lines), SYMBOL_TOKENS)
        used += estimate_tokens(entry)
        if used > LISTING_TOKENS:
            break
        entries.append(entry)
        listed.append(definition.qualname)
    return "\n".join(entries), listed


def _entry(definition: Definition, lines: Sequence[str]) -> str:
    header = f"* {definition.qualname} ({definition.kind})"
    if definition.signature:
        header += f": {definition.signature}"
    parts = [header]
    doc = first_sentence(definition.doc)
    if doc:
        parts.append(f"  {doc}")
    parts.extend(f"  | {line}" for line in _body_lines(definition, lines))
    return "\n".join(parts)


def _body_lines(definition: Definition, lines: Sequence[str]) -> list[str]:
    """The first few code lines after the definition's header, without its docstring."""
    body: list[str] = []
    for line in _after_docstring(lines[definition.start_line:definition.end_line]):
        text = line.strip()
        if not text or text.startswith(("#", "//")):
            continue
        body.append(text[:BODY_LINE_CHARS])
        if len(body) == BODY_LINES:
            break
    return body


def _after_docstring(body: Sequence[str]) -> Sequence[str]:
    """`body` without a leading Python docstring (the listing shows its first line already)."""
    first = next((i for i, line in enumerate(body) if line.strip()), None)
    if first is None:
        return body
    opening = _DOCSTRING_OPEN.match(body[first].strip())
    if opening is None:
        return body
    quote = opening.group(1)
    if quote in body[first].strip()[opening.end():]:
        return body[first + 1:]
    closing = next((i for i in range(first + 1, len(body)) if quote in body[i]), len(body))
    return body[closing + 1:]


def write_questions(llm: LLMClient, budget: RunBudget, repo: str, facts: FileFacts,
                    content: bytes) -> list[tuple[str, str]]:
    """The LLM's (qualname, question) pairs for one file's public symbols; one call."""
    listing, qualnames = symbol_listing(facts, content)
    if not qualnames:
        return []
    reply = llm.complete(load_prompt(PROMPT), budget, repo, path=facts.path, symbols=listing)
    return parse_symbol_questions(reply.text, qualnames, PER_SYMBOL)


class LLMQuestionStore:
    """LLM-written questions by file (path and blob), in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: dict[str, list[list[str]]] | None = None
        self._changed = False

    @property
    def _files(self) -> dict[str, list[list[str]]]:
        # Read on first use: a builder that only loads a saved search never needs it.
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def __contains__(self, key: str) -> bool:
        return key in self._files

    def __len__(self) -> int:
        return len(self._files)

    def get(self, key: str) -> list[tuple[str, str]]:
        """The stored (qualname, question) pairs of a file; none when it was never asked."""
        return [(qualname, text) for qualname, text in self._files.get(key, [])]

    def put(self, key: str, questions: Iterable[tuple[str, str]]) -> None:
        """Store a file's questions (possibly none: it is not asked again)."""
        self._files[key] = [[qualname, text] for qualname, text in questions]
        self._changed = True

    def prune(self, live_keys: Iterable[str]) -> int:
        """Drop the entries of files no longer present; how many were dropped."""
        live = set(live_keys)
        files = self._files
        gone = [key for key in files if key not in live]
        for key in gone:
            del files[key]
        self._changed = self._changed or bool(gone)
        return len(gone)

    def save(self) -> None:
        """Write the store if it changed; readers never see a half-written file."""
        if not self._changed:
            return
        record = {"prompt_version": load_prompt(PROMPT).version, "files": self._files}
        write_atomically(self.path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        self._changed = False

    def _load(self) -> dict[str, list[list[str]]]:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # The files are asked again; their recorded calls answer without cost.
            log.warning("ignoring unreadable %s (%s)", self.path, type(exc).__name__)
            return {}
        if not _well_formed(record):
            log.warning("ignoring malformed %s", self.path)
            return {}
        if record["prompt_version"] != load_prompt(PROMPT).version:
            return {}  # questions of an older prompt: ask again with the current one
        return dict(record["files"])


def _well_formed(record: Any) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("prompt_version"), int)
            and isinstance(record.get("files"), dict)
            and all(isinstance(pairs, list)
                    and all(isinstance(p, list) and len(p) == 2
                            and all(isinstance(s, str) for s in p) for p in pairs)
                    for pairs in record["files"].values()))


def ask_missing(llm: LLMClient, budget: RunBudget, repo: str, git: GitRepo,
                store: LLMQuestionStore, missing: Sequence[FileFacts], limit: int) -> int:
    """Ask for the questions of up to `limit` files `missing` from `store`, file by file.

    Returns how many files were answered. An LLM error (unavailable, timeout after
    retries, budget) stops the asking for this run with one warning; what was written
    stays in the store.
    """
    batch = list(missing[:max(limit, 0)])
    # Read all blobs first: asking may stop early, and a half-read batch pipe must not linger.
    contents = [content for _, content in git.read_blobs(f.blob for f in batch)]
    done = 0
    try:
        for item, content in zip(batch, contents, strict=True):
            store.put(file_key(item), write_questions(llm, budget, repo, item, content))
            done += 1
    except LLMError as exc:
        log.warning("LLM questions: stopped after %d of %d files for this index run (%s); "
                    "the index goes on without the rest", done, len(batch), exc)
    finally:
        store.save()
    return done


def llm_question_items(store: LLMQuestionStore, facts: Mapping[str, FileFacts],
                       corpus: Corpus) -> list[VectorItem]:
    """The stored questions of the corpus's symbols as vector items, ids apart from the rest."""
    symbols = {(s.path, s.qualname) for s in corpus.symbols}
    seen: Counter[tuple[str, str]] = Counter()
    items = []
    for path in corpus.files:
        for qualname, text in store.get(file_key(facts[path])):
            if (path, qualname) not in symbols:
                continue
            seen[(path, qualname)] += 1
            items.append(VectorItem(f"{path}::{qualname}@llm#{seen[(path, qualname)]}", text,
                                    path, qualname))
    return items


class LLMQuestions:
    """One repository's LLM-written questions: asked for new files, then served as items."""

    def __init__(self, settings: Settings, llm: LLMClient, store: LLMQuestionStore,
                 repo: str) -> None:
        self.settings = settings
        self.llm = llm
        self.store = store
        self.repo = repo

    def update(self, git: GitRepo, facts: Mapping[str, FileFacts]) -> int:
        """Forget files gone, ask for files new to the store (up to the cap); files asked."""
        files = askable_files(facts)
        self.store.prune(file_key(f) for f in files)
        missing = [f for f in files if file_key(f) not in self.store]
        if not missing:
            self.store.save()
            return 0
        # The per-run limits (llm_run_*) are sized for one issue's analysis; an index run
        # is bounded by its file cap and, through the ledger, the repository's daily tokens.
        budget = RunBudget(self.settings.llm_index_files, self.settings.llm_daily_tokens)
        done = ask_missing(self.llm, budget, self.repo, git, self.store, missing,
                           self.settings.llm_index_files)
        if done < len(missing):
            log.info("LLM questions: %d files still to ask; the next index run continues",
                     len(missing) - done)
        return done

    def items(self, git: GitRepo, facts: Mapping[str, FileFacts],
              corpus: Corpus) -> list[VectorItem]:
        """Update the store for this state, then its questions as vector items."""
        self.update(git, facts)
        return llm_question_items(self.store, facts, corpus)


def index_llm(settings: Settings, ledger: UsageLedger | None = None) -> LLMClient | None:
    """The LLM client for index-time questions, or None when no model is set nor replayed.

    Tokens are counted in `ledger`; without one, in memory for this process only (the App
    and the CLI pass the state database's, `bot.state.runs.StateLedger`).
    """
    if settings.llm_base_url is None and settings.llm_mode != "replay":
        return None
    return LLMClient(settings, ledger)
