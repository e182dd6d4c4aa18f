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

# target name -> (node, its files, baked) -> that target's files; an annotation only, so
# Python 3.9 never evaluates the subscripted types.
TARGETS: dict[str, Callable[[NodeSpec, tuple[RenderedFile, ...], bool], tuple[TargetFile, ...]]] = {
    targets.CLOUD_INIT: cloudinit.render,
    targets.IGNITION: ignition.render,
    targets.COMBUSTION: combustion.render,
    targets.EIB: eib.render,
}
