"""Read one YAML file safely, keeping the line and column of every key and value.

PyYAML's own constructors lose positions, merge duplicate keys silently, turn
timestamps into dates and expand aliases without limit. This loader composes
the node graph with the safe loader and builds plain Python data itself, so it
can refuse all of that with a position attached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from rke2image.spec.problems import Problem, join_pointer

MAX_BYTES = 1024 * 1024
# Constructed values beyond the nodes the text itself holds: without aliases each node
# is built once, so an honest document of any size stays below the limit and only
# aliases that expand without bound ("billion laughs") reach it.
MAX_EXTRA_NODES = 100_000
MAX_DEPTH = 64  # nesting; a spec needs 8


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class LoadedDocument:
    """A document's data plus the position of every key (and value) by JSON Pointer."""

    file: str
    data: Any
    key_positions: dict[str, Position] = field(default_factory=dict)
    value_positions: dict[str, Position] = field(default_factory=dict)

    def position(self, pointer: str) -> Position:
        """Where ``pointer`` is, or its nearest ancestor that exists."""
        while True:
            if pointer in self.key_positions:
                return self.key_positions[pointer]
            if pointer in self.value_positions:
                return self.value_positions[pointer]
            if not pointer:
                return Position(1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    def value_position(self, pointer: str) -> Position:
        return self.value_positions.get(pointer) or self.position(pointer)


class LoadFailed(Exception):
    """The file is not a usable YAML mapping; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _pos(mark: yaml.Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)


def _fail(file: str, pos: Position, rule: str, message: str, pointer: str = "") -> LoadFailed:
    return LoadFailed(Problem(file, pos.line, pos.column, "error", rule, message, pointer))


def decode(file: str, raw: bytes) -> str:
    """Bytes to text, refusing oversize files and invalid UTF-8 with a position."""
    if len(raw) > MAX_BYTES:
        raise _fail(
            file,
            Position(1, 1),
            "yaml-too-large",
            f"file is {len(raw)} bytes; specs are limited to {MAX_BYTES} bytes (1 MiB): "
            "split it into several files",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise _fail(
            file,
            Position(line, column),
            "yaml-encoding",
            f"invalid UTF-8 (byte 0x{raw[error.start]:02x}): save the file as UTF-8",
        ) from None


MERGE_TAG = "tag:yaml.org,2002:merge"


class TooDeep(Exception):
    """Nesting beyond MAX_DEPTH, raised while composing (before any recursion error)."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("too deep")
        self.mark = mark


class Composer(yaml.SafeLoader):
    """The safe loader's composer, stopped at MAX_DEPTH before Python's recursion limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.nodes = 0  # nodes written in the text (an alias is not a new node)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        if not self.check_event(yaml.AliasEvent):
            self.nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1


def load_text(file: str, text: str) -> LoadedDocument:
    """Parse ``text`` as exactly one YAML mapping document."""
    documents: list[yaml.Node] = []
    try:
        composer = Composer(text)
        while composer.check_node():
            node = composer.get_node()
            if node is not None:
                documents.append(node)
    except TooDeep as error:
        raise _fail(file, _pos(error.mark), "yaml-too-deep", _TOO_DEEP) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "invalid YAML"
        raise _fail(file, _pos(mark), "yaml-syntax", f"YAML syntax error: {reason}") from None
    except yaml.reader.ReaderError as error:
        before = text[: error.position]
        pos = Position(before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1)
        raise _fail(
            file,
            pos,
            "yaml-syntax",
            f"character {error.character!r} is not allowed in YAML: remove it",
        ) from None
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise _fail(file, Position(1, 1), "yaml-syntax", f"YAML error: {reason}") from None
    documents = [d for d in documents if d is not None]
    if not documents:
        raise _fail(
            file,
            Position(1, 1),
            "yaml-empty",
            "file holds no YAML document: write an rke2image/v1 NodeSpec or Cluster",
        )
    if len(documents) > 1:
        raise _fail(
            file,
            _pos(documents[1].start_mark),
            "yaml-multi-doc",
            f"file holds {len(documents)} YAML documents; put each spec in a file of its own",
        )
    root = documents[0]
    if not isinstance(root, yaml.MappingNode):
        raise _fail(
            file,
            _pos(root.start_mark),
            "yaml-not-mapping",
            "the document must be a mapping with apiVersion, kind, metadata and spec",
        )
    builder = _Builder(file, MAX_EXTRA_NODES + composer.nodes)
    data = builder.build(root, "", 0)
    return LoadedDocument(file, data, builder.key_positions, builder.value_positions)


class _Builder:
    """Turns a composed node graph into plain data, counting work to stop alias bombs."""

    _scalars = yaml.SafeLoader("")  # only its scalar constructors are used, without its cache

    def __init__(self, file: str, limit: int) -> None:
        self.file = file
        self.limit = limit
        self.count = 0
        self.open: set[int] = set()  # collections being built: an alias back to one loops
        self.key_positions: dict[str, Position] = {}
        self.value_positions: dict[str, Position] = {}

    def build(self, node: yaml.Node, pointer: str, depth: int) -> Any:
        self.count += 1
        if self.count > self.limit:
            raise _fail(
                self.file,
                _pos(node.start_mark),
                "yaml-alias-bomb",
                "document expands to too many values (aliases repeated inside "
                "aliases); write the values out instead of using anchors",
                pointer,
            )
        if id(node) in self.open:
            raise _fail(
                self.file,
                _pos(node.start_mark),
                "yaml-alias-bomb",
                "an alias refers to the mapping or list that holds it, which expands "
                "without end: write the values out",
                pointer,
            )
        if depth > MAX_DEPTH:  # reached through aliases (the composer stops plain nesting)
            raise _fail(self.file, _pos(node.start_mark), "yaml-too-deep", _TOO_DEEP, pointer)
        self.value_positions.setdefault(pointer, _pos(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, pointer)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, pointer, depth)
            return [
                self.build(item, join_pointer(pointer, i), depth + 1)
                for i, item in enumerate(node.value)
            ]
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    value = self.build(source, pointer, depth + 1)
                    if not isinstance(value, dict):
                        raise _fail(
                            self.file,
                            _pos(source.start_mark),
                            "yaml-syntax",
                            "a merge key (<<) must refer to a mapping",
                            pointer,
                        )
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            key = self._scalar(key_node, pointer) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise _fail(
                    self.file,
                    _pos(key_node.start_mark),
                    "yaml-key-type",
                    f"keys must be strings, not {_describe(key_node)}: quote the key",
                    pointer,
                )
            child = join_pointer(pointer, key)
            if key in result:
                first = self.key_positions[child]
                raise _fail(
                    self.file,
                    _pos(key_node.start_mark),
                    "yaml-duplicate-key",
                    f"duplicate key {key!r} (first at line {first.line}); "
                    "YAML would silently keep only the last one: remove one",
                    child,
                )
            self.key_positions[child] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, child, depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    def _scalar(self, node: yaml.Node, pointer: str) -> Any:
        if node.tag not in _CONSTRUCTED:
            # Strings, and everything else (timestamps, binary, custom tags) as written.
            return node.value if isinstance(node.value, str) else str(node.value)
        text = str(node.value)
        kind = _CONSTRUCTED[node.tag]
        if kind == "int" and sum(c.isdigit() for c in text) > _MAX_DIGITS:
            reason = f"has more than {_MAX_DIGITS} digits"  # int() refuses it: CVE-2020-10735
        else:
            construct = yaml.SafeLoader.yaml_constructors[node.tag]
            try:
                return construct(self._scalars, node)
            except Exception:
                reason = f"is not a YAML {kind}"
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise _fail(
            self.file,
            _pos(node.start_mark),
            "yaml-bad-scalar",
            f"{shown!r} {reason}: write a valid {kind}, or quote it to keep it a string",
            pointer,
        )


_CONSTRUCTED = {
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}
_MAX_DIGITS = 4300  # Python's default int/str conversion limit (sys.get_int_max_str_digits)
_TOO_DEEP = f"the document nests deeper than {MAX_DEPTH} levels; a spec needs about 8: flatten it"


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f"{node.tag.rsplit(':', 1)[-1]} {node.value!r}"
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
