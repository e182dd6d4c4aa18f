"""The fix's plan as plain typed values; ``as_dict`` is its JSON contract (schema
``rke2image.fix/v1``, an envelope like the audit's).

A plan is computed without side effects and printed; ``--apply`` carries out that same
value, step by step, journalling each step first (terraform's plan/apply)."""

from __future__ import annotations

import difflib
from typing import Any, NamedTuple

from rke2image.audit.model import Finding
from rke2image.fix.catalog import CANNOT_PERSIST
from rke2image.rke2 import Role

SCHEMA = "rke2image.fix/v1"


class FileChange(NamedTuple):
    """One file replaced atomically: its bytes before (None: created) and after."""

    path: str  # node path written (after links inside the root)
    old: bytes | None
    new: bytes
    reasons: tuple[str, ...]

    def diff(self) -> str:
        """A unified diff, as `diff -u` prints it; /dev/null for a created file."""
        before = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        after = self.new.decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before, after, "/dev/null" if self.old is None else self.path, self.path
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "action": "create" if self.old is None else "edit",
            "reasons": list(self.reasons),
            "diff": self.diff(),
        }


class LiveWrite(NamedTuple):
    """A kernel value written now, as ``sysctl -w KEY=VALUE`` does."""

    key: str
    old: str
    new: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "from": self.old, "to": self.new}


class AccountStep(NamedTuple):
    """A system user or group created with the system's own tool."""

    kind: str  # "group", "user", or "user+group" (useradd --user-group)
    name: str
    argv: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "argv": list(self.argv)}


class HealthCheck(NamedTuple):
    name: str  # kubelet, etcd
    url: str


class RestartStep(NamedTuple):
    """``systemctl restart`` of a failed or restart-looping RKE2 unit, then the wait."""

    unit: str
    state: str  # why: "failed", "auto-restart (12 restarts)"
    checks: tuple[HealthCheck, ...]
    timeout: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "state": self.state,
            "wait_for": [{"name": c.name, "url": c.url} for c in self.checks],
            "timeout_seconds": self.timeout,
        }


class Plan(NamedTuple):
    root: str
    node_name: str
    role: Role | None
    live: bool  # live values are read (and written on --apply)
    date: str  # YYYY-MM-DD, in the comment markers
    files: tuple[FileChange, ...]
    live_writes: tuple[LiveWrite, ...]
    accounts: tuple[AccountStep, ...]
    restart: RestartStep | None
    left: tuple[Finding, ...]  # findings the plan does not change, each with its own fix

    @property
    def empty(self) -> bool:
        return not (self.files or self.live_writes or self.accounts or self.restart)

    @property
    def stuck(self) -> bool:
        """Some key stays wrong at the next boot whatever fix does (``fix-cannot-persist``)."""
        return any(f.rule == CANNOT_PERSIST.id for f in self.left)

    @property
    def changes(self) -> int:
        return (
            len(self.files)
            + len(self.live_writes)
            + len(self.accounts)
            + (self.restart is not None)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [f.as_dict() for f in self.files],
            "live": [w.as_dict() for w in self.live_writes],
            "accounts": [a.as_dict() for a in self.accounts],
            "restart": self.restart.as_dict() if self.restart else None,
            "left": [f.as_dict() for f in self.left],
        }


class Restored(NamedTuple):
    """One file put back by ``--undo``: its bytes as before the fix, or removed."""

    path: str
    action: str  # "restored", "removed", "unchanged"


class FixReport(NamedTuple):
    """What one run of ``fix`` did: planned, applied (and audited again) or undone."""

    mode: str  # plan, apply, undo
    plan: Plan | None
    fix_id: str | None = None
    after: Any = None  # the audit Report after --apply
    left_after: tuple[Finding, ...] = ()
    wait_error: str | None = None  # the restart's wait failed: why, with kubelet.log lines
    restored: tuple[Restored, ...] = ()
    kept_live: tuple[LiveWrite, ...] = ()  # live values --undo does not put back

    @property
    def ok(self) -> bool:
        if self.mode == "plan":
            return self.plan is not None and self.plan.empty and not self.plan.stuck
        # --apply: only a node the audit then finds compliant (docs/design.md "Fix")
        if self.mode == "apply":
            return self.after is not None and self.after.compliant and self.wait_error is None
        return True

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "mode": self.mode,
            "id": self.fix_id,
            "root": plan.root if plan else None,
            "node": {"name": plan.node_name, "role": plan.role} if plan else None,
            "plan": plan.as_dict() if plan else None,
            "after": None,
            "restored": [{"path": r.path, "action": r.action} for r in self.restored],
            "ok": self.ok,
        }
        # only a node the audit then finds compliant (docs/design.md "Fix")
        if self.mode == "apply":
            after = self.after
            out["after"] = {
                "compliant": bool(after is not None and after.compliant),
                "fixed": self.ok,
                "left": [f.as_dict() for f in self.left_after],
                "wait_error": self.wait_error,
            }
        if self.mode == "undo":
            out["live_not_restored"] = [w.as_dict() for w in self.kept_live]
        return out
