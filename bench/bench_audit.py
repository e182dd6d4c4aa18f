"""Benchmark: `rke2image audit` on a live node, and on a big root with a 1 GB kubelet log.

Why: the audit runs on every node from a DaemonSet or node-problem-detector every
few minutes, so a live audit must cost next to nothing (target: under 100 ms), and a
node that logged for months must not make it slow or big (target: a root with 200
sysctl.d files and a 1 GB kubelet.log in under 5 s, in constant memory). Not a test:
no assertion on time, only figures.

    PYTHONPATH=src python3 bench/bench_audit.py [--runs N] [--json] [--log-mib N]

Cases (each a cold process through the installed console script, N runs, medians):
- live, in-process: ``run_audit`` alone (no interpreter start, no imports), CPU time;
- floors: ``python -c pass``, and a process that imports what the audit cannot do
  without (argparse, json, pathlib, PyYAML) and parses one line of YAML: the part of
  the figures below that is the interpreter's, not the audit's;
- live, this machine: ``rke2image audit --format json`` (root /, /proc/sys, journald);
- live, RKE2-shaped: a root with RKE2's config and rke2image's files, the real /proc/sys;
- big root: 200 sysctl.d files, a generated kubelet.log of --log-mib MiB (default 1024)
  with kubelet's refusals spread through it; peak RSS is compared with a 64 MiB log to
  show that memory does not grow with the log. The log lives in a temporary folder and
  is deleted afterwards.
``--runs`` defaults to $RKE2IMAGE_BENCH_RUNS (set by bench/run.py), else 10.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rke2image.kernel import REQUIRED_PARAMETERS

KLOG = (
    b'I1126 04:00:00.000000    2211 kubelet_node_status.go:76] "Attempting to register '
    b'node" node="cp-1"\n'
)
REFUSAL = (
    b'E1126 04:00:01.000000    2211 kubelet.go:1649] "Failed to start ContainerManager" '
    b'err="[invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: '
    b'0, invalid kernel flag: kernel/panic, expected value: 10, actual value: 0]"\n'
)


# What any Python audit of an RKE2 node pays before its own first line: the interpreter
# and the modules it cannot do without (PyYAML for config.yaml). Printed so the audit's
# figures can be read as "floor + ours" on any machine.
FLOOR = (
    "import argparse, json, pathlib, yaml; "
    "argparse.ArgumentParser().add_argument('--root'); yaml.safe_load('profile: cis')"
)


def command() -> list[str]:
    script = shutil.which("rke2image", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "rke2image"]


def cold(argv: list[str]) -> tuple[float, int, int, float]:
    """Wall seconds, exit code, peak RSS (KiB) and CPU seconds (user + system) of one
    process. CPU time is the figure to trust on a shared machine: wall time there
    includes waiting for the other processes' turns."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def rke2_root(base: Path, files: int) -> Path:
    """An RKE2 server root: config, rke2image's sysctl file and drop-in, ``files`` more."""
    root = base / "root"
    for rel, text in {
        "etc/rancher/rke2/config.yaml": "profile: cis\ntoken-file: /etc/rancher/rke2/token\n",
        "etc/sysctl.d/99-zz-rke2image.conf": "".join(
            f"{p.key} = {p.value}\n" for p in REQUIRED_PARAMETERS
        ),
        "etc/passwd": "root:x:0:0::/root:/bin/sh\netcd:x:999:999::/:/sbin/nologin\n",
        "etc/group": "root:x:0:\netcd:x:999:\n",
        "etc/hostname": "cp-1\n",
        "etc/systemd/system/rke2-server.service.d/10-rke2image-preflight.conf": (
            "[Service]\nExecStartPre=/usr/local/libexec/rke2image/preflight --mode remediate\n"
        ),
        "usr/local/libexec/rke2image/preflight": "#!/bin/sh\n",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "usr/local/libexec/rke2image/preflight").chmod(0o755)
    for n in range(files):
        folder = root / ("etc/sysctl.d" if n % 2 else "usr/lib/sysctl.d")
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"net.core.bench_{n}_{i} = {i}\n" for i in range(10))
        (folder / f"{n % 90 + 10:02d}-bench-{n}.conf").write_text(f"# file {n}\n{body}")
    return root


def write_log(path: Path, mib: int) -> None:
    """``mib`` MiB of klog lines, a refusal in every 64th MiB."""
    block = KLOG * (1024 * 1024 // len(KLOG))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for n in range(mib):
            handle.write(block)
            if n % 64 == 0:
                handle.write(REFUSAL)


def median_case(name: str, argv: list[str], runs: int) -> dict[str, Any]:
    cold(argv)  # warm the page cache
    results = [cold(argv) for _ in range(runs)]
    seconds = statistics.median(r[0] for r in results)
    codes = sorted({r[1] for r in results})
    rss = max(r[2] for r in results)
    cpu = statistics.median(r[3] for r in results)
    print(
        f"{name:<40} median wall {seconds * 1000:8.1f} ms  cpu {cpu * 1000:8.1f} ms  "
        f"exit {codes}  peak RSS {rss / 1024:.1f} MiB"
    )
    return {
        "name": name,
        "median_seconds": seconds,
        "median_cpu_seconds": cpu,
        "exit_codes": codes,
        "peak_rss_kib": rss,
    }


def in_process(runs: int) -> dict[str, Any]:
    """The audit's own work on this machine (root /), without interpreter start and imports."""
    from rke2image.audit import AuditOptions, run_audit

    options = AuditOptions()
    run_audit(options)
    times = []
    for _ in range(runs):
        start = time.process_time()
        run_audit(options)
        times.append(time.process_time() - start)
    cpu = statistics.median(times)
    print(f"{'live, in-process run_audit':<40} median cpu {cpu * 1000:8.1f} ms")
    return {"name": "in-process", "median_cpu_seconds": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=int(os.environ.get("RKE2IMAGE_BENCH_RUNS", "10"))
    )
    parser.add_argument("--log-mib", type=int, default=1024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cpu = os.cpu_count()
    print(
        f"machine: {cpu} CPUs, {platform.machine()}, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    base = [*command(), "audit", "--format", "json"]
    cases = [
        in_process(args.runs),
        median_case("floor: python -c pass", [sys.executable, "-c", "pass"], args.runs),
        median_case(
            "floor: + argparse, json, pathlib, yaml", [sys.executable, "-c", FLOOR], args.runs
        ),
        median_case("live (this machine, root /)", base, args.runs),
    ]
    with tempfile.TemporaryDirectory(prefix="rke2image-bench-audit-") as tmp:
        root = rke2_root(Path(tmp), 0)
        cases.append(
            median_case(
                "live (RKE2-shaped root)",
                [*base, "--root", str(root), "--proc-sys", "/proc/sys"],
                args.runs,
            )
        )
    with tempfile.TemporaryDirectory(prefix="rke2image-bench-audit-") as tmp:
        root = rke2_root(Path(tmp), 200)
        log = root / "var/lib/rancher/rke2/agent/logs/kubelet.log"
        for mib in (64, args.log_mib):
            write_log(log, mib)
            cases.append(
                median_case(
                    f"200 files + {mib} MiB kubelet.log",
                    [*base, "--root", str(root)],
                    max(1, min(args.runs, 3)),
                )
            )
    if args.json:
        print(json.dumps(cases, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
