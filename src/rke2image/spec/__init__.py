"""Loading and validating node specs: the public entry points of this package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rke2image.errors import SpecError
from rke2image.spec.check import FileReport, check_file
from rke2image.spec.discover import spec_files
from rke2image.spec.model import NodeSpec
from rke2image.spec.problems import Problem

__all__ = ["FileReport", "NodeSpec", "Problem", "check_paths", "load_nodes"]


def check_paths(paths: Sequence[Path], only_specs: bool = False) -> list[FileReport]:
    """Check every spec under ``paths``; raises InputError for a missing path."""
    return [check_file(path) for path in spec_files(paths, only_specs)]


def load_nodes(paths: Sequence[Path]) -> list[NodeSpec]:
    """Every node of every spec under ``paths``; SpecError (with all problems) if any is invalid."""
    reports = check_paths(paths)
    problems = [p for report in reports for p in report.problems]
    if any(p.severity == "error" for p in problems):
        raise SpecError(problems)
    nodes = [node for report in reports for node in report.nodes]
    names: dict[str, str] = {}
    duplicates = []
    for node in nodes:
        if node.name in names:
            duplicates.append(Problem(node.source, 1, 1, "error", "duplicate-node-name",
                                      f"node {node.name!r} is also defined in {names[node.name]}"))
        names.setdefault(node.name, node.source)
    if duplicates:
        raise SpecError(duplicates)
    return nodes
