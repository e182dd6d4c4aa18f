"""cloud-init: ``user-data``, a #cloud-config that writes every node file (see
``render.cloudconfig`` for what it does at first boot and why)."""

from __future__ import annotations

from rke2image.render import cloudconfig, templates
from rke2image.render.files import USER_DATA, RenderedFile, TargetFile, output_mode
from rke2image.spec.model import NodeSpec
from rke2image.targets import CLOUD_INIT


def render(node: NodeSpec, files: tuple[RenderedFile, ...], baked: bool) -> tuple[TargetFile, ...]:
    if baked:
        cloud_config = cloudconfig.baked_cloud_config(node, files)
    else:
        cloud_config = cloudconfig.full_cloud_config(node, files)
    content = templates.render("user-data.j2", baked=baked, cloud_config=cloud_config)
    secret = any(f.secret for f in files)
    return (TargetFile(CLOUD_INIT, USER_DATA, output_mode(secret), content, secret),)
