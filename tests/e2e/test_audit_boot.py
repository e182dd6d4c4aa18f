"""The audit's `latent` prediction, proved by a real reboot (the audit issue, item 10).

A stock guest holds a later sysctl.d file setting ``kernel.panic = 0`` (the undo file
of the other e2e tests, put in the image before it boots). On the first boot a
per-boot script fixes the live value by hand (``sysctl -w kernel.panic=10``), runs
``rke2image audit`` inside the guest, and reboots the same guest (same QEMU, same
disk); on the second boot it runs the audit again and powers off. The audit must say
``latent`` and name the file on the first boot, and the second boot must show the
value it predicted: systemd-sysctl really applied that file.

rke2image reaches the guest as a zip of the package the tests import, in the
user-data (``write_files``); the audit needs only the standard library and PyYAML.
Needs root, the e2e base image (assets/build-base.sh, cached in WORK) and QEMU.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import rke2image
from e2e.campaign import ASSETS, BASE_TIMEOUT, BOOT_TIMEOUT, UNDO_NAME, UNDO_TEXT
from e2e.conftest import TOOLS, WORK, _unavailable
from e2e.vm import Processes, boot, make_seed, overlay, qemu_argv
from rke2image.bake.accel import choose_accelerator

pytestmark = pytest.mark.e2e

ZIP = "/usr/local/share/rke2image-e2e/rke2image.zip"
MARK = re.compile(r"E2E-AUDIT boot=(\d) exit=(\d+) json=(\S+)")
TEXT = re.compile(r"E2E-AUDIT-TEXT boot=(\d) text=(\S+)")
BEFORE = re.compile(r"E2E-AUDIT-BEFORE boot=(\d) kernel.panic=(\d+)")
PER_BOOT = f"""#!/bin/sh
# e2e (rke2image audit): every boot audits the node; the first boot first fixes
# kernel.panic by hand, as an operator would, then reboots the same guest.
run() {{ PYTHONPATH={ZIP} python3 -m rke2image audit --role server "$@"; }}
report() {{
    json=$(run --format json); code=$?
    echo "E2E-AUDIT boot=$1 exit=$code json=$(printf '%s' "$json" | gzip -c | base64 -w0)"
    echo "E2E-AUDIT-TEXT boot=$1 text=$(run | gzip -c | base64 -w0)"
}}
state=/var/lib/rke2image-e2e-first-boot-done
if [ ! -e $state ]; then
    touch $state
    echo "E2E-AUDIT-BEFORE boot=1 kernel.panic=$(sysctl -n kernel.panic)" > /dev/console
    sysctl -w kernel.panic=10 > /dev/console
    report 1 > /dev/console 2>&1
    sync
    systemctl reboot
else
    echo "E2E-AUDIT-BEFORE boot=2 kernel.panic=$(sysctl -n kernel.panic)" > /dev/console
    report 2 > /dev/console 2>&1
    systemctl poweroff
