"""Builder settings of the spec → Packer variables of packer/variables.pkr.hcl.

Each setting ``key`` of builder ``b`` is the variable ``<prefix>_<key>``, the
prefix coming from PREFIXES. Settings that need work first (the qemu boot
files, accelerator and SSH access) are handled in rke2image.bake.qemu.
"""

from __future__ import annotations

from typing import Any

BUILDERS = ("qemu", "amazon-ebs", "azure-arm", "googlecompute", "vsphere-iso")
PREFIXES = {
    "qemu": "qemu",
    "amazon-ebs": "amazon",
    "azure-arm": "azure",
    "googlecompute": "gcp",
    "vsphere-iso": "vsphere",
}
SOURCE_NAME = "rke2image"  # every source block of packer/ has this name


def source_address(builder: str) -> str:
    """What `packer build -only=` takes for a builder: "<type>.<name>"."""
    return f"{builder}.{SOURCE_NAME}"


def prefix(builder: str) -> str:
    """The variable prefix of a builder (other builder types use their own name)."""
    return PREFIXES.get(builder, builder.replace("-", "_"))


def plain_variables(builder: str, settings: dict[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    """Map each setting not in ``skip`` to its Packer variable."""
    head = prefix(builder)
    return {f"{head}_{key}": value for key, value in sorted(settings.items()) if key not in skip}
