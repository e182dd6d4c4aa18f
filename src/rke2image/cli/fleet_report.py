"""Reporters of the fleet report: text (a terminal), json (tools), markdown (a ticket or PR).

Every reporter lists the same things in the same order: drift (servers first), the
nodes that are not compliant, the stale audits, the superseded files, a summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rke2image.fleet import FLEET_SCHEMA, VIEW_TITLES, Drift, FleetReport, NodeAudit, Value


def _show(value: Value) -> str:
    return "unset" if value is None else value.replace("\t", " ")


def _age(seconds: float) -> str:
    minutes = int(seconds) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return (
        " ".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
        or f"{int(seconds)}s"
    )


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _peers(drift: Drift) -> str:
    tie = ", no majority" if drift.tie else ""
    majority = _show(drift.majority)
    return f"{drift.majority_count} of {drift.total} {drift.role}s have {majority}{tie}"


def _not_ok(node: NodeAudit) -> str:
    wrong = [f"{key} {verdict}" for key, verdict in node.verdicts.items() if verdict != "ok"]
    return ", ".join(wrong) or "no parameter wrong"


def _summary(report: FleetReport) -> str:
    roles = ", ".join(
        f"{report.count(r)} {r}s" for r in ("server", "agent", "unknown") if report.count(r)
    )
    agree = "servers agree" if report.servers_agree else "SERVERS DISAGREE"
    return (
        f"{len(report.nodes)} nodes ({roles or 'none'}): {agree}; "
        f"{len(report.drift)} differing value(s), {len(report.noncompliant)} "
        f"non-compliant, {len(report.stale)} stale"
    )


def text(report: FleetReport) -> str:
    lines = []
    for d in report.drift:
        for node, value in d.odd:
            lines.append(
                f"{d.role} {node.name}: {d.key} {VIEW_TITLES[d.view]} is {_show(value)}; "
                f"{_peers(d)} [{node.file}]"
            )
    for node in report.noncompliant:
        lines.append(
            f"{node.role} {node.name}: not compliant ({node.errors} error(s), "
            f"{node.warnings} warning(s)): {_not_ok(node)} [{node.file}]"
        )
    for node in report.stale:
        age = (report.now - node.generated).total_seconds()
        lines.append(
            f"{node.role} {node.name}: audit is {_age(age)} old "
            f"({_time(node.generated)}), over {_age(report.max_age_seconds)} "
            f"[{node.file}]"
        )
    for s in report.superseded:
        lines.append(f"note: {s.file}: an older audit of {s.name}; {s.kept} counts")
    lines.append(_summary(report))
    return "".join(line + "\n" for line in lines)


def _node(node: NodeAudit) -> dict[str, Any]:
    return {"node": node.name, "role": node.role, "file": node.file}


def as_dict(report: FleetReport) -> dict[str, Any]:
    return {
        "schema": FLEET_SCHEMA,
        "now": _time(report.now),
        "max_age_seconds": report.max_age_seconds,
        "nodes": {
            "total": len(report.nodes),
            **{r: report.count(r) for r in ("server", "agent", "unknown")},
        },
        "servers_agree": report.servers_agree,
        "clean": report.clean,
        "drift": [
            {
                "role": d.role,
                "key": d.key,
                "view": d.view,
                "majority": d.majority,
                "majority_count": d.majority_count,
                "of": d.total,
                "tie": d.tie,
                "nodes": [{**_node(n), "value": v} for n, v in d.odd],
            }
            for d in report.drift
        ],
        "noncompliant": [
            {
                **_node(n),
                "errors": n.errors,
                "warnings": n.warnings,
                "verdicts": {k: v for k, v in n.verdicts.items() if v != "ok"},
            }
            for n in report.noncompliant
        ],
        "stale": [
            {
                **_node(n),
                "generated": _time(n.generated),
                "age_seconds": int((report.now - n.generated).total_seconds()),
            }
            for n in report.stale
        ],
        "superseded": [{"node": s.name, "file": s.file, "kept": s.kept} for s in report.superseded],
    }


def as_json(report: FleetReport) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"


def _cell(text: str) -> str:
    """A Markdown table cell: no pipe, newline or backtick can break the table."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("\n", " ")


def markdown(report: FleetReport) -> str:
    out = ["## rke2image fleet report", "", f"**{_cell(_summary(report))}**", ""]
    if report.drift:
        out += [
            "### Values that differ from the node's role (servers first)",
            "",
            "| role | node | parameter | where | value | its peers |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {d.role} | **{_cell(n.name)}** | `{_cell(d.key)}` | {VIEW_TITLES[d.view]} "
            f"| `{_cell(_show(v))}` | {_cell(_peers(d))} |"
            for d in report.drift
            for n, v in d.odd
        ]
        out.append("")
    if report.noncompliant:
        out += [
            "### Nodes that are not compliant",
            "",
            "| role | node | errors | warnings | parameters |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {n.role} | **{_cell(n.name)}** | {n.errors} | {n.warnings} | {_cell(_not_ok(n))} |"
            for n in report.noncompliant
        ]
        out.append("")
    if report.stale:
        out += [
            f"### Audits older than {_age(report.max_age_seconds)}",
            "",
            "| role | node | audit generated | age |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {n.role} | {_cell(n.name)} | {_time(n.generated)} "
            f"| {_age((report.now - n.generated).total_seconds())} |"
            for n in report.stale
        ]
        out.append("")
    if report.clean:
        out += ["Every node agrees with its role, is compliant and was audited recently.", ""]
    return "\n".join(out)


REPORTERS: dict[str, Callable[[FleetReport], str]] = {
    "text": text,
    "json": as_json,
    "markdown": markdown,
}
