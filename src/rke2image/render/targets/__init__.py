"""One module per render target, each turning the node's one file list into that
system's form: cloud-init user-data, an Ignition config, a Combustion script, an
EIB folder. None of them makes a node file of its own: they all take ``files``
from ``render.node``."""

from __future__ import annotations

from collections.abc import Callable

from rke2image import targets
from rke2image.render.files import RenderedFile, TargetFile
from rke2image.render.targets import cloudinit, combustion, eib, ignition
from rke2image.spec.model import NodeSpec

Renderer = Callable[[NodeSpec, "tuple[RenderedFile, ...]", bool], "tuple[TargetFile, ...]"]

TARGETS: dict[str, Renderer] = {
    targets.CLOUD_INIT: cloudinit.render,
    targets.IGNITION: ignition.render,
    targets.COMBUSTION: combustion.render,
    targets.EIB: eib.render,
}
