"""Check one spec file from bytes to problems and, when it is clean, NodeSpecs.

This is the pipeline of docs/design.md ("Validate") in one place: load (data + positions) →
schema → Cluster expansion → defaults → semantic rules → typed nodes. Every
problem in the file is collected; nothing stops at the first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rke2image.errors import InputError
from rke2image.spec import schema
from rke2image.spec.cluster import ExpandedNode, expand_cluster
from rke2image.spec.cluster_rules import cluster_violations
from rke2image.spec.model import NodeSpec, node_from_document
from rke2image.spec.problems import Problem
from rke2image.spec.rules import Violation, node_violations
from rke2image.spec.suppress import Suppressed, apply
from rke2image.spec.yamlload import LoadedDocument, LoadFailed, decode, load_text

API_VERSION = "rke2image/v1"


@dataclass
class FileReport:
    """What checking one file found; ``nodes`` is filled only when it has no error.

    ``problems`` are the findings that stand; ``suppressed`` those an ignore comment
    with a reason silenced (they fail nothing, and SARIF lists them as suppressed).
    """

    file: str
    problems: list[Problem] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    nodes: list[NodeSpec] = field(default_factory=list)
    # node name -> where it is named, for checks across files
    name_positions: dict[str, Problem] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def display_name(path: Path) -> str:
    """``path`` as text any terminal and locale can print: name bytes that are not
    UTF-8 (kept by Python as lone surrogates) are shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_spec_bytes(path: Path) -> bytes:
    """Read a spec file; a missing or unreadable file is a usage error (exit 2)."""
    name = display_name(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise InputError(f"{name}: not a regular file (a pipe or device would block)")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a spec file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror}") from None


def check_file(path: Path, display: str | None = None) -> FileReport:
    return check_bytes(read_spec_bytes(path), display or display_name(path))


def check_bytes(raw: bytes, file: str) -> FileReport:
    report = FileReport(file)
    try:
        text = decode(file, raw)
        doc = load_text(file, text)
    except LoadFailed as failed:
        report.problems.append(failed.problem)
        return report
    report.problems.extend(schema.schema_problems(schema.document_validator(), doc.data, doc))
    kind = doc.data.get("kind")
    if doc.data.get("apiVersion") != API_VERSION or kind not in ("NodeSpec", "Cluster"):
        return _finish(report, text)
    # (document, pointer of its name) per node, built only if no error stands
    candidates: list[tuple[dict[str, Any], str]] = []
    if kind == "NodeSpec":
        spec = doc.data.get("spec")
        if isinstance(spec, dict):
            filled = {**doc.data, "spec": schema.fill_defaults(spec)}
            _add_findings(report, doc, node_violations(filled), lambda p: p)
            candidates.append((filled, "/metadata/name"))
    else:
        candidates = _check_cluster(report, doc)
    _finish(report, text)
    if not report.errors:
        for document, pointer in candidates:
            report.nodes.append(node_from_document(document, file))
            _locate_name(report, doc, report.nodes[-1].name, pointer)
    return report


def _check_cluster(report: FileReport, doc: LoadedDocument) -> list[tuple[dict[str, Any], str]]:
    expanded: list[tuple[ExpandedNode, dict[str, Any]]] = []
    for node in expand_cluster(doc.data):
        report.problems.extend(
            schema.schema_problems(
                schema.node_validator(), node.document["spec"], doc, "/spec", node.origin
            )
        )
        spec = node.document["spec"]
        filled = {**node.document, "spec": schema.fill_defaults(spec)}
        expanded.append((node, filled["spec"]))
        _add_findings(report, doc, node_violations(filled), node.origin)
    for owner, finding in cluster_violations(expanded):
        _add_findings(report, doc, [finding], owner.origin if owner else (lambda p: p))
    return [
        ({**node.document, "spec": spec}, node.origin("/metadata/name")) for node, spec in expanded
    ]


def _locate_name(report: FileReport, doc: LoadedDocument, name: str, pointer: str) -> None:
    pos = doc.position(pointer)
    report.name_positions[name] = Problem(
        report.file, pos.line, pos.column, "error", "duplicate-node-name", "", pointer
    )


def _add_findings(
    report: FileReport, doc: LoadedDocument, findings: list[Violation], origin: Any
) -> None:
    for finding in findings:
        where = origin(finding.pointer)
        pos = doc.position(where)
        report.problems.append(
            Problem(
                doc.file,
                pos.line,
                pos.column,
                finding.severity,
                finding.rule,
                finding.message,
                where,
            )
        )


def _finish(report: FileReport, text: str) -> FileReport:
    """Sort, drop exact repeats (a Cluster reports a shared mistake once) and schema
    errors that a more specific rule already explains at the same place; then set
    aside what ignore comments suppress."""
    specific = {p.pointer for p in report.problems if p.rule not in _SCHEMA_RULES}
    unique = {p for p in report.problems if not (p.rule in _SCHEMA_RULES and p.pointer in specific)}
    report.problems, report.suppressed = apply(report.file, text, sorted(unique))
    return report


_SCHEMA_RULES = frozenset({"unknown-key", "missing-key", "wrong-type", "bad-value", "bad-key"})
