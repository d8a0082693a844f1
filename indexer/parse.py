"""Extract definitions, imports, calls and inheritance from one file with tree-sitter.

The per-language knowledge lives in `queries/<lang>.scm`; this module only interprets the
shared capture names (see `queries/README.md`). Trees are dropped as soon as a file is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer.facts import MODULE, CallRef, Definition, FileFacts, ImportRef
from indexer.languages import grammar, query

if TYPE_CHECKING:
    from tree_sitter import Node

MAX_SIGNATURE = 240
MAX_DOC = 600
CLASS_LIKE = frozenset({"class", "interface", "struct", "enum", "trait", "module", "type"})
_SPACES = re.compile(r"\s+")
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+|\*+/|\*|//[/!]?|#+|--)\s?|\s*\*+/\s*$", re.MULTILINE)


@dataclass(slots=True)
class _Container:
    """A definition or scope while qualified names are assigned."""

    start: int
    end: int
    name: str
    kind: str
    node: Node
    definition: Definition | None


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", errors="replace")


def extract(path: str, blob: str, content: bytes, language: str | None) -> FileFacts:
    """The facts of one file; text files without a grammar get a file record only."""
    lines = content.count(b"\n") + (0 if content.endswith(b"\n") or not content else 1)
    facts = FileFacts(path=path, blob=blob, language=language, size=len(content), lines=lines)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        facts.error = f"not valid UTF-8 at byte {exc.start}"
        return facts
    if language is None:
        return facts
    from tree_sitter import Parser

    tree = Parser(grammar(language)).parse(content)
    _Extractor(content, facts).run(tree.root_node, language)
    if tree.root_node.has_error:
        facts.error = "syntax errors; symbols are partial"
    return facts


class _Extractor:
    """Turns the query matches of one tree into FileFacts."""

    def __init__(self, source: bytes, facts: FileFacts) -> None:
        self.source = source
        self.facts = facts
        self.containers: list[_Container] = []
        self.docs: list[Node] = []
        self.bases: list[tuple[int, int, str, str]] = []  # name byte, base byte, base, name
        self.calls: list[tuple[int, str, int]] = []

    def run(self, root: Node, language: str) -> None:
        from tree_sitter import QueryCursor

        for _, caps in QueryCursor(query(language)).matches(root):
            self._collect(caps)
        self._assign_qualnames()
        self._attach_docs()
        self._attach_bases()
        self._attribute_calls()
        if not self.facts.doc:
            first = root.named_children[0] if root.named_child_count else None
            if first is not None and "comment" in first.type:
                self.facts.doc = _clean_comment(_text(self.source, first))

    def _collect(self, caps: dict[str, list[Node]]) -> None:
        name_nodes = caps.get("name")
        for capture, nodes in caps.items():
            node = nodes[0]
            if capture.startswith("definition.") and name_nodes:
                name = _text(self.source, name_nodes[0])
                receiver = caps.get("receiver")
                if receiver:
                    name = f"{_last_identifier(_text(self.source, receiver[0]))}.{name}"
                self.containers.append(
                    _Container(node.start_byte, node.end_byte, name,
                               capture.removeprefix("definition."), node, None))
            elif capture == "scope" and name_nodes:
                name = _last_identifier(_text(self.source, name_nodes[0]))
                self.containers.append(
                    _Container(node.start_byte, node.end_byte, name, "scope", node, None))
            elif capture == "inheritance" and name_nodes:
                name = _last_identifier(_text(self.source, name_nodes[0]))
                for base in caps.get("base", []):
                    self.bases.append((name_nodes[0].start_byte, base.start_byte,
                                       _text(self.source, base), name))
            elif capture == "doc":
                self.docs.append(node)
            elif capture == "import":
                self._add_import(caps, node)
            elif capture == "reference.call" and name_nodes:
                self.calls.append((node.start_byte, _text(self.source, name_nodes[0]),
                                   node.start_point.row + 1))

    def _add_import(self, caps: dict[str, list[Node]], node: Node) -> None:
        sources = caps.get("import.source")
        if not sources:
            return
        # Several nodes (Java's `com.foo` `.` `*`) make one source: the text they span.
        start, end = min(n.start_byte for n in sources), max(n.end_byte for n in sources)
        source = self.source[start:end].decode("utf-8", errors="replace").strip("\"'`<>")
        names = [_text(self.source, n) for n in caps.get("import.name", [])]
        line = node.start_point.row + 1
        imports = self.facts.imports
        if imports and imports[-1].line == line and imports[-1].source == source:
            imports[-1].names.extend(n for n in names if n not in imports[-1].names)
        else:
            imports.append(ImportRef(source=source, names=names, line=line))

    def _assign_qualnames(self) -> None:
        # Containers nest by byte range; a stack sweep gives each its chain of parents.
        self.containers.sort(key=lambda c: (c.start, -c.end))
        stack: list[_Container] = []
        seen: set[tuple[int, int]] = set()
        unique: list[_Container] = []
        for item in self.containers:
            if (item.start, item.end) in seen:
                continue  # two patterns matched the same node
            seen.add((item.start, item.end))
            unique.append(item)
            while stack and stack[-1].end <= item.start:
                stack.pop()
            parent = stack[-1] if stack else None
            if item.kind != "scope":
                kind = item.kind
                if kind == "function" and parent and parent.kind in CLASS_LIKE | {"scope"}:
                    kind = "method"
                if "." in item.name and kind == "function":
                    kind = "method"  # a Go method qualified by its receiver
                prefix = ".".join(c.name for c in stack)
                qualname = f"{prefix}.{item.name}" if prefix else item.name
                item.definition = Definition(
                    name=item.name.rsplit(".", 1)[-1],
                    qualname=qualname,
                    kind=kind,
                    start_line=item.node.start_point.row + 1,
                    end_line=item.node.end_point.row + 1,
                    signature=self._signature(item.node),
                    doc=self._leading_comment(item.node),
                )
            stack.append(item)
        self.containers = unique
        self.facts.defs = [c.definition for c in unique if c.definition is not None]

    def _owners(self, positions: list[int]) -> list[Definition | None]:
        """The innermost definition (not scope) around each byte of sorted `positions`."""
        owners: list[Definition | None] = []
        stack: list[_Container] = []
        containers = iter(self.containers)
        pending = next(containers, None)
        for byte in positions:
            while pending is not None and pending.start <= byte:
                while stack and stack[-1].end <= pending.start:
                    stack.pop()
                stack.append(pending)
                pending = next(containers, None)
            while stack and stack[-1].end <= byte:
                stack.pop()
            owner = next((c.definition for c in reversed(stack) if c.definition), None)
            owners.append(owner)
        return owners

    def _attach_docs(self) -> None:
        self.docs.sort(key=lambda node: node.start_byte)
        owners = self._owners([node.start_byte for node in self.docs])
        for node, owner in zip(self.docs, owners, strict=True):
            text = _clean_docstring(_text(self.source, node))
            if owner is None:
                self.facts.doc = self.facts.doc or text
            else:
                owner.doc = text

    def _attach_bases(self) -> None:
        self.bases.sort()  # by class, then in source order
        owners = self._owners([start for start, _, _, _ in self.bases])
        classes = {d.name: d for d in reversed(self.facts.defs) if d.kind in CLASS_LIKE}
        for (_, _, base, name), owner in zip(self.bases, owners, strict=True):
            if owner is None or owner.name != name:
                owner = classes.get(name)  # declared apart from the class: `impl Trait for T`
            if owner is not None and base not in owner.bases:
                owner.bases.append(base)

    def _attribute_calls(self) -> None:
        self.calls.sort()
        owners = self._owners([start for start, _, _ in self.calls])
        merged: dict[tuple[str, str], CallRef] = {}
        for (_, name, line), owner in zip(self.calls, owners, strict=True):
            key = (owner.qualname if owner else MODULE, name)
            if key in merged:
                merged[key].count += 1
            else:
                merged[key] = CallRef(caller=key[0], name=name, line=line)
        self.facts.calls = list(merged.values())

    def _signature(self, node: Node) -> str:
        body = node.child_by_field_name("body")
        end = node.end_byte
        if body is not None:
            # Up to the body, less any comment between the header and the body.
            end = node.start_byte
            for child in node.children:
                if child.start_byte >= body.start_byte:
                    break
                if "comment" not in child.type:
                    end = child.end_byte
        head = self.source[node.start_byte:end].decode("utf-8", errors="replace")
        if body is None:
            head = head.split("\n", 1)[0]
        head = _SPACES.sub(" ", head).strip().rstrip("{:;").strip()
        return head[:MAX_SIGNATURE]

    def _leading_comment(self, node: Node) -> str:
        """Comments directly above a definition (its docs in most languages)."""
        parts: list[str] = []
        current = node
        # Decorators and export wrappers sit between the comment and the definition, and so
        # does an enclosing declaration that starts earlier on its line (`type T struct`) or
        # a body whose first statement the definition is (the comment is outside the body).
        while current.parent is not None and (
            current.parent.type in _WRAPPERS
            or (current.prev_named_sibling is None
                and (current.parent.type in _BODIES
                     or (current.parent.start_byte < current.start_byte
                         and current.parent.start_point.row == current.start_point.row)))):
            current = current.parent
        expected_row = current.start_point.row
        sibling = current.prev_named_sibling
        while sibling is not None and ("comment" in sibling.type or sibling.type in _ATTRIBUTES):
            if sibling.end_point.row < expected_row - 1:
                break
            if sibling.type not in _ATTRIBUTES:
                parts.append(_text(self.source, sibling))
            expected_row = sibling.start_point.row
            sibling = sibling.prev_named_sibling
        if not parts:
            return ""
        return _clean_comment("\n".join(reversed(parts)))


_WRAPPERS = frozenset({"decorated_definition", "export_statement", "template_declaration"})
_ATTRIBUTES = frozenset({"attribute_item"})  # Rust `#[derive(..)]` between docs and item
_BODIES = frozenset({"body_statement"})  # Ruby keeps a comment above a first statement outside


def _last_identifier(text: str) -> str:
    """`*pkg.Type[T]` -> `Type`: the bare type name of a receiver or impl target."""
    text = re.sub(r"[<\[].*$", "", text.strip().lstrip("*&(").rstrip(")"))
    parts = re.split(r"[\s.:*&]+", text)
    return next((p for p in reversed(parts) if p and p != "mut"), text)


def _clean_comment(raw: str) -> str:
    """Comment text without its markers, on one line, at most MAX_DOC characters."""
    return _SPACES.sub(" ", _COMMENT_MARKS.sub("", raw)).strip()[:MAX_DOC]


def _clean_docstring(raw: str) -> str:
    text = raw.lstrip("rRuUbBfF")
    for quote in ('"""', "'''", '"', "'"):
        if text.startswith(quote) and text.endswith(quote) and len(text) >= 2 * len(quote):
            text = text[len(quote):-len(quote)]
            break
    return _SPACES.sub(" ", text).strip()[:MAX_DOC]


def extract_many(items: Iterable[tuple[str, str, bytes, str | None]]) -> list[FileFacts]:
    """Extract several files; the unit of work a parse worker receives."""
    return [extract(path, blob, content, language) for path, blob, content, language in items]
