"""`rke2image fix` recovers a guest broken like the incident (issue 20, point 5).

The guest: /etc/sysctl.conf holding the three zeros (the post-mortem's hand fix, read by
systemd-sysctl as 99-sysctl.conf) and a later sysctl.d file zeroing kernel.panic, both
in the image before it boots, so the three values are 0 live; RKE2 with ``profile: cis``
and no etcd account. A per-boot script starts the stand-in RKE2, which refuses in RKE2's
words and is retried by systemd every 5 s, then, inside the guest:

1. ``fix --restart`` (the plan) must change no byte of /etc and no live value;
2. ``fix --apply --restart`` must bring the stand-in up (10248/healthz and 2381/health);
3. after a reboot of the same guest, ``audit`` must find the node compliant (exit 0);
4. ``fix --undo`` must put every file back byte for byte.

rke2image reaches the guest as a zip of the package the tests import (stdlib and PyYAML
only on fix's path). Needs root, the e2e base image (assets/build-base.sh) and QEMU.
Outputs in WORK/fix-<pid>/ (fix-plan.txt and fix-apply.txt feed the README).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.campaign import ASSETS, BASE_TIMEOUT, UNDO_NAME, UNDO_TEXT
from e2e.conftest import TOOLS, WORK, _unavailable
from e2e.test_audit_boot import package_zip
from e2e.vm import Processes, boot, make_seed, overlay, qemu_argv
from rke2image.bake.accel import choose_accelerator

pytestmark = pytest.mark.e2e

ZIP = "/usr/local/share/rke2image-e2e/rke2image.zip"
FIX_TIMEOUT = 1200.0  # two boots, two audits, a plan, an apply with a restart, an undo (TCG)
SYSCTL_CONF = (
    "#\n# /etc/sysctl.conf - Configuration file for setting system variables\n"
    "# See /etc/sysctl.d/ for additional system variables.\n#\n"
    "# e2e: the incident's hand fix, appended here\n"
    "vm.overcommit_memory = 0\nkernel.panic = 0\nkernel.panic_on_oops = 0\n"
)
MARK = re.compile(r"^E2E-FIX-(\w+) (.*)$", re.MULTILINE)
PER_BOOT = rf"""#!/bin/sh
# e2e (rke2image fix): boot 1 starts RKE2, plans, applies with --restart, reboots;
# boot 2 audits, undoes, and powers off.
r2i() {{ PYTHONPATH={ZIP} python3 -m rke2image "$@"; }}
b64() {{ gzip -c | base64 -w0; }}
say() {{ echo "E2E-FIX-$*" > /dev/console; }}
keys="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops"
keys="$keys kernel.keys.root_maxkeys kernel.keys.root_maxbytes"
live() {{ for k in $keys; do printf '%s=%s ' "$k" "$(sysctl -n "$k")"; done; }}
unit() {{ systemctl show -p "$1" rke2-server.service | tr '\n' ' '; }}
etc_sum() {{ find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum; }}
sums() {{
    for f in /etc/sysctl.conf /etc/sysctl.d/* /etc/passwd /etc/passwd- /etc/group /etc/group- \
             /etc/shadow /etc/shadow- /etc/gshadow /etc/gshadow- /etc/.pwd.lock; do
        [ -f "$f" ] && sha256sum "$f"
    done
}}
health() {{
    python3 -c 'import sys, urllib.request
for url in sys.argv[1:]:
    try:
        print(url, urllib.request.urlopen(url, timeout=5).status)
    except OSError as error:
        print(url, "down", error)' \
        http://127.0.0.1:10248/healthz http://127.0.0.1:2381/health | tr '\n' ' '
}}
state=/var/lib/rke2image-e2e-fix
if [ ! -e $state/boot1 ]; then
    mkdir -p $state && touch $state/boot1
    systemctl enable rke2-server.service
    systemctl start --no-block rke2-server.service
    n=0
    while [ "$(systemctl show -p NRestarts --value rke2-server.service)" -lt 1 ] \
            && [ $n -lt 180 ]; do
        sleep 1; n=$((n + 1))
    done
    say "UNIT boot=1 before $(unit ActiveState,SubState,NRestarts)"
    say "LIVE boot=1 $(live)"
    sums > $state/before.sha
    etc1=$(etc_sum); live1=$(live)
    out=$(r2i fix --role server --restart); code=$?
    etc2=$(etc_sum); live2=$(live)
    [ "$etc1" = "$etc2" ] && same_etc=yes || same_etc=no
    [ "$live1" = "$live2" ] && same_live=yes || same_live=no
    [ -e /var/lib/rke2image ] && journal=yes || journal=no
    say "PLAN exit=$code same_etc=$same_etc same_live=$same_live journal=$journal" \
        "text=$(printf '%s\n' "$out" | b64)"
    out=$(r2i fix --role server --apply --restart --timeout 300s 2>&1); code=$?
    say "APPLY exit=$code text=$(printf '%s\n' "$out" | b64)"
    say "UNIT boot=1 after $(unit ActiveState,SubState)"
    say "HEALTH boot=1 $(health)"
    say "LIVE boot=1 after $(live)"
    sync
    systemctl reboot
else
    n=0
    while [ "$(systemctl is-active rke2-server.service)" != active ] && [ $n -lt 240 ]; do
        sleep 1; n=$((n + 1))
    done
    say "UNIT boot=2 $(unit ActiveState,SubState,NRestarts)"
    say "LIVE boot=2 $(live)"
    json=$(r2i audit --role server --format json); code=$?
    say "AUDIT exit=$code json=$(printf '%s' "$json" | b64) text=$(r2i audit --role server | b64)"
    out=$(r2i fix --undo 2>&1); code=$?
    say "UNDO exit=$code text=$(printf '%s\n' "$out" | b64)"
    say "SUMS before=$(b64 < $state/before.sha) after=$(sums | b64)"
    sync
    systemctl poweroff
fi
"""


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
                "path": "/var/lib/cloud/scripts/per-boot/rke2image-e2e-fix",
                "permissions": "0755",
                "content": PER_BOOT,
            },
            {
                "path": "/etc/rancher/rke2/config.yaml",
                "permissions": "0600",
                "content": "profile: cis\n",
            },
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False)


def unpack(text: str) -> str:
    return gzip.decompress(base64.b64decode(text)).decode()


def marks(console: str) -> dict[str, list[dict[str, str]]]:
    """Each E2E-FIX-<NAME> line as its key=value fields (b64 fields stay packed)."""
    found: dict[str, list[dict[str, str]]] = {}
    for name, rest in MARK.findall(console.replace("\r", "")):
        fields = dict(re.findall(r"(\w+)=(\S*)", rest))
        fields["_line"] = rest
        found.setdefault(name, []).append(fields)
    return found


@pytest.fixture(scope="module")
def guest() -> Iterator[tuple[dict[str, list[dict[str, str]]], str, Path]]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(f"not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        _unavailable("the e2e base image needs root (mmdebstrap)")
    WORK.mkdir(parents=True, exist_ok=True)
    run = WORK / f"fix-{os.getpid()}"
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
        image = base / "base.qcow2"
        for number, (name, content) in enumerate(
            ((UNDO_NAME, UNDO_TEXT), ("/etc/sysctl.conf", SYSCTL_CONF))
        ):
            source = run / f"file-{number}"
            source.write_text(content)
            out = run / f"broken-{number}.qcow2"
            add = [str(ASSETS / "add-file.sh"), str(image), str(out), str(source), name]
            subprocess.run(add, check=True, capture_output=True)
            image = out
        (run / "user-data").write_text(user_data())
        seed = make_seed(run / "seed", run / "user-data", "e2e-fix")
        disk = overlay(image, run / "disk.qcow2")
        console = run / "console.log"
        argv = qemu_argv(
            disk,
            base / "vmlinuz",
            base / "initrd.img",
            seed,
            console,
            choose_accelerator("auto"),
            0,
        )
        # No e2e-watch here (it would power the guest off once RKE2 runs): the per-boot
        # script powers it off itself.
        at = argv.index("-append") + 1
        argv[at] = " ".join(w for w in argv[at].split() if not w.startswith("rke2e2e.watch="))
        found = boot(procs, argv, console, run / "qemu.log", FIX_TIMEOUT)
        assert not found.timed_out, f"the guest hung:\n{found.summary()}"
        seen = marks(found.console)
        for name, field, out_name in (
            ("PLAN", "text", "fix-plan.txt"),
            ("APPLY", "text", "fix-apply.txt"),
            ("UNDO", "text", "fix-undo.txt"),
            ("AUDIT", "text", "audit-after-reboot.txt"),
        ):
            if seen.get(name) and seen[name][0].get(field):
                (run / out_name).write_text(unpack(seen[name][0][field]))
        yield seen, found.summary(), run
    finally:
        procs.stop_all()
        for disk_image in run.glob("*.qcow2"):  # keep the logs for the CI log, not the disks
            disk_image.unlink()


def _one(seen: dict[str, list[dict[str, str]]], name: str, summary: str) -> dict[str, str]:
    assert name in seen, f"no E2E-FIX-{name} line on the console:\n{summary}"
    return seen[name][0]


def test_the_guest_is_broken_like_the_incident(
    guest: tuple[dict[str, list[dict[str, str]]], str, Path],
) -> None:
    seen, summary, _ = guest
    live = _one(seen, "LIVE", summary)["_line"]
    for key in ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"):
        assert f" {key}=0 " in f" {live}", live
    # In its restart loop (Restart=always, RestartSec=5s): retried, never active.
    unit = _one(seen, "UNIT", summary)
    assert int(unit["NRestarts"]) >= 1 and unit["ActiveState"] != "active", unit["_line"]


def test_the_plan_changes_no_byte(
    guest: tuple[dict[str, list[dict[str, str]]], str, Path],
) -> None:
    seen, summary, _ = guest
    plan = _one(seen, "PLAN", summary)
    assert (plan["exit"], plan["same_etc"], plan["same_live"], plan["journal"]) == (
        "1",
        "yes",
        "yes",
        "no",
    )
    text = unpack(plan["text"])
    assert "sysctl -w kernel.panic=10    # was 0" in text
    assert "+++ /etc/sysctl.d/99-zz-rke2image.conf" in text
    assert f"edit {UNDO_NAME}:" in text and "edit /etc/sysctl.conf:" in text
    assert "useradd --system --comment 'etcd user'" in text
    assert "restart: systemctl restart rke2-server.service (" in text


def test_apply_with_restart_brings_rke2_up(
    guest: tuple[dict[str, list[dict[str, str]]], str, Path],
) -> None:
    seen, summary, _ = guest
    apply = _one(seen, "APPLY", summary)
    text = unpack(apply["text"])
    assert apply["exit"] == "0", text
    health = _one(seen, "HEALTH", summary)["_line"]
    assert "http://127.0.0.1:10248/healthz 200" in health, health
    assert "http://127.0.0.1:2381/health 200" in health, health
    after = [u["_line"] for u in seen["UNIT"] if "boot=1 after" in u["_line"]]
    assert after and "ActiveState=active" in after[0], after


def test_after_a_reboot_the_audit_finds_every_value_right(
    guest: tuple[dict[str, list[dict[str, str]]], str, Path],
) -> None:
    seen, summary, _ = guest
    audit = _one(seen, "AUDIT", summary)
    report: dict[str, Any] = json.loads(unpack(audit["json"]))
    assert {p["key"]: p["verdict"] for p in report["parameters"]} == dict.fromkeys(
        (p["key"] for p in report["parameters"]), "ok"
    )
    # No rke2image drop-in, preflight or modules file and no --spec: the guest is judged
    # on its values, protection, account and logs alone, and fix made each of them right
    # (kubelet's and RKE2's refusals in the logs are history now).
    assert report["managed"] is False
    standing = [f for f in report["findings"] if f["severity"] != "info"]
    assert standing == [], standing
    assert report["summary"]["compliant"] and audit["exit"] == "0"
    unit = [u["_line"] for u in seen["UNIT"] if "boot=2" in u["_line"]]
    assert unit and "ActiveState=active" in unit[0], unit


def test_undo_restores_every_file_byte_for_byte(
    guest: tuple[dict[str, list[dict[str, str]]], str, Path],
) -> None:
    seen, summary, _ = guest
    undo = _one(seen, "UNDO", summary)
    assert undo["exit"] == "0", unpack(undo["text"])
    sums = _one(seen, "SUMS", summary)
    assert unpack(sums["after"]) == unpack(sums["before"])
