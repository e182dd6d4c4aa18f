"""Reporters of the fleet report: text (a terminal), json (tools), markdown (a ticket or PR).

Every reporter lists the same things in the same order: drift (servers first), the
nodes that are not compliant, the stale audits, the audits dated ahead of the collector's
clock, the superseded files, a summary. Node names, files and values come from the nodes:
text prints them through ``textsafe.printable``, markdown through ``textsafe.markdown``,
JSON file names through ``textsafe.reversible``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rke2image.fleet.model import (
    FLEET_SCHEMA,
    ROLES,
    VIEW_TITLES,
    Drift,
    FleetReport,
    NodeAudit,
    Value,
)
from rke2image.textsafe import code_span, map_strings, no_surrogates, printable, reversible
from rke2image.textsafe import markdown as md


def _show(value: Value) -> str:
    return "unset" if value is None else printable(value.replace("\t", " "))


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
    required = ", the required value" if drift.required else ""
    majority = _show(drift.majority)
    return f"{drift.majority_count} of {drift.total} {drift.role}s have {majority}{required}{tie}"


def _not_ok(node: NodeAudit) -> str:
    wrong = [
        f"{printable(key)} {printable(verdict)}"
        for key, verdict in node.verdicts.items()
        if verdict != "ok"
    ]
    return ", ".join(wrong) or "no parameter wrong"


def _skew(report: FleetReport, node: NodeAudit) -> str:
    ahead = (node.generated - (node.received or report.now)).total_seconds()
    if node.received is None or (node.generated - report.now).total_seconds() > ahead:
        ahead, than = (node.generated - report.now).total_seconds(), "now"
    else:
        than = f"the file ({_time(node.received)})"
    return f"dated {_time(node.generated)}, {_age(ahead)} after {than}: the node's clock is ahead"


def _summary(report: FleetReport) -> str:
    roles = ", ".join(f"{report.count(r)} {r}s" for r in ROLES if report.count(r))
    agree = "servers agree" if report.servers_agree else "SERVERS DISAGREE"
    skewed = f", {len(report.skewed)} dated ahead" if report.skewed else ""
    return (
        f"{len(report.nodes)} nodes ({roles or 'none'}): {agree}; "
        f"{len(report.drift)} differing value(s), {len(report.noncompliant)} "
        f"non-compliant, {len(report.stale)} stale{skewed}"
    )


def text(report: FleetReport) -> str:
    lines = []
    for d in report.drift:
        for node, value in d.odd:
            lines.append(
                f"{d.role} {printable(node.name)}: {printable(d.key)} {VIEW_TITLES[d.view]} is "
                f"{_show(value)}; {_peers(d)} [{printable(node.file)}]"
            )
    for node in report.noncompliant:
        lines.append(
            f"{node.role} {printable(node.name)}: not compliant ({node.errors} error(s), "
            f"{node.warnings} warning(s)): {_not_ok(node)} [{printable(node.file)}]"
        )
    for node in report.stale:
        age = (report.now - node.moment).total_seconds()
        lines.append(
            f"{node.role} {printable(node.name)}: audit is {_age(age)} old "
            f"({_time(node.moment)}), over {_age(report.max_age_seconds)} "
            f"[{printable(node.file)}]"
        )
    for node in report.skewed:
        lines.append(
            f"{node.role} {printable(node.name)}: audit {_skew(report, node)} "
            f"[{printable(node.file)}]"
        )
    for s in report.superseded:
        lines.append(
            f"note: {printable(s.file)}: an older audit of {printable(s.name)}; "
            f"{printable(s.kept)} counts"
        )
    lines.append(_summary(report))
    return "".join(line + "\n" for line in lines)


def _node(node: NodeAudit) -> dict[str, Any]:
    return {"node": node.name, "role": node.role, "file": reversible(node.file)}


def as_dict(report: FleetReport) -> dict[str, Any]:
    return {
        "schema": FLEET_SCHEMA,
        "now": _time(report.now),
        "max_age_seconds": report.max_age_seconds,
        "nodes": {
            "total": len(report.nodes),
            **{r: report.count(r) for r in ROLES},
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
                "reference": "required" if d.required else "majority",
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
                "age_seconds": int((report.now - n.moment).total_seconds()),
            }
            for n in report.stale
        ],
        "skewed": [
            {
                **_node(n),
                "generated": _time(n.generated),
                "received": None if n.received is None else _time(n.received),
            }
            for n in report.skewed
        ],
        "superseded": [
            {"node": s.name, "file": reversible(s.file), "kept": reversible(s.kept)}
            for s in report.superseded
        ],
    }


def as_json(report: FleetReport) -> str:
    # node names and values come from the nodes' JSON, which may spell lone surrogates
    return json.dumps(map_strings(as_dict(report), no_surrogates), indent=2) + "\n"


def _table(title: str, columns: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown section: its title, a table of already escaped cells, a blank line."""
    if not rows:
        return []
    head = ["### " + title, "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    return [*head, *("| " + " | ".join(row) + " |" for row in rows), ""]


def markdown(report: FleetReport) -> str:
    out = ["## rke2image fleet report", "", f"**{md(_summary(report))}**", ""]
    out += _table(
        "Values that differ from the node's role (servers first)",
        ["role", "node", "parameter", "where", "value", "its peers"],
        [
            [
                d.role,
                f"**{md(n.name)}**",
                f"`{code_span(d.key)}`",
                VIEW_TITLES[d.view],
                f"`{code_span(_show(v))}`",
                md(_peers(d)),
            ]
            for d in report.drift
            for n, v in d.odd
        ],
    )
    out += _table(
        "Nodes that are not compliant",
        ["role", "node", "errors", "warnings", "parameters"],
        [
            [n.role, f"**{md(n.name)}**", str(n.errors), str(n.warnings), md(_not_ok(n))]
            for n in report.noncompliant
        ],
    )
    out += _table(
        f"Audits older than {_age(report.max_age_seconds)}",
        ["role", "node", "audit generated", "age"],
        [
            [n.role, md(n.name), _time(n.moment), _age((report.now - n.moment).total_seconds())]
            for n in report.stale
        ],
    )
    out += _table(
        "Audits dated ahead of the collector's clock (the node's clock is wrong)",
        ["role", "node", "audit says", "file"],
        [[n.role, md(n.name), md(_skew(report, n)), md(n.file)] for n in report.skewed],
    )
    out += _table(
        "Older audits left out (the newest of each node counts)",
        ["node", "left out", "counts"],
        [[md(s.name), md(s.file), md(s.kept)] for s in report.superseded],
    )
    if report.clean:
        out += ["Every node agrees with its role, is compliant and was audited recently.", ""]
    return "\n".join(out)


REPORTERS: dict[str, Callable[[FleetReport], str]] = {
    "text": text,
    "json": as_json,
    "markdown": markdown,
}
