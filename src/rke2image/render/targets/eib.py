"""SUSE Edge Image Builder: ``eib/``, to lay into an EIB image configuration folder.

``eib/os-files/`` holds the node files as they land on ``/`` (EIB's
19-copy-os-files.sh copies them with ``cp -R``, keeping their modes, before its
20-k8s-install.sh installs RKE2 under ``/opt/rke2``); ``eib/custom/scripts/`` the
script that creates the etcd account. One file moves: EIB writes
``/etc/rancher/rke2/config.yaml`` itself (from ``kubernetes/config/server.yaml``),
after os-files are copied, so rke2image's RKE2 settings go to
``config.yaml.d/``, which RKE2 merges after it (k3s pkg/configfilearg).
"""

from __future__ import annotations

from rke2image import paths
from rke2image.render import templates
from rke2image.render.files import RenderedFile, TargetFile, output_mode
from rke2image.render.targets.shell import account_words
from rke2image.spec.model import NodeSpec
from rke2image.targets import EIB

OS_FILES = "eib/os-files"
SCRIPT = "eib/custom/scripts/50-rke2image.sh"  # EIB's own scripts use 00-49
RKE2_CONFIG = f"{paths.RKE2_CONFIG_DIR}/50-rke2image.yaml"


def node_path(file: RenderedFile) -> str:
    """Where ``file`` lands on an EIB-built node."""
    return RKE2_CONFIG if file.path == paths.RKE2_CONFIG else file.path


def render(node: NodeSpec, files: tuple[RenderedFile, ...], baked: bool) -> tuple[TargetFile, ...]:
    laid = tuple(
        TargetFile(EIB, OS_FILES + node_path(f), f.mode, f.content, f.secret) for f in files
    )
    script = templates.render("eib-script.sh.j2", node_name=node.name, account=account_words(node))
    return (*laid, TargetFile(EIB, SCRIPT, output_mode(False, executable=True), script))
