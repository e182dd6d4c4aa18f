"""The audit's reporters: text for a person, JSON, Prometheus text, node-problem-detector."""

from __future__ import annotations

import re
from collections.abc import Callable

from rke2image.audit.model import VERDICTS, Finding, NextBoot, Report

NPD_MAX = 80  # node-problem-detector keeps at most 80 characters of a plugin's output
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def as_json(report: Report) -> str:
    import json  # lazy: the other formats do not need it

    return json.dumps(report.as_dict(), indent=2) + "\n"


def text(report: Report) -> str:
    """A header, a parameter table, one line per finding (``PATH:LINE:`` first), a summary."""
    role = report.role or "unknown role"
    live = "live values and next boot" if report.live else "next boot only (no live values)"
    out = [f"rke2image audit of {report.root} (node {report.node_name}, {role}): {live}"]
    if report.protection.on:
        who = ", ".join(
            f"{s.file}:{s.line} {s.setting}" if s.line else f"{s.file} {s.setting}"
            for s in report.protection.sources
        )
        out.append(f"protect-kernel-defaults: on ({who})")
    else:
        out.append("protect-kernel-defaults: off (kubelet rewrites wrong values itself)")
    rows = [("parameter", "expected", "live", "systemd-sysctl", "sysctl --system", "verdict")]
    for p in report.parameters:
        rows.append(
            (
                p.key,
                p.expected,
                "-" if p.live is None else p.live,
                _boot(p.systemd),
                _boot(p.procps),
                p.verdict,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    out.append("")
    out += [_finding(f) for f in report.findings]
    verdict = "compliant" if report.compliant else "NOT compliant"
    out.append(f"{report.errors} error(s), {report.warnings} warning(s): {verdict}")
    return "\n".join(out) + "\n"


def _boot(boot: NextBoot) -> str:
    if boot.value is None:
        return "(not set)"
    return f"{boot.value} {boot.file}:{boot.line}"


def _finding(f: Finding) -> str:
    where = f"{f.file}:{f.line}: " if f.file and f.line else f"{f.file}: " if f.file else ""
    fix = f" -- fix: {f.fix}" if f.fix else ""
    return f"{where}{f.severity}: {f.message} [{f.rule}]{fix}"


def prometheus(report: Report) -> str:
    """Text exposition format 0.0.4 for node_exporter's textfile collector; gauges only."""
    out: list[str] = []

    def family(name: str, help_text: str, samples: list[tuple[dict[str, str], str]]) -> None:
        if not samples:
            return
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            out.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")

    params = report.parameters
    family(
        "rke2image_sysctl_compliant",
        "1 when the kernel parameter's verdict is ok; the verdict label says why not.",
        [({"key": p.key, "verdict": p.verdict}, _bool(p.verdict == "ok")) for p in params],
    )
    family(
        "rke2image_sysctl_live_value",
        "The kernel parameter's value now (/proc/sys).",
        [({"key": p.key}, p.live) for p in params if p.live and _NUMBER.match(p.live)],
    )
    family(
        "rke2image_sysctl_expected_value",
        "The value kubelet (or the spec) requires.",
        [({"key": p.key}, p.expected) for p in params if _NUMBER.match(p.expected)],
    )
    family(
        "rke2image_sysctl_next_boot_compliant",
        "1 when this boot tool (systemd-sysctl or procps sysctl --system) leaves the "
        "required value.",
        [
            ({"key": p.key, "source": source}, _bool(ok))
            for p in params
            for source, ok in (
                ("systemd", p.next_boot_ok("systemd")),
                ("procps", p.next_boot_ok("procps")),
            )
        ],
    )
    family(
        "rke2image_protect_kernel_defaults",
        "1 when kubelet runs with protect-kernel-defaults (it refuses wrong values).",
        [({}, _bool(report.protection.on))],
    )
    family(
        "rke2image_audit_findings",
        "Number of audit findings by severity.",
        [
            ({"severity": s}, str(sum(f.severity == s for f in report.findings)))
            for s in ("error", "warning", "info")
        ],
    )
    family(
        "rke2image_audit_last_run_timestamp_seconds",
        "Unix time of the last audit run.",
        [({}, f"{report.generated_epoch:.3f}")],
    )
    family(
        "rke2image_node_info",
        "Always 1; the role label tells servers from agents.",
        [({"role": report.role or "unknown"}, "1")],
    )
    return "\n".join(out) + "\n"


def npd(report: Report) -> str:
    """One line of at most 80 characters: the worst parameter (and where), or OK."""
    if report.compliant:
        return _cut(f"OK: {len(report.parameters)} kernel parameters compliant")
    bad = sorted(
        (p for p in report.parameters if p.verdict != "ok"),
        key=lambda p: VERDICTS.index(p.verdict) if p.verdict in VERDICTS else 0,
    )
    problems = [f for f in report.findings if f.severity in {"error", "warning"}]
    if bad:
        first = bad[0]
        source = first.systemd
        where = (
            f": {source.file}:{source.line}"
            if source.file and source.value != first.expected
            else ""
        )
        head = f"{first.key} {first.verdict}{where}"
        more = len(problems) - 1
    else:
        head = f"{problems[0].rule}: {problems[0].message}"
        more = len(problems) - 1
    tail = f" (+{more} more)" if more > 0 else ""
    return _cut(head, tail)


def _cut(head: str, tail: str = "") -> str:
    room = NPD_MAX - len(tail)
    if len(head) > room:
        head = head[: room - 3] + "..."
    return head + tail + "\n"


def _bool(value: bool) -> str:
    return "1" if value else "0"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


REPORTERS: dict[str, Callable[[Report], str]] = {
    "text": text,
    "json": as_json,
    "prometheus": prometheus,
    "npd": npd,
}
