"""``run_audit``: read a root (and live values), return a Report. Reads only, never writes."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO, NamedTuple

from rke2image import paths
from rke2image.audit import catalog, installed
from rke2image.audit.boot import read_boot_writers
from rke2image.audit.joinlogs import log_findings
from rke2image.audit.live import active_swaps, read_live
from rke2image.audit.logs import Damaged, LogHit, LogSubject, host_log, rotations, scan, scan_logs
from rke2image.audit.model import Finding, ParameterResult, Protection, Report
from rke2image.audit.nodefile import read_node_text
from rke2image.audit.params import Context, Wanted, judge
from rke2image.audit.plans import plan_findings
from rke2image.audit.protection import protection_unknown, read_protection
from rke2image.errors import InputError, UserError
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.rke2 import Role
from rke2image.rootfs import RootFS
from rke2image.sysctld import BootPlan, read_plan

JOURNAL_UNITS = ("rke2-server", "rke2-agent", "systemd-sysctl")
_RANK = {"error": 0, "warning": 1, "info": 2}


class AuditOptions(NamedTuple):
    root: Path = Path("/")
    proc_sys: Path | None = None  # None: /proc/sys when the root is /, else no live values
    kubelet_logs: tuple[Path, ...] = ()  # () : kubelet.log and its rotations in the root
    rke2_logs: tuple[Path, ...] = ()  # () : journald on a live node (root /)
    spec: Path | None = None
    role: Role | None = None
    node_name: str | None = None
    journal: bool | None = None  # None: read journald only when the root is /
    now: float | None = None
    extra: Mapping[str, str] = MappingProxyType({})  # more keys to check (from a spec)


def run_audit(options: AuditOptions) -> Report:
    root = options.root.absolute()
    if not root.is_dir():
        raise InputError(f"{options.root}: the root is not a folder (--root)")
    host_root = root.resolve() == Path("/")
    read_journal = options.journal or (
        options.journal is None and host_root and not options.rke2_logs
    )
    # journalctl starts first and runs on another core while the files are read.
    with _journal() if read_journal else contextlib.nullcontext() as journal:
        return _audit(options, root, host_root, journal)


def _audit(options: AuditOptions, root: Path, host_root: bool, journal: IO[bytes] | None) -> Report:
    """The audit's table of contents: who the node is, what turns protection on, what the
    boot writes, each parameter's verdict, what RKE2 needs besides, and the logs joined to
    all that; findings worst first. Each step is a function below."""
    fs = RootFS(root)
    proc_sys = _proc_sys(options, host_root)
    node = _read_node(options, fs)
    reading = read_protection(fs, node.role)
    plans = _read_boot_plans(fs)
    judged = _judge_parameters(fs, proc_sys, node, reading.protection, plans)
    findings = [
        *reading.findings,
        *plans.findings,
        *judged.findings,
        *_setup_checks(fs, proc_sys, node, reading.protection, judged.results),
        *_log_checks(options, fs, journal, judged.results, reading.findings),
    ]
    findings.sort(key=_worst_first)
    now = _now(options)
    return Report(
        generated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now))),
        generated_epoch=now,
        node_name=options.node_name or _node_name(fs, host_root, reading.node_name),
        role=node.role,
        root=str(root),
        live=proc_sys is not None,
        protection=reading.protection,
        parameters=tuple(judged.results),
        findings=tuple(findings),
        files={
            "systemd": [f.path for f in plans.systemd.files],
            "procps": [f.path for f in plans.procps.files],
        },
        boot_tools={
            "systemd": plans.systemd.version.as_dict(),
            "procps": plans.procps.version.as_dict(),
        },
        managed=node.managed,
    )


class _Node(NamedTuple):
    """Who the audited node is."""

    role: Role | None
    managed: bool  # rke2image's own checks apply
    extra: dict[str, str]  # the spec's own keys, and those of the options


class _Plans(NamedTuple):
    """The sysctl files as each boot tool reads them, and what is wrong with the files."""

    systemd: BootPlan
    procps: BootPlan
    findings: list[Finding]


class _Judged(NamedTuple):
    """Each parameter's result, in the order the report lists them, and their findings."""

    results: list[ParameterResult]
    findings: list[Finding]


def _proc_sys(options: AuditOptions, host_root: bool) -> Path | None:
    """Where live values are read: --proc-sys, else this machine's for the root / only (an
    image root has none, and the host's values are not its)."""
    proc_sys = options.proc_sys or (Path("/proc/sys") if host_root else None)
    if proc_sys is not None and not proc_sys.is_dir():
        raise InputError(f"{proc_sys}: not a folder (--proc-sys)")
    return proc_sys