fi
"""


@dataclass(frozen=True)
class AuditRun:
    code: int
    report: dict[str, Any]
    text: str
    before: str


def package_zip() -> bytes:
    """The rke2image package the tests import (src/ or the wheel), its Python files zipped."""
    package = Path(rke2image.__file__).resolve().parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            archive.write(path, f"rke2image/{path.relative_to(package)}")
    return buffer.getvalue()


def user_data() -> str:
    document = {
        "write_files": [
            {
                "path": ZIP,
                "encoding": "b64",
                "permissions": "0644",
                "content": base64.b64encode(package_zip()).decode(),
            },
            {
                "path": "/var/lib/cloud/scripts/per-boot/rke2image-e2e-audit",
                "permissions": "0755",
                "content": PER_BOOT,
            },
            # RKE2 with protection, as on the node of the outage (the unit stays disabled)
            {
                "path": "/etc/rancher/rke2/config.yaml",
                "permissions": "0600",
                "content": "protect-kernel-defaults: true\n",
            },
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False)


def runs_of(console: str) -> dict[int, AuditRun]:
    texts = {
        int(m[1]): gzip.decompress(base64.b64decode(m[2])).decode() for m in TEXT.finditer(console)
    }
    before = {int(m[1]): m[2] for m in BEFORE.finditer(console)}
    return {
        int(m[1]): AuditRun(
            int(m[2]),
            json.loads(gzip.decompress(base64.b64decode(m[3]))),
            texts.get(int(m[1]), ""),
            before.get(int(m[1]), ""),
        )
        for m in MARK.finditer(console)
    }


@pytest.fixture(scope="module")
def two_boots() -> Iterator[tuple[dict[int, AuditRun], str]]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(f"not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        _unavailable("the e2e base image needs root (mmdebstrap)")
    WORK.mkdir(parents=True, exist_ok=True)
    run = WORK / f"audit-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    procs = Processes()
    try:
        log = run / "build-base.log"
        code = procs.wait(
            procs.start([str(ASSETS / "build-base.sh"), str(WORK)], log), BASE_TIMEOUT
        )
        text = log.read_text(errors="replace")
        assert code == 0, f"build-base.sh exit {code}:\n{text[-3000:]}"
        base = Path(text.strip().splitlines()[-1])
        undo = run / "undo.conf"
        undo.write_text(UNDO_TEXT)
        image = run / "audit-undo.qcow2"
        subprocess.run(
            [
                str(ASSETS / "add-file.sh"),
                str(base / "base.qcow2"),
                str(image),
                str(undo),
                UNDO_NAME,
            ],
            check=True,
            capture_output=True,
        )
        (run / "user-data").write_text(user_data())
        seed = make_seed(run / "seed", run / "user-data", "e2e-audit")
        disk = overlay(image, run / "disk.qcow2")
        console = run / "console.log"
        argv = qemu_argv(
            disk,
            base / "vmlinuz",
            base / "initrd.img",
            seed,
            console,
            choose_accelerator("auto"),
            int(BOOT_TIMEOUT),
        )
        found = boot(procs, argv, console, run / "qemu.log", BOOT_TIMEOUT)
        assert not found.timed_out, f"the guest hung:\n{found.summary()}"
        runs = runs_of(found.console)
        for number, audit_run in runs.items():  # the README's sample comes from here
            (run / f"audit-boot{number}.txt").write_text(audit_run.text)
        yield runs, found.summary()
    finally:
        procs.stop_all()
        for image in run.glob("*.qcow2"):  # keep the logs for the CI log, not the disks
            image.unlink()


def test_audit_inside_the_guest_says_latent_and_names_the_file(
    two_boots: tuple[dict[int, AuditRun], str],
) -> None:
    runs, summary = two_boots
    assert 1 in runs, summary
    first = runs[1]
    assert first.before == "0", "systemd-sysctl did not apply the later file at boot"
    [panic] = [p for p in first.report["parameters"] if p["key"] == "kernel.panic"]
    assert (panic["live"], panic["verdict"]) == ("10", "latent")
    systemd = panic["next_boot"]["systemd"]
    assert (systemd["value"], systemd["file"], systemd["line"]) == ("0", UNDO_NAME, 2)
    assert first.report["protection"]["on"] is True
    latent = [f for f in first.report["findings"] if f["rule"] == "latent-value"]
    assert [(f["key"], f["file"], f["line"], f["severity"]) for f in latent] == [
        ("kernel.panic", UNDO_NAME, 2, "error")
    ]
    assert f"{UNDO_NAME}:2: error: kernel.panic is 10 now, but the next boot sets 0" in first.text
    assert first.code == 1


def test_after_a_reboot_the_live_value_is_what_the_audit_predicted(
    two_boots: tuple[dict[int, AuditRun], str],
) -> None:
    runs, summary = two_boots
    assert 1 in runs and 2 in runs, summary
    [predicted] = [p for p in runs[1].report["parameters"] if p["key"] == "kernel.panic"]
    [after] = [p for p in runs[2].report["parameters"] if p["key"] == "kernel.panic"]
    assert runs[2].before == predicted["next_boot"]["systemd"]["value"] == "0"
    assert (after["live"], after["verdict"]) == ("0", "wrong")
    assert after["fix"] == (
        f"sysctl -w kernel.panic=10; edit {UNDO_NAME}:2 to kernel.panic = 10 (or remove the line)"
    )
    assert runs[2].code == 1
