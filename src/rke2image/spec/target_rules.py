"""The rule ``target-os``: a render target the spec's ``os`` cannot use.

Which operating system runs which first-boot system is data in ``rke2image.targets``;
this rule only compares. ``render --target`` is checked the same way, by
``target_problems`` (the command line has no place in the document to point at, so
the finding points at the node's name).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rke2image import targets
from rke2image.spec.problems import ProblemSeverity

RULE = "target-os"
SEVERITY: ProblemSeverity = "error"


def unusable(os: str, wanted: Sequence[str]) -> list[tuple[int, str]]:
    """(index, target) of each of ``wanted`` that ``os`` cannot use."""
    allowed = targets.allowed_targets(os)
    return [(i, t) for i, t in enumerate(wanted) if t in targets.TARGETS and t not in allowed]


def message(os: str, target: str, where: str) -> str:
    allowed = ", ".join(targets.allowed_targets(os))
    return (
        f"os {os} cannot use {where}{target}: it boots with {allowed}; "
        "choose one of those, or the os this node really runs"
    )


def target_os(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(pointer, message) for each of ``spec.targets`` that ``spec.os`` cannot use."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    os, wanted = spec.get("os"), spec.get("targets")
    if not isinstance(os, str) or not isinstance(wanted, list):
        return
    names = [t for t in wanted if isinstance(t, str)]
    for index, target in unusable(os, names):
        yield f"/spec/targets/{index}", message(os, target, "target ")