def _read_node(options: AuditOptions, fs: RootFS) -> _Node:
    """The role (given, the spec's, else the root's), whether rke2image built the node, and
    the keys a spec adds. rke2image's own checks (drop-in, preflight, its sysctl file)
    apply to a root it built, or when a spec says it should have: a node built by other
    means is judged on its values, protection, accounts, swap and logs alone."""
    extra, spec_role = _from_spec(options)
    role = options.role or spec_role or installed.detect_role(fs)
    managed = options.spec is not None or installed.is_managed(fs)
    return _Node(role, managed, {**extra, **options.extra})


def _read_boot_plans(fs: RootFS) -> _Plans:
    """The sysctl files as systemd-sysctl and procps read them at boot: their orders and
    rules differ, and either may run on the node."""
    systemd, procps = read_plan(fs, "systemd"), read_plan(fs, "procps")
    return _Plans(systemd, procps, plan_findings(systemd, procps))


def _judge_parameters(
    fs: RootFS, proc_sys: Path | None, node: _Node, protection: Protection, plans: _Plans
) -> _Judged:
    """kubelet's parameters, then the spec's own keys: the live value, what each boot tool
    leaves, the verdict and its findings. Protection that cannot be read counts as on
    (fail closed): a wrong value is an error."""
    ctx = Context(
        proc_sys is not None,
        protection.on or not protection.known,
        installed.remediating(fs, node.role),
    )
    wanted = [Wanted(p.key, p.value, True) for p in REQUIRED_PARAMETERS]
    wanted += [
        Wanted(k, v, False) for k, v in node.extra.items() if k not in {w.key for w in wanted}
    ]
    writers = read_boot_writers(fs, proc_sys.parent if proc_sys is not None else None)
    judged = _Judged([], [])
    for want in wanted:
        live = read_live(proc_sys, want.key) if proc_sys is not None else None
        result, raised = judge(want, live, plans.systemd, plans.procps, ctx, writers)
        judged.results.append(result)
        judged.findings.extend(raised)
    return judged


def _setup_checks(
    fs: RootFS,
    proc_sys: Path | None,
    node: _Node,
    protection: Protection,
    results: list[ParameterResult],
) -> list[Finding]:
    """What RKE2 needs besides the values: a server's etcd account, rke2image's own files
    (on a node it built), protection that could not be read (only where it matters is it a
    warning), and swap when kubelet is told to refuse it."""
    findings = installed.etcd_findings(fs, node.role, protection)
    if node.managed:
        findings += installed.rke2image_findings(fs, node.role)
    unknown = protection_unknown(protection, _depends_on_protection(fs, node.role, results))
    if unknown is not None:
        findings.append(unknown)
    swaps = active_swaps(proc_sys) if proc_sys is not None and protection.fail_swap_on else []
    if swaps:
        findings.append(
            catalog.SWAP_ON.finding(
                f"swap is on ({', '.join(swaps)}) and a kubelet-arg "
                "sets fail-swap-on=true: kubelet refuses to start",
                fix="swapoff -a, and remove the swap entry from /etc/fstab",
            )
        )
    return findings


def _log_checks(
    options: AuditOptions,
    fs: RootFS,
    journal: IO[bytes] | None,
    results: list[ParameterResult],
    protection_findings: list[Finding],
) -> list[Finding]:
    """kubelet's and RKE2's refusals in the logs, joined to what is true now: a refusal
    whose cause is gone is history. A kubelet log the audit may not read is said, since
    its refusals are then missing."""
    hits, damaged, unread = _scan_logs(options, fs, journal)
    findings = [
        catalog.LOG_UNREADABLE.with_severity("info").finding(
            f"cannot read {path} (permission denied): kubelet's refusals in it are not "
            "joined to the verdicts",
            file=path,
            fix="run the audit as root, or pass a readable copy with --kubelet-log",
        )
        for path in unread
    ]
    still = _causes_still_there(fs, hits, protection_findings)
    findings += log_findings(hits, {r.key: r for r in results}, still, damaged)
    return findings


def _causes_still_there(
    fs: RootFS, hits: Mapping[LogSubject, LogHit], protection_findings: list[Finding]
) -> dict[LogSubject, bool]:
    """For the log lines not about a parameter, whether their cause is still there: the
    etcd user or group still missing, protect-kernel-defaults still false with cis."""
    missing = installed.missing_etcd(fs)
    still = {
        LogSubject(catalog.RKE2_MISSING_ETCD_ACCOUNT, kind): kind in missing
        for kind in installed.ACCOUNT_DATABASES
    }
    cis_false = any(f.rule == catalog.CIS_PROTECTION_FALSE.id for f in protection_findings)
    still.update(
        {about: cis_false for about in hits if about.rule is catalog.RKE2_PROTECT_KERNEL_DEFAULTS}
    )
    return still


