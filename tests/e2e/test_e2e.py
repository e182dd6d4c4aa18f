"""The proof that the whole tool works: a real bake of a real image, and real boots of it.

Each boot is read from the guest's serial console: the stand-in RKE2 logs the
kernel values it saw when it starts, and e2e-watch copies the RKE2 unit's
journal there before powering off. See e2e/ for the base image and stand-in.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from e2e.campaign import Campaign
from e2e.vm import Boot
from rke2image.kernel import KUBELET_MISMATCH, REQUIRED_BY_KEY, REQUIRED_PARAMETERS

pytestmark = pytest.mark.e2e

REQUIRED = {p.key: p.value for p in REQUIRED_PARAMETERS}
PANIC = REQUIRED_BY_KEY["kernel.panic"]
PANIC_LINE = KUBELET_MISMATCH.format(flag=PANIC.kubelet_flag, expected=PANIC.value, actual="0")
PANIC_FIXED = re.compile(rf"rke2image-preflight: set kernel[./]panic to {PANIC.value} \(was 0\)")


def assert_rke2_started_compliant(found: Boot) -> None:
    assert not found.timed_out, f"the guest hung:\n{found.summary()}"
    assert found.result.get("state") == "active", f"RKE2 did not start:\n{found.summary()}"
    assert found.ready, f"the stand-in never reported ready:\n{found.summary()}"
    # Protection on (profile cis): a wrong value would have stopped it before ready.
    assert found.ready["protect"] == "True"
    assert found.ready["compliant"] == "True"
    assert found.values == REQUIRED
    assert "invalid kernel flag" not in found.console


def debugfs(image: Path, work: Path, command: str) -> str:
    raw = work / "inspect.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(image), str(raw)], check=True
    )
    try:
        result = subprocess.run(
            ["debugfs", "-R", command, str(raw)], check=True, capture_output=True, text=True
        )
    finally:
        raw.unlink()
    return result.stdout


def test_base_image_is_a_stock_image_with_rke2_installed_not_enabled(campaign: Campaign) -> None:
    base = campaign.get("base")
    units = debugfs(base.image, campaign.run, "ls -l /usr/local/lib/systemd/system")
    assert "rke2-server.service" in units and "rke2-agent.service" in units
    wants = debugfs(base.image, campaign.run, "ls /etc/systemd/system/multi-user.target.wants")
    assert "rke2" not in wants
    cloud_init = debugfs(base.image, campaign.run, "ls /etc/systemd/system/cloud-init.target.wants")
    assert "cloud-init.service" in cloud_init and "cloud-final.service" in cloud_init
    sysctl_d = debugfs(base.image, campaign.run, "ls /etc/sysctl.d")
    assert "rke2" not in sysctl_d
    assert "/usr/local/bin/rke2 server" in debugfs(
        base.image, campaign.run, "cat /usr/local/lib/systemd/system/rke2-server.service"
    )


def test_stock_image_with_full_user_data_starts_rke2_only_compliant(campaign: Campaign) -> None:
    """No bake: the first boot still puts the values in force before RKE2 starts."""
    found = campaign.get("boot_stock")
    assert_rke2_started_compliant(found)
    # The distro's defaults were in force at boot: it was the preflight that fixed them.
    assert "rke2image-preflight" in found.journal


def test_bake_makes_a_compliant_image(campaign: Campaign) -> None:
    bake = campaign.get("bake")
    assert bake.returncode == 0, bake.output[-4000:]
    assert bake.image is not None and bake.image.stat().st_size > 0
    assert "preflight passed" in bake.output


def test_bake_of_a_base_that_undoes_a_value_fails_in_enforce_mode(campaign: Campaign) -> None:
    bake = campaign.get("bake_undo_enforce")
    assert bake.returncode not in (0, None), bake.output[-4000:]
    assert bake.image is None
    assert PANIC_LINE in bake.output, bake.output[-4000:]


def test_baked_image_with_baked_user_data_starts_rke2_compliant(campaign: Campaign) -> None:
    assert_rke2_started_compliant(campaign.get("boot_baked"))


def test_later_sysctl_file_is_remediated_before_rke2_starts(campaign: Campaign) -> None:
    found = campaign.get("boot_baked_undo")
    assert_rke2_started_compliant(found)
    # The undone value was in force at boot; the preflight set it back before RKE2 ran.
    assert PANIC_FIXED.search(found.journal), found.summary()


def test_later_sysctl_file_stops_rke2_in_enforce_mode(campaign: Campaign) -> None:
    bake = campaign.get("bake_enforce")
    assert bake.returncode == 0, bake.output[-4000:]
    found = campaign.get("boot_baked_undo_enforce")
    assert not found.timed_out, f"the guest hung:\n{found.summary()}"
    assert found.result.get("state") == "failing", found.summary()
    assert not found.ready, "RKE2 started although a value was wrong"
    assert PANIC_LINE in found.journal, found.summary()


def test_without_rke2image_the_stock_image_reproduces_the_outage(campaign: Campaign) -> None:
    """The baseline: RKE2 with protect-kernel-defaults refuses the distro's defaults."""
    found = campaign.get("boot_outage")
    assert not found.timed_out, f"the guest hung:\n{found.summary()}"
    assert found.result.get("state") == "failing", found.summary()
    assert not found.ready
    overcommit = REQUIRED_BY_KEY["vm.overcommit_memory"]
    line = KUBELET_MISMATCH.format(flag=overcommit.kubelet_flag, expected=overcommit.value,
                                   actual="0")  # fmt: skip
    assert line in found.journal, found.summary()
