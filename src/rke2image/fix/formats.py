"""fix's reporters: text for a person (unified diffs, live writes, accounts, the restart,
what is left and why), and JSON (``Outcome.as_dict``, schema rke2image.fix/v1)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from rke2image.audit.model import Finding
from rke2image.fix.catalog import CANNOT_PERSIST
from rke2image.fix.model import Outcome, Plan

# Control characters from file contents, names and values never reach a terminal raw (an
# escape sequence in a sysctl.d line would otherwise act on the reader's screen).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def as_json(outcome: Outcome) -> str:
    return json.dumps(outcome.as_dict(), indent=2) + "\n"


def text(outcome: Outcome) -> str:
    """The report for a person; every control character but tab and newline escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", _text(outcome))


def _text(outcome: Outcome) -> str:
    if outcome.mode == "undo":
        return _undo(outcome)
    plan = outcome.plan
    assert plan is not None
    out = [_header(outcome, plan)]
    out += _plan_lines(plan, done=outcome.mode == "apply")
    if outcome.mode == "plan":
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
        f"journal: {plan.root.rstrip('/')}/var/lib/rke2image/fix/{outcome.fix_id}/ "
        f"(undo: rke2image fix --undo {outcome.fix_id})"
        if outcome.fix_id
        else ""
    )
    if outcome.wait_error:
        out.append(f"restart: {outcome.wait_error}")
    if outcome.left_after:
        out.append("left after the fix (audited again):")
        out += [f"  {_finding(f)}" for f in outcome.left_after]
    if outcome.ok:
        out.append("compliant")
    else:
        out.append("NOT compliant after the fix")
    return "\n".join(line for line in out if line) + "\n"


def _header(outcome: Outcome, plan: Plan) -> str:
    role = plan.role or "unknown role"
    what = {"plan": "plan", "apply": "applied"}[outcome.mode]
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


def _undo(outcome: Outcome) -> str:
    out = [f"rke2image fix --undo {outcome.fix_id}:"]
    out += [f"  {r.action} {r.path}" for r in outcome.restored]
    if outcome.kept_live:
        out.append("live values stay as the fix wrote them (the old ones were the broken ones):")
        out += [f"  {w.key} = {w.new} (was {w.old})" for w in outcome.kept_live]
    return "\n".join(out) + "\n"


def _finding(f: Finding) -> str:
    where = f"{f.file}:{f.line}: " if f.file and f.line else f"{f.file}: " if f.file else ""
    fix = f" -- fix: {f.fix}" if f.fix else ""
    return f"{where}{f.severity}: {f.message} [{f.rule}]{fix}"


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


REPORTERS: dict[str, Callable[[Outcome], str]] = {"text": text, "json": as_json}
