"""Render targets and the operating systems that can use them: facts, in one home.

A target is the first-boot system that puts the node files on a node. Which ones an
operating system runs (its image's documentation):

- cloud-init: the stock cloud images of Ubuntu, Debian, RHEL and its rebuilds,
  Amazon Linux, SLES and openSUSE Leap.
- Ignition: Flatcar Container Linux (flatcar.org/docs, "Provisioning with Ignition")
  and Fedora CoreOS (docs.fedoraproject.org/en-US/fedora-coreos/producing-ign/). Both
  keep ``/usr`` read-only. Flatcar's is a dm-verity partition, ``/usr/local`` included
  (an Ignition file there makes Ignition fail; its docs put binaries in ``/opt/bin``).
  Fedora CoreOS's is an ostree deployment whose ``/usr/local`` and ``/opt`` are
  symlinks into ``/var`` (``/var/usrlocal``, ``/var/opt``), both writable; its tutorials
  write scripts to ``/usr/local/bin`` from Ignition.
- Combustion: SLE Micro / SUSE Linux Micro and openSUSE MicroOS run it at first boot
  (github.com/openSUSE/combustion) in a new snapshot.
- EIB: SUSE Edge Image Builder builds SLE Micro / SL Micro images only.

An ``os`` whose distribution is not listed here may use every target (rke2image cannot
tell) and defaults to cloud-init.
"""

from __future__ import annotations

from dataclasses import dataclass

CLOUD_INIT = "cloud-init"
IGNITION = "ignition"
COMBUSTION = "combustion"
EIB = "eib"
TARGETS = (CLOUD_INIT, IGNITION, COMBUSTION, EIB)


@dataclass(frozen=True)
class OsFamily:
    """What one distribution (the part of ``os`` before the ``-``) can be provisioned with."""

    targets: tuple[str, ...]  # the first is the default
    usr_local_readonly: bool = False  # /usr/local cannot hold rke2image's preflight


_CLOUD = OsFamily((CLOUD_INIT,))
_IGNITION = OsFamily((IGNITION,))
_SLE_MICRO = OsFamily((COMBUSTION, EIB))
FAMILIES: dict[str, OsFamily] = {
    **dict.fromkeys(
        (
            "ubuntu", "debian", "rhel", "rocky", "almalinux", "centos", "oraclelinux",
            "amazonlinux", "sles", "opensuse",
        ),
        _CLOUD,
    ),
    "flatcar": OsFamily((IGNITION,), usr_local_readonly=True),
    "fcos": _IGNITION,
    "slemicro": _SLE_MICRO,
    "slmicro": _SLE_MICRO,  # SUSE Linux Micro 6.x, SLE Micro's new name
    "microos": OsFamily((COMBUSTION,)),
}  # fmt: skip
_ANY = OsFamily(TARGETS)


def family(os: str) -> OsFamily:
    """The family of ``os`` (``flatcar-4081.2.0`` → flatcar); any target for one not listed."""
    return FAMILIES.get(os.split("-", 1)[0], _ANY)


def allowed_targets(os: str) -> tuple[str, ...]:
    return family(os).targets


def default_target(os: str) -> str:
    """The target ``render`` uses for a node whose spec and command line name none."""
    return family(os).targets[0]
