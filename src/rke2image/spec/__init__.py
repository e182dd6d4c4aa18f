"""Loading and validating node specs: the public entry points of this package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rke2image.errors import SpecError
from rke2image.spec.check import FileReport, check_file
from rke2image.spec.discover import spec_files
from rke2image.spec.exclude import excluded
from rke2image.spec.model import NodeSpec
from rke2image.spec.problems import Problem
from rke2image.spec.target_rules import RULE, SEVERITY, message, unusable

__all__ = ["FileReport", "NodeSpec", "Problem", "check_paths", "load_nodes"]


def check_paths(
    paths: Sequence[Path], only_specs: bool = False, exclude: Sequence[str] = ()
) -> list[FileReport]:
    """Check every spec under ``paths`` but those ``exclude`` globs match; raises
    InputError for a missing path.

    Node names are not compared across files here: specs of different clusters
    may well share ``cp-1``. ``load_nodes`` does, since one render writes them all.
    """
    return [
        check_file(path) for path in spec_files(paths, only_specs) if not excluded(path, exclude)
    ]


def load_nodes(
    paths: Sequence[Path],
    warnings: list[Problem] | None = None,
    targets: Sequence[str] = (),
) -> list[NodeSpec]:
    """Every node of every spec under ``paths``; SpecError (with all problems) if any
    is invalid or two of them share a name (one render writes one folder per name).
    The warnings of valid specs are appended to ``warnings`` when given, for the
    caller to show: render and build report what validate reports. ``targets`` (from
    ``render --target``) must be ones every node's os can use (rule target-os)."""
    reports = check_paths(paths)
    problems = [p for report in reports for p in report.problems]
    problems += _target_problems(reports, targets)
    first: dict[str, str] = {}
    for report in reports:
        for name, where in report.name_positions.items():
            if name in first:
                problems.append(
                    replace(
                        where,
                        message=(
                            f"node name {name!r} is also used in {first[name]}: one render writes "
                            f"one "
                            "folder per node name; render these specs into separate outputs"
                        ),
                    )
                )
            else:
                first.setdefault(name, f"{where.file}:{where.line}")
    if any(p.severity == "error" for p in problems):
        raise SpecError(problems)
    if warnings is not None:
        warnings.extend(problems)
    return [node for report in reports for node in report.nodes]


def _target_problems(reports: list[FileReport], targets: Sequence[str]) -> list[Problem]:
    """``render --target`` checked against each node's os; found at the node's name."""
    found = []
    for report in reports:
        for node in report.nodes:
            where = report.name_positions.get(node.name)
            if where is None:
                continue
            for _, target in unusable(node.os, targets):
                text = f"node {node.name}: " + message(node.os, target, "--target ")
                found.append(replace(where, severity=SEVERITY, rule=RULE, message=text))
    return found