def _worst_first(f: Finding) -> tuple[int, str, int, str, str]:
    """Errors, then warnings, then info; in each, by file and line, then rule and key."""
    return (_RANK[f.severity], f.file or "", f.line or 0, f.rule, f.key or "")


def _from_spec(options: AuditOptions) -> tuple[dict[str, str], Role | None]:
    """The spec's own sysctl keys and its role, for the node this root is."""
    if options.spec is None:
        return {}, None
    from rke2image.spec import load_nodes  # only when asked: jsonschema is slow to import

    nodes = load_nodes([options.spec])
    if options.node_name:
        nodes = [n for n in nodes if n.name == options.node_name]
    if len(nodes) != 1:
        names = ", ".join(n.name for n in load_nodes([options.spec]))
        raise UserError(
            f"{options.spec}: holds {len(nodes) or 'no matching'} node(s) "
            f"({names}); pass --node-name to choose one"
        )
    node = nodes[0]
    return dict(node.effective_sysctl()), node.role


def _scan_logs(
    options: AuditOptions, fs: RootFS, journal: IO[bytes] | None
) -> tuple[dict[LogSubject, LogHit], list[Damaged], list[str]]:
    """The log hits, the damaged logs, and the root's kubelet logs the audit may not read
    (kubelet.log is 0600, written by lumberjack: without root). A log given on the command
    line that cannot be read stays an I/O error."""
    unread: list[str] = []
    if options.kubelet_logs:
        kubelet = [host_log(p) for p in options.kubelet_logs]
    else:
        folder = paths.KUBELET_LOG.rsplit("/", 1)[0]
        host = fs.resolve(folder).host_path
        kubelet = []
        if host.is_dir() and not os.access(host, os.R_OK | os.X_OK):
            unread.append(folder)
        else:
            for source in rotations(fs, paths.KUBELET_LOG):
                if os.access(fs.resolve(source[1]).host_path, os.R_OK):
                    kubelet.append(source)
                else:
                    unread.append(source[1])
    hits, damaged = scan_logs([*kubelet, *(host_log(p) for p in options.rke2_logs)])
    if journal is not None:
        scan(journal, "journal", hits)
    return hits, damaged, unread


@contextlib.contextmanager
def _journal() -> Iterator[IO[bytes] | None]:
    """RKE2's and systemd-sysctl's messages of this boot from journald, as a stream;
    None where there is no journalctl. The process is ended on the way out."""
    import subprocess  # lazy: only a live node reads journald

    argv = ["journalctl", "--no-pager", "-q", "-b", "-o", "cat"]
    for unit in JOURNAL_UNITS:
        argv += ["-u", unit]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:  # not installed (a container, a minimal image)
        yield None
        return
    with proc:
        try:
            yield proc.stdout
        finally:
            if proc.poll() is None:
                proc.kill()


def _depends_on_protection(
    fs: RootFS, role: Role | None, results: list[ParameterResult]
) -> str | None:
    """What an unknown protection could change: a required value that is not ok, or a
    server's missing etcd account (a CIS or etcd profile needs it); None when nothing."""
    bad = [r.key for r in results if r.required and r.verdict != "ok"]
    if bad:
        return f"{', '.join(bad)} not ok"
    if role == "server" and installed.missing_etcd(fs):
        return "the missing etcd user or group (a CIS or etcd profile needs them)"
    return None


def _node_name(fs: RootFS, host_root: bool, rke2_name: str | None) -> str:
    """The root's /etc/hostname, else RKE2's node-name, else this machine's host name for
    the root /, else ``unknown``: never the auditing machine's name for another root."""
    text = read_node_text(fs, "/etc/hostname", limit=4096).text or ""
    lines = text.strip().splitlines()
    name = lines[0].strip() if lines else ""
    return name or rke2_name or (os.uname().nodename if host_root else "unknown")


# The last second of year 9999: what an RFC 3339 stamp (and ``time.gmtime``) can hold.
LAST_EPOCH = 253402300799


def _now(options: AuditOptions) -> float:
    """The run's time: ``--now`` in tests, else SOURCE_DATE_EPOCH (reproducible reports),
    else the clock. A SOURCE_DATE_EPOCH that is not a Unix time is refused, as
    reproducible-builds.org asks, rather than silently ignored or overflowing."""
    if options.now is not None:
        return options.now
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not epoch:
        return time.time()
    if not (epoch.isascii() and epoch.isdigit() and int(epoch) <= LAST_EPOCH):
        raise UserError(
            f"SOURCE_DATE_EPOCH={epoch[:40]!a}: not a Unix time (ASCII digits, at most "
            f"{LAST_EPOCH}); set it to seconds since 1970 or unset it"
        )
    return float(epoch)
