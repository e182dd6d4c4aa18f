"""Run the real systemd-sysctl and ``sysctl --system`` of one Debian root on many fixtures.

Runs INSIDE a private mount namespace (``unshare --mount --propagation private``), as
root, started by ``harness.run_suite``. For each fixture: an overlay of the Debian root
with the fixture's files laid in, a tmpfs on its /proc/sys seeded with key files holding
a marker, each tool run in a chroot of it, and what landed in each key read back. The
audit's own reader is run on the same overlay, so both sides see one tree.

Safe by construction: every tool run is preceded by a check that the chroot's /proc/sys
is a tmpfs mounted there in this namespace; the driver aborts otherwise. No procfs is
mounted anywhere, so a write can only land in that tmpfs.

Usage: driver.py DEBIAN_ROOT FIXTURES_JSON OUT_JSON
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

MARKER = "~"  # one byte: any write replaces it whole, and no fixture writes it
STOCK_SYSCTL = (
    "etc/sysctl.d",
    "run/sysctl.d",
    "usr/local/lib/sysctl.d",
    "usr/lib/sysctl.d",
    "lib/sysctl.d",
)
TOOLS = {
    "systemd": ["/lib/systemd/systemd-sysctl"],
    "procps": ["/sbin/sysctl", "--system"],
}
HANG_SECONDS = 5  # a tool that has not finished by then is blocked on a read
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C"}


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def mount_fstype(path: Path) -> str | None:
    """The type of the file system mounted exactly at ``path`` (last mount wins)."""
    target = os.path.realpath(path)
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            fields = line.split()
            dash = fields.index("-")
            point = fields[4].encode().decode("unicode_escape")
            if point == target:
                found = fields[dash + 1]
    return found


def assert_fake_proc_sys(proc_sys: Path) -> None:
    """Abort unless ``proc_sys`` is a tmpfs, by the mount table and by statfs."""
    kind = mount_fstype(proc_sys)
    statfs = subprocess.run(
        ["stat", "-f", "-c", "%T", str(proc_sys)], capture_output=True, text=True, check=True
    ).stdout.strip()
    if kind != "tmpfs" or statfs != "tmpfs":
        sys.exit(f"driver: ABORT: {proc_sys} is not a tmpfs ({kind}, {statfs})")


def lay(merged: Path, entries: list[dict[str, Any]]) -> None:
    """Write the fixture's entries into the merged tree (parents made through links)."""
    for entry in entries:
        path = merged / entry["path"].lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.realpath(path.parent).startswith(f"{merged}/"):
            sys.exit(f"driver: ABORT: {entry['path']} leads out of the tree")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or path.exists():
            path.unlink()
        kind = entry["kind"]
        if kind == "file":
            path.write_bytes(base64.b64decode(entry["data"]))
        elif kind == "link":
            os.symlink(entry["target"], path)
        elif kind == "dir":
            path.mkdir(exist_ok=True)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "sparse":
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(entry["data"]))
                handle.truncate(entry["size"])
        else:
            raise ValueError(kind)


def wipe_stock(merged: Path) -> None:
    for folder in STOCK_SYSCTL:
        place = merged / folder
        if place.is_dir() and not place.is_symlink():
            for child in place.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    conf = merged / "etc/sysctl.conf"
    if conf.exists() or conf.is_symlink():
        conf.unlink()


def seed(proc_sys: Path, keys: list[str]) -> None:
    for key in keys:
        path = proc_sys / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MARKER, encoding="ascii")


def read_back(proc_sys: Path, keys: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key in keys:
        text = (proc_sys / key).read_bytes().decode("utf-8", "surrogateescape")
        # systemd opens without O_TRUNC: a shorter second write leaves the first's tail.
        # Every write ends with its one newline, so the last write is the first line.
        out[key] = None if text == MARKER else text[: text.find("\n") + 1] or text
    return out


def run_tool(merged: Path, tool: str, keys: list[str]) -> dict[str, Any]:
    proc_sys = merged / "proc/sys"
    proc_sys.mkdir(parents=True, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "fakeproc", str(proc_sys))
    try:
        assert_fake_proc_sys(proc_sys)  # before anything is written there
        seed(proc_sys, keys)
        assert_fake_proc_sys(proc_sys)
        try:
            result = subprocess.run(
                ["chroot", str(merged), *TOOLS[tool]],
                capture_output=True,
                env=ENV,
                timeout=HANG_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:  # systemd 247 blocks on a FIFO: killed by run()
            return {"rc": None, "hung": True, "output": "", "written": read_back(proc_sys, keys)}
        return {
            "rc": result.returncode,
            "hung": False,
            "output": (result.stdout + result.stderr).decode("utf-8", "replace")[-3000:],
            "written": read_back(proc_sys, keys),
        }
    finally:
        sh("umount", str(proc_sys))


def audit(merged: Path, keys: list[str]) -> dict[str, Any]:
    """The audit's next-boot values for every key, per tool, read from the same tree."""
    from rke2image.rootfs import RootFS
    from rke2image.sysctld import read_plan

    out: dict[str, Any] = {}
    for tool in TOOLS:
        try:
            plan = read_plan(RootFS(merged), tool)  # type: ignore[arg-type]
            out[tool] = {
                "values": {key: plan.resolve_at(tuple(key.split("/"))).value for key in keys},
                "version": plan.version.version,
                "blocked": plan.blocked_at is not None,
            }
        except Exception:  # reported as a disagreement by the test
            out[tool] = {"error": traceback.format_exc()[-2000:]}
    out["report"] = audit_report(merged)
    return out


def audit_report(merged: Path) -> dict[str, Any]:
    """The whole audit's next-boot values of kubelet's keys (slash form), per tool."""
    from rke2image.audit.run import AuditOptions, run_audit

    try:
        report = run_audit(AuditOptions(root=merged, journal=False, now=0.0))
    except Exception:  # reported as a disagreement by the test
        return {"error": traceback.format_exc()[-2000:]}
    return {
        tool: {
            p.key.replace(".", "/"): (p.systemd if tool == "systemd" else p.procps).value
            for p in report.parameters
        }
        for tool in TOOLS
    }


def main() -> None:
    debian_root, fixtures_json, out_json = map(Path, sys.argv[1:4])
    if os.readlink("/proc/self/ns/mnt") == os.environ.get("ORACLE_PARENT_MNT_NS"):
        sys.exit("driver: ABORT: not in a private mount namespace (run it under unshare)")
    fixtures = json.loads(fixtures_json.read_text(encoding="utf-8"))
    scratch = Path(f"/tmp/sysctld-oracle-{os.getpid()}")
    scratch.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "mode=0700", "oracle", str(scratch))
    results: dict[str, Any] = {}
    try:
        for index, fixture in enumerate(fixtures):
            base = scratch / str(index)
            upper, work, merged = base / "upper", base / "work", base / "merged"
            for d in (upper, work, merged):
                d.mkdir(parents=True)
            sh(
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={debian_root},upperdir={upper},workdir={work}",
                str(merged),
            )
            try:
                if not fixture["keep_stock"]:
                    wipe_stock(merged)
                lay(merged, fixture["entries"])
                keys = fixture["keys"]
                results[fixture["name"]] = {
                    "tools": {tool: run_tool(merged, tool, keys) for tool in fixture["tools"]},
                    "audit": audit(merged, keys),
                }
            finally:
                sh("umount", str(merged))
                shutil.rmtree(base)
    finally:
        sh("umount", str(scratch))
        scratch.rmdir()
    out_json.write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
