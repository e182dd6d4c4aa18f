"""fix's reporters: text for a person (unified diffs, live writes, accounts, the restart,
what is left and why), and JSON (``FixReport.as_dict``, schema rke2image.fix/v1)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from rke2image.audit.model import Finding
from rke2image.fix.catalog import CANNOT_PERSIST
from rke2image.fix.model import FixReport, Plan

# Control characters from file contents, names and values never reach a terminal raw (an
# escape sequence in a sysctl.d line would otherwise act on the reader's screen).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def as_json(report: FixReport) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def text(report: FixReport) -> str:
    """The report for a person; every control character but tab and newline escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", _text(report))


def _text(report: FixReport) -> str:
    if report.mode == "undo":
        return _undo(report)
    plan = report.plan
    assert plan is not None
    out = [_header(report, plan)]
    out += _plan_lines(plan, done=report.mode == "apply")
    if report.mode == "plan":
        if not plan.empty:
            out.append(
                f"{plan.changes} change(s) planned; nothing was changed. "
                "Run with --apply to carry them out (undo with --undo)."
            )
        elif plan.stuck:
            out.append("nothing fix can change: the keys above stay wrong at the next boot")
        else:
            out.append("nothing to do")
        return "\n".join(out) + "\n"
    out.append(
        f"journal: {plan.root.rstrip('/')}/var/lib/rke2image/fix/{report.fix_id}/ "
        f"(undo: rke2image fix --undo {report.fix_id})"
        if report.fix_id
        else ""
    )
    if report.wait_error:
        out.append(f"restart: {report.wait_error}")
    if report.left_after:
        out.append("left after the fix (audited again):")
        out += [f"  {_finding(f)}" for f in report.left_after]
    if report.ok:
        out.append("compliant")
    else:
        out.append("NOT compliant after the fix")
    return "\n".join(line for line in out if line) + "\n"


def _header(report: FixReport, plan: Plan) -> str:
    role = plan.role or "unknown role"
    what = {"plan": "plan", "apply": "applied"}[report.mode]
    live = "live values and files" if plan.live else "files only (no live values)"
    return f"rke2image fix of {plan.root} (node {plan.node_name}, {role}): {what}, {live}"


def _plan_lines(plan: Plan, done: bool) -> list[str]:
    out: list[str] = []
    if plan.live_writes:
        out.append("live values (written as sysctl -w does):")
        out += [f"  sysctl -w {w.key}={w.new}    # was {w.old}" for w in plan.live_writes]
    for change in plan.files:
        verb = "create" if change.old is None else "edit"
        out.append(f"{verb} {change.path}:")
        out += [f"  # {reason}" for reason in change.reasons]
        out.append(change.diff().rstrip("\n"))
    if plan.accounts:
        out.append("accounts:")
        out += [f"  {' '.join(_quote(a) for a in step.argv)}" for step in plan.accounts]
    if plan.restart is not None:
        r = plan.restart
        waits = " and ".join(c.url for c in r.checks)
        out.append(
            f"restart: systemctl restart {r.unit} ({r.state}), then wait up to "
            f"{int(r.timeout)}s for {waits}"
        )
    # After --apply the audit's own findings follow; what fix could not do is said here.
    left = [f for f in plan.left if not done or f.rule == CANNOT_PERSIST.id]
    if left:
        out.append("left as it is (not fix's to change):")
        out += [f"  {_finding(f)}" for f in left]
    return out


def _undo(report: FixReport) -> str:
    out = [f"rke2image fix --undo {report.fix_id}:"]
    out += [f"  {r.action} {r.path}" for r in report.restored]
    if report.kept_live:
        out.append("live values stay as the fix wrote them (the old ones were the broken ones):")
        out += [f"  {w.key} = {w.new} (was {w.old})" for w in report.kept_live]
    return "\n".join(out) + "\n"


def _finding(f: Finding) -> str:
    where = f"{f.file}:{f.line}: " if f.file and f.line else f"{f.file}: " if f.file else ""
    fix = f" -- fix: {f.fix}" if f.fix else ""
    return f"{where}{f.severity}: {f.message} [{f.rule}]{fix}"


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


REPORTERS: dict[str, Callable[[FixReport], str]] = {"text": text, "json": as_json}
