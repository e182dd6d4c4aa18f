"""Carry out a plan: journal each step, then do it; audit again afterwards.

The order is files (persistence first: a kill after it leaves the next boot right),
accounts, live values, the restart. Before anything is written, every folder the plan
touches is checked: a read-only root is an error and nothing changes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from rke2image.audit import Report
from rke2image.audit.live import proc_path
from rke2image.audit.model import Finding
from rke2image.errors import InputError
from rke2image.fix import accounts, journal, safewrite, service
from rke2image.fix.model import FixReport, Plan
from rke2image.fix.plan import FixOptions, audit
from rke2image.rootfs import RootFS

Hook = Callable[[str, int], None]  # ("begin" | "done", step number): tests kill here


def apply_plan(
    options: FixOptions,
    plan: Plan,
    progress: Callable[[str], None] | None = None,
    hook: Hook | None = None,
) -> FixReport:
    root = Path(plan.root)
    if plan.empty:  # nothing to do: no journal either, only the audit's word
        after = audit(options)
        return FixReport("apply", plan, None, after, _standing(after))
    fs = RootFS(root)
    proc_sys = options.audit.proc_sys or Path("/proc/sys")
    _check(plan, fs, root, proc_sys)
    now = options.audit.now if options.audit.now is not None else time.time()
    fix_id = journal.new_id(root, now)
    book = journal.Journal.create(root, fix_id, plan.as_dict())
    step = 0

    def begin(entry: dict[str, object]) -> None:
        book.record({"step": step, "event": "begin", **entry})
        if hook is not None:
            hook("begin", step)

    def done(entry: dict[str, object] | None = None) -> None:
        book.record({"step": step, "event": "done", **(entry or {})})
        if hook is not None:
            hook("done", step)

    for change in plan.files:
        step += 1
        host = fs.resolve(change.path).host_path
        meta = safewrite.meta_of(host)
        begin(_file_entry(book, change.path, change.old, meta, change.new))
        safewrite.replace(host, change.new, meta)
        done()
    if plan.accounts:
        step += 1
        saved = [
            _file_entry(book, path, _read(fs, path), _meta(fs, path))
            for path in accounts.ACCOUNT_FILES
        ]
        begin({"kind": "accounts", "argv": [list(a.argv) for a in plan.accounts], "files": saved})
        for account in plan.accounts:
            accounts.run_step(account)
        done({"sha256": {p: _sha(_read(fs, p)) for p in accounts.ACCOUNT_FILES}})
    for write in plan.live_writes:
        step += 1
        begin({"kind": "live", "key": write.key, "from": write.old, "to": write.new})
        _write_live(proc_path(proc_sys, write.key), write.new)
        done()
    wait_error = None
    if plan.restart is not None:
        step += 1
        begin({"kind": "restart", "unit": plan.restart.unit})
        service.restart(plan.restart.unit)
        down = service.wait_healthy(plan.restart.checks, plan.restart.timeout, progress)
        if down:
            names = ", ".join(f"{c.name} ({c.url})" for c in down)
            tail = service.kubelet_tail(root)
            lines = "".join(f"\n  {line}" for line in tail) or " (no kubelet.log lines)"
            wait_error = (
                f"{names} not healthy after {int(plan.restart.timeout)}s; "
                f"newest kubelet.log lines:{lines}"
            )
        done({"healthy": not down})
    after = audit(options)
    return FixReport("apply", plan, fix_id, after, _standing(after), wait_error)


def _standing(report: Report) -> tuple[Finding, ...]:
    return tuple(f for f in report.findings if f.severity != "info")


def _check(plan: Plan, fs: RootFS, root: Path, proc_sys: Path) -> None:
    """Every file still as planned and every folder writable, before anything is written."""
    for change in plan.files:
        host = fs.resolve(change.path).host_path
        current = host.read_bytes() if host.is_file() else None
        if current != change.old:
            raise InputError(f"{change.path} changed since the plan was made: nothing was changed")
    folders = {fs.resolve(c.path).host_path.parent for c in plan.files}
    if plan.accounts:
        folders.add(root / "etc")
        accounts.check_tools(plan.accounts)
    for folder in sorted(folders):
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder: nothing was changed")
    folders.add(journal.base(root))
    for folder in sorted(folders):
        safewrite.check_writable(folder)
    for write in plan.live_writes:
        path = proc_path(proc_sys, write.key)
        if not path.is_file():
            raise InputError(f"{path}: no such kernel parameter: nothing was changed")


def _file_entry(
    book: journal.Journal,
    path: str,
    data: bytes | None,
    meta: safewrite.Meta | None,
    new: bytes | None = None,
) -> dict[str, object]:
    return {
        "kind": "file",
        "path": path,
        "existed": data is not None,
        "original": book.save_original(data) if data is not None else None,
        "meta": meta.as_dict() if meta is not None else None,
        "sha256_old": _sha(data),
        "sha256_new": _sha(new),
    }


def _write_live(path: Path, value: str) -> None:
    """As ``sysctl -w`` does: the value and a newline written to the /proc/sys file."""
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
    except OSError as error:
        raise InputError(f"{path}: cannot write {value}: {error.strerror}") from None


def _read(fs: RootFS, path: str) -> bytes | None:
    host = fs.host(path)
    return host.read_bytes() if host.is_file() and not host.is_symlink() else None


def _meta(fs: RootFS, path: str) -> safewrite.Meta | None:
    host = fs.host(path)
    return safewrite.meta_of(host) if host.is_file() and not host.is_symlink() else None


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None
