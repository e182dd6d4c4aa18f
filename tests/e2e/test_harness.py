"""The harness's own promise: a hung guest is killed by process group and leaves no QEMU.

Real QEMU, no image: ``-S`` keeps the guest paused forever, which is what a hung
boot looks like from outside. Takes a few seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from e2e.vm import Processes, boot, group_members

pytestmark = pytest.mark.e2e


@pytest.fixture
def qemu() -> str:
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("qemu-system-x86_64 is not installed (CI=true: a missing tool fails)")
        pytest.skip("qemu-system-x86_64 is not installed")
    return path


def _paused_guest(qemu: str, console: Path) -> list[str]:
    return [
        qemu,
        "-S",
        "-machine",
        "pc,accel=tcg",
        "-m",
        "64",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        f"file:{console}",
        "-nic",
        "none",
    ]


def _until_cmdline_names(pid: int, marker: str, timeout: float = 10) -> None:
    """Wait until the kernel shows the new program's command line. Popen returns when
    the child's exec has replaced its memory, but the kernel fills in the arguments a
    little later; on a busy machine a sweep in that gap reads an empty command line
    (seen with two TCG guests running). Packer's QEMU, which the sweep exists for,
    has long been running by then."""
    deadline = time.monotonic() + timeout
    while marker not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
        assert time.monotonic() < deadline, f"QEMU {pid} never showed its command line"
        time.sleep(0.01)


def _state(pid: int) -> str:
    """The kernel's word on a process: its state letter and what it waits in."""
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = (proc / "wchan").read_text() or "-"
        pgid = os.getpgid(pid)
    except OSError as error:
        return f"unreadable ({error})"
    return f"state {state}, waiting in {wchan}, process group {pgid}"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait a while for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def test_hung_guest_times_out_and_its_group_is_gone(qemu: str, tmp_path: Path) -> None:
    procs = Processes()
    started: list[int] = []
    real_start = procs.start

    def spy(
        argv: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        proc = real_start(argv, log, cwd, env)
        started.append(proc.pid)
        return proc

    procs.start = spy  # type: ignore[method-assign]
    found = boot(
        procs,
        _paused_guest(qemu, tmp_path / "console.log"),
        tmp_path / "console.log",
        tmp_path / "qemu.log",
        timeout=3,
    )
    assert found.timed_out
    assert found.ready_after is None and not found.result
    assert started and not _group_alive(started[0])


def test_a_wrapper_and_its_qemu_die_together(qemu: str, tmp_path: Path) -> None:
    """Packer starts QEMU as its child: stopping the leader's group must take QEMU too."""
    procs = Processes()
    pidfile = tmp_path / "qemu.pid"
    argv = [
        "sh",
        "-c",
        '"$@" & echo $! > "$0"; wait',
        str(pidfile),
        *_paused_guest(qemu, tmp_path / "console.log"),
    ]
    leader = procs.start(argv, tmp_path / "wrapper.log")
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        subprocess.run(["sleep", "0.1"], check=True)
    child = int(pidfile.read_text())
    assert procs.wait(leader, timeout=2) is None  # still running: killed at the timeout
    assert not _group_alive(leader.pid)
    assert not _running(child)


def test_sweep_kills_a_qemu_in_another_session(qemu: str, tmp_path: Path) -> None:
    """What Packer does: its QEMU runs in a session of its own, found by the folder it names."""
    procs = Processes()
    console = tmp_path / "console.log"
    other = subprocess.Popen(
        _paused_guest(qemu, console),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until_cmdline_names(other.pid, str(tmp_path))
        procs.watch(tmp_path)
        procs.stop_all()
        try:
            code = other.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"QEMU {other.pid} outlived the sweep: {_state(other.pid)}")
        assert code == -9
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
