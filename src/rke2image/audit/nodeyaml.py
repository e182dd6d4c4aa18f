"""YAML from a node, loaded with limits: a 500-byte alias bomb or 100,000 nested brackets
must not hang the audit or exhaust Python's stack.

PyYAML has no limit of its own. Before composing, one pass over the event stream (flat,
not recursive) measures the nesting depth and the document's size with every alias
expanded, which is what the audit's reading of a value would walk. RKE2 reads its config
with Go's gopkg.in/yaml.v2, which refuses a document whose aliases expand it excessively
("yaml: document contains excessive aliasing", decode.go allowedAliasRatio): such a
file stops RKE2 too. A document nested deeper than ``MAX_DEPTH`` is one the audit does not
read (RKE2's own options are at most three levels deep).
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100
MAX_EXPANDED = 100_000  # nodes with aliases expanded; an RKE2 config has a few hundred


class YamlRefused(ValueError):
    """A document the audit will not load; ``rke2_refuses`` when RKE2 refuses it too."""

    def __init__(self, message: str, line: int | None, rke2_refuses: bool) -> None:
        super().__init__(message)
        self.line = line
        self.rke2_refuses = rke2_refuses


def compose_bounded(text: str) -> Any:
    """The composed node of the first document (None when empty), or YamlRefused.

    Raises yaml.YAMLError for text that is not YAML.
    """
    import yaml  # lazy: a root without an RKE2 config needs no YAML

    _measure(yaml.parse(text, Loader=yaml.SafeLoader))
    return yaml.compose(text, Loader=yaml.SafeLoader)


def construct(node: Any) -> Any:
    """A composed node as Python data (safe tags only); call after ``compose_bounded``."""
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _measure(events: Any) -> None:
    """Walk the events once: depth, and the size with aliases expanded."""
    import yaml

    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, size so far)
    total = raw = 0
    for event in events:
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            raw += 1
            stack.append((event.anchor, 1))
            if len(stack) > MAX_DEPTH:
                raise YamlRefused(
                    f"nested deeper than {MAX_DEPTH} levels: the audit does not read it",
                    _line(event),
                    rke2_refuses=False,
                )
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            raw += 1
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor or "", 1)
        else:
            continue
        if stack:
            anchor, inner = stack[-1]
            stack[-1] = (anchor, inner + size)
        else:
            total += size
        expanded = total + sum(s for _, s in stack)
        if expanded > MAX_EXPANDED and expanded > 10 * raw:
            raise YamlRefused(
                "its aliases expand it beyond "
                f"{MAX_EXPANDED:,} nodes (a YAML alias bomb): RKE2 refuses it too "
                "(yaml: document contains excessive aliasing)",
                _line(event),
                rke2_refuses=True,
            )


def _line(event: Any) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None
