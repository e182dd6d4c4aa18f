"""Boot an e2e image under QEMU and read what happened from its serial console.

Every QEMU (and every Packer, which starts QEMU) runs in its own session, so a
timeout or a failing test kills the whole process group and leaves no QEMU
behind. The guest's e2e-watch service (enabled by rke2e2e.watch= on the kernel
command line) copies the RKE2 unit's journal to the console and powers off, so a
healthy boot ends by itself; the timeout is only for a hung guest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

READY = re.compile(
    r"rke2-standin: ready role=(\S+) profile=(\S+) protect=(\S+) "
    r"compliant=(\S+) values=(\{.*\})"
)
RESULT = re.compile(r"E2E-RESULT unit=(\S+) state=(\S+) restarts=(\d+)")


class Processes:
    """Every child started by the e2e tests, killed by process group when they end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._markers: set[str] = set()

    def start(
        self, argv: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out, self._lock:
            # setpriv --pdeathsig: the child dies with this thread even if pytest is
            # SIGKILLed and no finalizer runs (no preexec_fn: we start from threads).
            proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "KILL", *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._running.add(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds, to the whole process group."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # A grandchild may outlive its leader: sweep the group once more, and wait
        # until the kernel has really taken every member down (zombies aside).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for _ in range(100):
            if not group_members(proc.pid):
                break
            time.sleep(0.1)
        with self._lock:
            self._running.discard(proc)

    def wait(self, proc: subprocess.Popen[bytes], timeout: float, grace: float = 10) -> int | None:
        """The exit code, or None after killing the group at the timeout."""
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc, grace)
            return None
        self.stop(proc, grace)  # reap leftovers of a finished leader
        return code

    def watch(self, marker: Path) -> None:
        """Remember a folder whose processes must not outlive the tests (see sweep)."""
        with self._lock:
            self._markers.add(str(marker))

    def sweep(self, marker: str) -> None:
        """SIGKILL the group of any process running in or naming ``marker``.

        Packer runs in a session of its own (rke2image.bake.packer starts it so), so killing
        the group of `rke2image build` can miss it and its QEMU: find them by the
        project folder they work in or the disk they were given.
        """
        own = os.getpgrp()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
                cwd = os.readlink(entry / "cwd")
                pgid = os.getpgid(int(entry.name))
            except OSError:
                continue
            if pgid != own and (marker in cmdline or cwd.startswith(marker)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running)
            markers = list(self._markers)
        for proc in running:
            self.stop(proc)
        for marker in markers:
            self.sweep(marker)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


@dataclass
class Boot:
    """What one boot printed on the serial console, and when."""

    console: str
    seconds: float
    timed_out: bool
    ready_after: float | None  # seconds from power-on to the stand-in's ready line
    ready: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    result: dict[str, str] = field(default_factory=dict)

    @property
    def journal(self) -> str:
        """The RKE2 unit's journal, as e2e-watch copied it to the console."""
        begin, end = "E2E-JOURNAL-BEGIN", "E2E-JOURNAL-END"
        if begin not in self.console:
            return ""
        return self.console.split(begin, 1)[1].split(end, 1)[0]

    def summary(self) -> str:
        """The tail of the console, for assertion messages."""
        return "\n".join(self.console.splitlines()[-60:])


def overlay(base: Path, path: Path) -> Path:
    """A copy-on-write disk over ``base``, so boots never change the image under test."""
    path.unlink(missing_ok=True)
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            str(base.resolve()),
            str(path),
        ],
        check=True,
    )
    return path


def make_seed(folder: Path, user_data: Path, instance_id: str) -> Path:
    """A NoCloud seed ISO (label cidata) holding ``user_data`` and a fresh instance id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user-data").write_bytes(user_data.read_bytes())
    (folder / "meta-data").write_text(f"instance-id: {instance_id}\n")
    iso = folder.with_suffix(".iso")
    subprocess.run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            str(iso),
            "-V",
            "cidata",
            "-J",
            "-R",
            str(folder / "user-data"),
            str(folder / "meta-data"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return iso


def qemu_argv(
    disk: Path,
    kernel: Path,
    initrd: Path,
    seed: Path,
    console: Path,
    accel: str,
    watch_seconds: int,
) -> list[str]:
    """QEMU on the i440fx machine: Debian's cloud kernel has ata_piix (the seed CD), not AHCI."""
    append = f"root=LABEL=rke2root ro console=ttyS0 rke2e2e.watch={watch_seconds}"
    return [
        "qemu-system-x86_64",
        "-machine",
        f"pc,accel={accel}",
        "-m",
        "1024",
        "-smp",
        "1",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        f"file:{console}",
        "-kernel",
        str(kernel),
        "-initrd",
        str(initrd),
        "-append",
        append,
        "-drive",
        f"file={disk},if=virtio,format=qcow2",
        "-drive",
        f"file={seed},media=cdrom,readonly=on",
        "-nic",
        "user,model=virtio-net-pci",
    ]


def boot(procs: Processes, argv: list[str], console: Path, log: Path, timeout: float) -> Boot:
    """Run QEMU until the guest powers off or ``timeout`` passes; time the ready line."""
    console.unlink(missing_ok=True)
    start = time.monotonic()
    proc = procs.start(argv, log)
    ready_after = None
    timed_out = False
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            if ready_after is None and _ready_seen(console):
                ready_after = elapsed
            if elapsed > timeout:
                timed_out = True
                break
            time.sleep(0.25)
    finally:
        procs.stop(proc)
    seconds = time.monotonic() - start
    text = console.read_text(errors="replace") if console.exists() else ""
    if ready_after is None and _ready_seen(console):
        ready_after = seconds  # seen only after the last poll: an upper bound
    return _parse(text, seconds, timed_out, ready_after)


def _ready_seen(console: Path) -> bool:
    try:
        return b"rke2-standin: ready " in console.read_bytes()
    except FileNotFoundError:
        return False


def _parse(text: str, seconds: float, timed_out: bool, ready_after: float | None) -> Boot:
    found = Boot(text, seconds, timed_out, ready_after)
    if match := READY.search(text):
        role, profile, protect, compliant, values = match.groups()
        found.ready = {"role": role, "profile": profile, "protect": protect, "compliant": compliant}
        found.values = json.loads(values)
    if match := RESULT.search(text):
        found.result = dict(zip(("unit", "state", "restarts"), match.groups()))
    return found
