"""Combustion: ``combustion/script``, the bash script SLE Micro and openSUSE MicroOS run
at first boot in the new snapshot (github.com/openSUSE/combustion). It writes every
node file and creates the etcd account with groupadd/useradd; it enables nothing."""

from __future__ import annotations

from rke2image.render import templates
from rke2image.render.files import RenderedFile, TargetFile, output_mode
from rke2image.render.targets.shell import account_words, put_block
from rke2image.spec.model import NodeSpec
from rke2image.targets import COMBUSTION

SCRIPT = "combustion/script"


def render(node: NodeSpec, files: tuple[RenderedFile, ...], baked: bool) -> tuple[TargetFile, ...]:
    content = templates.render(
        "combustion-script.sh.j2",
        node_name=node.name,
        blocks=[put_block(f) for f in files],
        account=account_words(node),
    )
    secret = any(f.secret for f in files)
    return (TargetFile(COMBUSTION, SCRIPT, output_mode(secret, executable=True), content, secret),)
