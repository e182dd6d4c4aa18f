"""The e2e run as two lanes of jobs, so that two single-vCPU guests keep both cores busy.

A lane is a one-worker ThreadPoolExecutor: it runs its jobs in the order they
were submitted, and each job's result (or its exception) is the Future the tests
wait on. A job that needs another's result waits for it with ``get``, and fails
with a note naming it if that one failed. Work files go to WORK/run-<pid>/ and
are kept for the CI log; the base image is cached in WORK by build-base.sh.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import rke2image
from e2e.vm import Boot, Processes, boot, make_seed, overlay, qemu_argv

REPO = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent
ASSETS = E2E / "assets"
SPEC = ASSETS / "specs" / "server.yaml"
# A later sysctl.d file (sorts after 99-zz-rke2image.conf) that undoes one required value.
UNDO_NAME = "/etc/sysctl.d/99-zzzz-e2e-undo.conf"
UNDO_TEXT = "# e2e: a later file that undoes a value kubelet requires\nkernel.panic = 0\n"

# The outage of docs/design.md, without rke2image: RKE2 with protect-kernel-defaults on a
# stock image, so kubelet meets the distro's kernel defaults.
OUTAGE_USER_DATA = """#cloud-config
write_files:
- path: /etc/rancher/rke2/config.yaml
  permissions: '0600'
  content: |
    protect-kernel-defaults: true
