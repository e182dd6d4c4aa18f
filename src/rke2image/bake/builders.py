"""The builder table: per Packer builder, its source, how settings become variables,
and what to check before anything is written.

A setting ``key`` of builder ``b`` is the Packer variable ``<prefix>_<key>`` of
packer/variables-<b>.pkr.hcl. Defaults live in schemas/builders.schema.json
only: ``settings_of`` fills them in, so every setting that has one reaches
Packer and the HCL needs none. Settings that need work first (the qemu boot
files, accelerator and SSH access; amazon's AMI name) are the builder's
``special`` ones, turned into variables by its ``extra`` function.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rke2image.bake import qemu
from rke2image.bake.digest import image_name
from rke2image.resources import schema_documents

SOURCE_NAME = "rke2image"  # every source block of packer/ has this name
Settings = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One builder of one node, as the table's functions see it."""

    node_name: str
    settings: Settings  # the spec's settings with the schema's defaults filled in
    spec_dir: Path  # local paths in settings are relative to it
    project: Path
    digest: str


def _no_check(_settings: Settings, _spec_dir: Path, _node_name: str) -> None:
    return None


def _no_variables(_target: Target) -> dict[str, Any]:
    return {}


def _no_inputs(_settings: Settings, _spec_dir: Path) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Builder:
    """One Packer builder rke2image drives."""

    name: str  # the Packer builder type and the key under spec.image.builders
    prefix: str  # of its Packer variables
    special: frozenset[str] = frozenset()  # settings ``extra`` handles
    check: Callable[[Settings, Path, str], None] = _no_check  # before anything is written
    extra: Callable[[Target], dict[str, Any]] = _no_variables
    inputs: Callable[[Settings, Path], dict[str, str]] = _no_inputs  # local files, for the digest

    @property
    def source(self) -> str:
        """What `packer build -only=` takes: "<type>.<name>"."""
        return f"{self.name}.{SOURCE_NAME}"

    def variables(self, target: Target) -> dict[str, Any]:
        """Every Packer variable of this builder for ``target``."""
        plain = {
            f"{self.prefix}_{key}": value
            for key, value in sorted(target.settings.items())
            if key not in self.special
        }
        return {**plain, **self.extra(target)}


def _amazon_extra(target: Target) -> dict[str, Any]:
    """ami_name, when given, still carries the digest: same inputs, same name."""
    if "ami_name" not in target.settings:
        return {}
    return {"amazon_ami_name": image_name(target.settings["ami_name"], target.digest)}


def _qemu_extra(target: Target) -> dict[str, Any]:
    return qemu.qemu_variables(target.settings, target.spec_dir, target.project, target.digest)


BUILDERS: Mapping[str, Builder] = {
    b.name: b
    for b in (
        Builder(
            "qemu",
            "qemu",
            special=qemu.SPECIAL,
            check=qemu.check_settings,
            extra=_qemu_extra,
            inputs=qemu.fingerprints,
        ),
        Builder("amazon-ebs", "amazon", special=frozenset({"ami_name"}), extra=_amazon_extra),
        Builder("azure-arm", "azure"),
        Builder("googlecompute", "gcp"),
        Builder("vsphere-iso", "vsphere"),
    )
}


def settings_of(builder: Builder, settings: Settings) -> Settings:
    """The spec's settings of ``builder`` with the schema's defaults filled in.

    The spec loader fills only ``properties``; builders are ``patternProperties``
    (a builder is built only when the spec names it), so their defaults are
    filled here, from the same schema.
    """
    definition = schema_documents()["builders.schema.json"]["$defs"].get(builder.name, {})
    filled = {
        key: copy.deepcopy(prop["default"])
        for key, prop in definition.get("properties", {}).items()
        if "default" in prop
    }
    return {**filled, **settings}
