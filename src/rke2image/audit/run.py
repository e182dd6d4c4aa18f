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
from rke2image.audit import node as node_checks
from rke2image.audit.joinlogs import log_findings
from rke2image.audit.live import active_swaps, read_live
from rke2image.audit.logs import Damaged, LogHit, host_log, rotations, scan, scan_logs
from rke2image.audit.model import Finding, ParameterResult, Report
from rke2image.audit.params import Context, Wanted, judge
from rke2image.audit.protection import read_protection
from rke2image.errors import InputError, UserError
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.rootfs import RootFS
from rke2image.sysctld import SYSCTL_CONF, read_plan

JOURNAL_UNITS = ("rke2-server", "rke2-agent", "systemd-sysctl")
_RANK = {"error": 0, "warning": 1, "info": 2}


class AuditOptions(NamedTuple):
    root: Path = Path("/")
    proc_sys: Path | None = None  # None: /proc/sys when the root is /, else no live values
    kubelet_logs: tuple[Path, ...] = ()  # () : kubelet.log and its rotations in the root
    rke2_logs: tuple[Path, ...] = ()  # () : journald on a live node (root /)
    spec: Path | None = None
    role: str | None = None
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
    fs = RootFS(root)
    proc_sys = options.proc_sys or (Path("/proc/sys") if host_root else None)
    if proc_sys is not None and not proc_sys.is_dir():
        raise InputError(f"{proc_sys}: not a folder (--proc-sys)")
    extra, spec_role = _from_spec(options)
    role = options.role or spec_role or node_checks.detect_role(fs)
    protection, findings = read_protection(fs, role)
    systemd, procps = read_plan(fs, "systemd"), read_plan(fs, "procps")
    seen = set()
    # procps alone rejects systemd's bare ``-key`` lines of stock files: report its
    # problems only in the file systemd does not read by that name.
    for problem in (*systemd.problems, *(p for p in procps.problems if p.file == SYSCTL_CONF)):
        if (problem.file, problem.line) not in seen:
            seen.add((problem.file, problem.line))
            findings.append(
                Finding(
                    "warning",
                    "sysctl-syntax",
                    problem.message,
                    None,
                    problem.file,
                    problem.line,
                    f"fix or remove {problem.file}:{problem.line}",
                )
            )
    ctx = Context(proc_sys is not None, protection.on, node_checks.remediating(fs, role))
    wanted = [Wanted(p.key, p.value, True) for p in REQUIRED_PARAMETERS]
    wanted += [
        Wanted(k, v, False)
        for k, v in {**extra, **options.extra}.items()
        if k not in {w.key for w in wanted}
    ]
    results: list[ParameterResult] = []
    for want in wanted:
        live = read_live(proc_sys, want.key) if proc_sys is not None else None
        result, raised = judge(want, live, systemd, procps, ctx)
        results.append(result)
        findings += raised
    findings += node_checks.etcd_findings(fs, role, protection)
    findings += node_checks.rke2image_findings(fs, role)
    swaps = active_swaps(proc_sys) if proc_sys is not None and protection.fail_swap_on else []
    if swaps:
        findings.append(
            Finding(
                "error",
                "swap-on",
                f"swap is on ({', '.join(swaps)}) and a kubelet-arg "
                "sets fail-swap-on=true: kubelet refuses to start",
                fix="swapoff -a, and remove the swap entry from /etc/fstab",
            )
        )
    hits, damaged = _scan_logs(options, fs, journal)
    still = {
        "rke2-missing-etcd-account:user": not node_checks.has_account(fs, "/etc/passwd", "etcd"),
        "rke2-missing-etcd-account:group": not node_checks.has_account(fs, "/etc/group", "etcd"),
        "rke2-protect-kernel-defaults": any(f.rule == "cis-protection-false" for f in findings),
    }
    findings += log_findings(hits, {r.key: r for r in results}, still, damaged)
    findings.sort(key=lambda f: (_RANK[f.severity], f.file or "", f.line or 0, f.rule, f.key or ""))
    now = _now(options)
    return Report(
        generated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now))),
        generated_epoch=now,
        node_name=options.node_name or _hostname(fs),
        role=role,
        root=str(root),
        live=proc_sys is not None,
        protection=protection,
        parameters=tuple(results),
        findings=tuple(findings),
        files={
            "systemd": [f.path for f in systemd.files],
            "procps": [f.path for f in procps.files],
        },
    )


def _from_spec(options: AuditOptions) -> tuple[dict[str, str], str | None]:
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
) -> tuple[dict[tuple[str, str], LogHit], list[Damaged]]:
    if options.kubelet_logs:
        kubelet = [host_log(p) for p in options.kubelet_logs]
    else:
        kubelet = rotations(fs, paths.KUBELET_LOG)
    hits, damaged = scan_logs([*kubelet, *(host_log(p) for p in options.rke2_logs)])
    if journal is not None:
        scan(journal, "journal", hits)
    return hits, damaged


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


def _hostname(fs: RootFS) -> str:
    try:  # a name is at most 64 bytes: a larger or odd /etc/hostname is not one
        data = fs.read_bytes("/etc/hostname", limit=4096)
    except InputError:
        data = None
    text = data.decode("utf-8", errors="replace") if data else ""
    name = text.strip().splitlines()[0].strip() if text.strip() else ""
    return name or os.uname().nodename


def _now(options: AuditOptions) -> float:
    if options.now is not None:
        return options.now
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return float(epoch) if epoch.isdigit() else time.time()