runcmd:
- [systemctl, enable, --now, rke2-server.service]
"""

BASE_TIMEOUT = 900.0  # a cold base build downloads ~100 MiB
BAKE_TIMEOUT = 840.0  # a hung build is killed (with its QEMU) within 14 minutes
BOOT_TIMEOUT = 600.0  # a hung guest is killed within 10 minutes
SESSION_BUDGET = 1500.0  # no job starts, and none runs on, past 25 minutes of session
WATCH_SECONDS = 240  # the guest gives up waiting for RKE2 after this, then powers off


@dataclass(frozen=True)
class Base:
    folder: Path

    @property
    def image(self) -> Path:
        return self.folder / "base.qcow2"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"

    @property
    def sha256(self) -> str:
        return (self.folder / "base.qcow2.sha256").read_text().strip()


@dataclass(frozen=True)
class Bake:
    returncode: int | None  # None: killed at the timeout
    output: str
    seconds: float
    image: Path | None


class Campaign:
    def __init__(self, work: Path, procs: Processes, accel: str) -> None:
        self.work = work
        # One folder per session (a second session in the same tree must not delete ours);
        # folders of sessions that are gone are removed, the last ones kept for the CI log.
        self.run = work / f"run-{os.getpid()}"
        self.procs = procs
        self.accel = accel
        self.jobs: dict[str, Future[Any]] = {}
        self.lanes = [ThreadPoolExecutor(1, thread_name_prefix=f"e2e-lane-{n}") for n in "ab"]
        self.figures: dict[str, Any] = {"accelerator": accel, "concurrent_guests": 2}
        self.deadline = time.monotonic() + SESSION_BUDGET

    # -- the plan ---------------------------------------------------------
    def start(self) -> None:
        for old in self.work.glob("run-*"):
            if old != self.run and not _alive(old.name.removeprefix("run-")):
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.run, ignore_errors=True)
        self.run.mkdir(parents=True)
        lane_a, lane_b = self.lanes
        plan: list[tuple[ThreadPoolExecutor, str, Callable[[], Any]]] = [
            (lane_a, "base", self._base),
            (lane_a, "base_undo", lambda: self._with_file(self.get("base").image, "base-undo")),
            (lane_a, "render", self._render),
            (lane_a, "bake", lambda: self._bake("remediate", self.get("base").image)),
            (lane_a, "boot_baked", lambda: self._boot("baked", self.get("bake"), "baked")),
            (lane_a, "boot_baked_undo",
             lambda: self._boot("baked-undo", self._undo_of(self.get("bake")), "baked")),
            (lane_a, "boot_outage", lambda: self._boot("outage", None, "outage")),
            # Lane b waits (in get) for the base and the render of lane a, then runs beside it.
            (lane_b, "boot_stock", lambda: self._boot("stock", None, "full")),
            (lane_b, "bake_undo_enforce", lambda: self._bake("enforce", self.get("base_undo"))),
            (lane_b, "bake_enforce", lambda: self._bake("enforce", self.get("base").image)),
            (lane_b, "boot_baked_undo_enforce", lambda: self._boot(
                "baked-undo-enforce", self._undo_of(self.get("bake_enforce")), "baked-enforce")),
        ]  # fmt: skip
        for lane, name, work in plan:
            self.jobs[name] = lane.submit(self._within_budget, work)

    def get(self, name: str) -> Any:
        """The result of a job, waiting for it; raises if it failed."""
        try:
            return self.jobs[name].result()
        except Exception as error:
            raise RuntimeError(f"e2e job {name!r} failed: {error}") from error

    def stop(self) -> None:
        """Drop the jobs not started yet, then kill every process the jobs started."""
        for lane in self.lanes:
            lane.shutdown(wait=False, cancel_futures=True)
        self.procs.stop_all()

    def write_figures(self, path: Path) -> None:
        """Timings of this run (seconds), from whatever jobs finished."""
        for job, key in (("bake", "bake_seconds"), ("bake_enforce", "bake_enforce_seconds")):
            if self._done(job) and self.get(job).returncode == 0:
                self.figures[key] = round(self.get(job).seconds, 1)
        for job, key in (
            ("boot_stock", "stock_full_user_data"),
            ("boot_baked", "baked"),
            ("boot_baked_undo", "baked_later_file_remediate"),
        ):
            if self._done(job):
                found = self.get(job)
                self.figures[f"power_on_to_rke2_ready_seconds_{key}"] = (
                    None if found.ready_after is None else round(found.ready_after, 1)
                )
                self.figures[f"boot_total_seconds_{key}"] = round(found.seconds, 1)
        path.write_text(json.dumps(self.figures, indent=2, sort_keys=True) + "\n")

    def _done(self, job: str) -> bool:
        future = self.jobs.get(job)
        return (
            future is not None
            and future.done()
            and not future.cancelled()
            and future.exception() is None
        )

    def bound(self, timeout: float) -> float:
        """A job's timeout, cut to what is left of the session's budget."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"the e2e session budget of {SESSION_BUDGET:.0f}s is spent")
        return min(timeout, left)

    def _within_budget(self, work: Callable[[], Any]) -> Any:
        self.bound(0)  # refuse to start past the budget
        return work()

    # -- the jobs ---------------------------------------------------------
    def _base(self) -> Base:
        log = self.run / "build-base.log"
        start = time.monotonic()
        proc = self.procs.start([str(ASSETS / "build-base.sh"), str(self.work)], log)
        code = self.procs.wait(proc, self.bound(BASE_TIMEOUT))
        self.figures["base_image_seconds"] = round(time.monotonic() - start, 1)
        text = log.read_text(errors="replace")
        if code != 0:
            raise RuntimeError(f"build-base.sh exit {code}:\n{text[-3000:]}")
        return Base(Path(text.strip().splitlines()[-1]))

    def _with_file(self, image: Path, name: str) -> Path:
        source = self.run / "undo.conf"
        source.write_text(UNDO_TEXT)
        out = self.run / f"{name}.qcow2"
        subprocess.run(
            [str(ASSETS / "add-file.sh"), str(image), str(out), str(source), UNDO_NAME],
            check=True,
            capture_output=True,
        )
        return out

    def _undo_of(self, bake: Bake) -> Path:
        image = _baked_image(bake)
        return self._with_file(image, image.stem + "-undo")

    def spec(self, mode: str, image: Path) -> Path:
        """The e2e spec with the qemu builder pointed at this run's files."""
        base = self.get("base")
        document = yaml.safe_load(SPEC.read_text())
        document = copy.deepcopy(document)
        document["spec"]["preflight"]["mode"] = mode
        qemu = document["spec"]["image"]["builders"]["qemu"]
        qemu.update(
            iso_url=str(image),
            kernel=str(base.kernel),
            initrd=str(base.initrd),
            accelerator=self.accel,
            cpus=1,
        )
        out = self.run / "specs" / f"{mode}-{image.stem}.yaml"
        qemu["qemuargs"] = [["-serial", f"file:{out.with_suffix('.console.log')}"]]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(document, sort_keys=False))
        return out

    def _render(self) -> dict[str, Path]:
        found = {}
        for mode in ("remediate", "enforce"):
            spec = self.spec(mode, self.get("base").image)
            for baked in (False, True):
                out = self.run / "render" / f"{mode}-{'baked' if baked else 'full'}"
                argv = [sys.executable, "-m", "rke2image", "render", str(spec), "-o", str(out)]
                self._cli(argv + (["--baked"] if baked else []), 120)
                key = ("baked" if baked else "full") + ("-enforce" if mode == "enforce" else "")
                found[key] = out / "e2e-cp-1" / "user-data"
        found["outage"] = self.run / "render" / "outage-user-data"
        found["outage"].write_text(OUTAGE_USER_DATA)
        return found

    def _cli(self, argv: list[str], timeout: float) -> str:
        result = subprocess.run(
            argv,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=cli_environment(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv} exit {result.returncode}:\n{result.stdout}{result.stderr}")
        return result.stdout + result.stderr

    def _bake(self, mode: str, image: Path) -> Bake:
        spec = self.spec(mode, image)
        out = self.run / "bake" / spec.stem
        log = self.run / f"bake-{spec.stem}.log"
        argv = [
            sys.executable,
            "-m",
            "rke2image",
            "build",
            str(spec),
            "-o",
            str(out),
            "--only",
            "qemu",
            "--force",
            "--timeout",
            str(int(max(60.0, self.bound(BAKE_TIMEOUT) - 60))),
        ]
        env = cli_environment()
        env.update(TMPDIR=str(out / "tmp"), PACKER_CACHE_DIR=str(self.work / "packer_cache"))
        (out / "tmp").mkdir(parents=True, exist_ok=True)
        self.procs.watch(out)
        start = time.monotonic()
        proc = self.procs.start(argv, log, cwd=REPO, env=env)
        # A grace of a minute lets the CLI stop Packer, and Packer its QEMU, cleanly.
        code = self.procs.wait(proc, self.bound(BAKE_TIMEOUT), grace=60)
        seconds = time.monotonic() - start
        self.procs.sweep(str(out))
        images = sorted(out.glob("*/**/qemu/*.qcow2"))
        return Bake(
            code,
            log.read_text(errors="replace"),
            seconds,
            images[0] if code == 0 and images else None,
        )

    def _boot(self, name: str, disk_of: Bake | Path | None, user_data: str) -> Boot:
        base = self.get("base")
        if isinstance(disk_of, Bake):
            disk_of = _baked_image(disk_of)
        image = base.image if disk_of is None else disk_of
        folder = self.run / "boot" / name
        folder.mkdir(parents=True, exist_ok=True)
        disk = overlay(image, folder / "disk.qcow2")
        seed = make_seed(folder / "seed", self.get("render")[user_data], f"e2e-{name}")
        argv = qemu_argv(
            disk, base.kernel, base.initrd, seed, folder / "console.log", self.accel, WATCH_SECONDS
        )
        timeout = self.bound(BOOT_TIMEOUT)
        return boot(self.procs, argv, folder / "console.log", folder / "qemu.log", timeout)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _baked_image(bake: Bake) -> Path:
    if bake.returncode != 0 or bake.image is None:
        raise RuntimeError(f"the bake failed (exit {bake.returncode}):\n{bake.output[-3000:]}")
    return bake.image


def cli_environment() -> dict[str, str]:
    """The CLI the tests import: from src/ or from the installed wheel, whichever it is."""
    env = dict(os.environ)
    where = str(Path(rke2image.__file__).resolve().parents[1])
    env["PYTHONPATH"] = where + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
