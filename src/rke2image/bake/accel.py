"""Pick QEMU's accelerator: KVM only where it truly works, else TCG.

/dev/kvm can exist and even open on a host whose CPU does not advertise
hardware virtualisation (nested PVM and similar); a normal guest then hangs
under KVM. So "auto" demands both the vmx/svm CPU flag and a /dev/kvm that
opens read-write. The paths are parameters so tests can point them at fakes.
"""

from __future__ import annotations

import os
from pathlib import Path

from rke2image.errors import UserError

ACCELERATORS = ("auto", "kvm", "tcg")
VIRT_FLAGS = frozenset({"vmx", "svm"})


def cpu_has_virtualisation(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when any CPU's flags line lists vmx (Intel) or svm (AMD)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == "flags" and VIRT_FLAGS & set(value.split()):
            return True
    return False


def kvm_usable(device: Path = Path("/dev/kvm")) -> bool:
    """True when the KVM device opens read-write (exists, permitted, not busy)."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def choose_accelerator(
    requested: str = "auto",
    cpuinfo: Path = Path("/proc/cpuinfo"),
    kvm_device: Path = Path("/dev/kvm"),
) -> str:
    """Return "kvm" or "tcg" for QEMU; "auto" picks KVM only if both checks pass."""
    if requested not in ACCELERATORS:
        raise UserError(
            f"unknown accelerator {requested!r}: expected one of {', '.join(ACCELERATORS)}"
        )
    if requested != "auto":
        return requested
    if cpu_has_virtualisation(cpuinfo) and kvm_usable(kvm_device):
        return "kvm"
    return "tcg"
