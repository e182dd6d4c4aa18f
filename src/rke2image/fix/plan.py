"""From the audit's findings to the plan: which file to write, which live value, which
account, which restart. Reads only; the plan is what ``--apply`` carries out."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from rke2image.audit import AuditOptions, Report, catalog, run_audit
from rke2image.audit.boot import read_boot_writers
from rke2image.audit.model import Finding
from rke2image.fix import accounts, persist, service
from rke2image.fix.afterfix import OURS
from rke2image.fix.catalog import CANNOT_PERSIST
from rke2image.fix.model import FileChange, LiveWrite, Plan
from rke2image.rootfs import RootFS
from rke2image.sysctld import read_plan

# Rules a plan resolves: the kernel values, the etcd account, rke2image's missing file
# and the log lines that merely repeat a value or account finding.
RESOLVED = frozenset(
    rule.id
    for rule in (
        catalog.LIVE_VALUE_WRONG,
        catalog.NEXT_BOOT_WRONG,
        catalog.LATENT_VALUE,
        catalog.UNPERSISTED_VALUE,
        catalog.PROCPS_VALUE_WRONG,
        catalog.ETCD_USER_MISSING,
        catalog.ETCD_GROUP_MISSING,
        catalog.KUBELET_INVALID_KERNEL_FLAG,
        catalog.RKE2_INVALID_KERNEL_PARAMETER,
        catalog.RKE2_MISSING_ETCD_ACCOUNT,
    )
)


class FixOptions(NamedTuple):
    audit: AuditOptions
    restart: bool = False
    timeout: float = 300.0


def audit(options: FixOptions) -> Report:
    return run_audit(options.audit)


def make_plan(options: FixOptions, report: Report) -> Plan:
    """The plan for one node, from its audit report."""
    root = options.audit.root.absolute()
    host = root.resolve() == Path("/")
    fs = RootFS(root)
    date = report.generated[:10]  # the audit's clock (SOURCE_DATE_EPOCH, --now in tests)
    plans = {"systemd": read_plan(fs, "systemd"), "procps": read_plan(fs, "procps")}
    # The writers around the sysctl files, read as the audit read them (run.py).
    proc_sys = options.audit.proc_sys or (Path("/proc/sys") if host else None)
    writers = read_boot_writers(fs, proc_sys.parent if proc_sys is not None else None)
    # On a node rke2image manages, its own missing sysctl file is the fix's to write.
    create = any(f.rule == catalog.SYSCTL_FILE_MISSING.id for f in report.findings)
    kept = persist.plan_persistence(fs, plans, writers, report.parameters, date, create)
    files, skipped = _file_changes(fs, kept, date)
    kept = kept._replace(stuck=kept.stuck + skipped)
    # Live values are written only where they were read: this node's /proc/sys, or the
    # tree --proc-sys names (tests); never the host's kernel for another root.
    writes = tuple(
        LiveWrite(p.key, p.live, p.expected)
        for p in report.parameters
        if report.live
        and (host or options.audit.proc_sys is not None)
        and p.live is not None
        and p.verdict == "wrong"  # live, as the kernel parses it
    )
    steps = accounts.account_steps(report, Path("/") if host else root)
    restart = None
    if options.restart and host:
        restart = service.plan_restart(report.role, options.timeout)
    left = _left(report, kept.stuck, files)
    return Plan(
        str(root),
        report.node_name,
        report.role,
        report.live,
        date,
        files,
        writes,
        steps,
        restart,
        left,
    )


def _file_changes(
    fs: RootFS, kept: persist.Persistence, date: str
) -> tuple[tuple[FileChange, ...], tuple[persist.Stuck, ...]]:
    """The file changes, and the lines that could not be matched."""
    changes = []
    skipped: list[persist.Stuck] = []
    if kept.ours_new is not None:
        changes.append(
            FileChange(kept.ours_target, kept.ours_old, kept.ours_new, kept.ours_reasons)
        )
    by_file: dict[str, list[persist.Edit]] = {}
    for edit in kept.edits:
        by_file.setdefault(edit.target, []).append(edit)
    for target in sorted(by_file):
        edits = by_file[target]
        old = fs.resolve(target).host_path.read_bytes()
        bad = [e for e in edits if not persist.commentable(old, e.line)]
        if bad:  # the file changed since the audit read it, or splits lines otherwise
            skipped += [
                persist.Stuck(
                    e.key,
                    f"{target}:{e.line} is not the line the audit read",
                    "run rke2image fix again: the file changed since the audit read it",
                    target,
                    e.line,
                )
                for e in bad
            ]
            continue
        new = persist.comment_out(old, [e.line for e in edits], date)
        changes.append(FileChange(target, old, new, tuple(e.reason for e in edits)))
    return tuple(changes), tuple(skipped)


def _left(
    report: Report, stuck: tuple[persist.Stuck, ...], files: tuple[FileChange, ...]
) -> tuple[Finding, ...]:
    """Findings the plan does not change (each keeps the audit's own fix)."""
    stuck_keys = {s.key for s in stuck}
    creates_ours = any(f.path == OURS and f.old is None for f in files)
    left = []
    for finding in report.findings:
        if finding.severity == "info":
            continue
        if finding.rule in RESOLVED and finding.key not in stuck_keys:
            continue
        if finding.rule == catalog.SYSCTL_FILE_MISSING.id and creates_ours:
            continue
        left.append(finding)
    left += [
        CANNOT_PERSIST.finding(f"{s.key}: {s.why}", s.key, s.file, s.line, s.fix) for s in stuck
    ]
    return tuple(left)
