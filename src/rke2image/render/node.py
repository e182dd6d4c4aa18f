"""``render_node``: one NodeSpec to its files in memory. Pure: no I/O but package data.

Named ``node`` because the node is render's one unit: a spec's node in, that node's files
(``node_files``, the ones an image bakes in) and each target's form of them out. The
build of a node is ``bake/run.py``, the audit's host checks have their own name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from rke2image import accounts, paths, resources
from rke2image.errors import RenderError
from rke2image.render import cloudconfig, templates
from rke2image.render.files import RenderedFile, RenderedNode
from rke2image.render.rke2config import build_config
from rke2image.render.targets import TARGETS
from rke2image.spec.model import NodeSpec
from rke2image.targets import CLOUD_INIT

PREFLIGHT_SOURCE = "preflight.sh"


def render_node(
    node: NodeSpec,
    *,
    baked: bool = False,
    environ: Mapping[str, str] | None = None,
    targets: Sequence[str] = (),
) -> RenderedNode:
    """Render every file of ``node``, then each target's form of those same files.

    ``targets`` (``render --target``) default to the spec's, else its os's own.
    ``baked`` renders only what differs per node (config.yaml and the hostname)
    for an image made by ``build``: cloud-init user-data only. ``environ``
    (default: ``os.environ``) is where ``token: {env: NAME}`` is read.
    """
    wanted = tuple(targets) or node.render_targets
    if baked and wanted != (CLOUD_INIT,):
        raise RenderError(
            f"{node.name}: --baked renders cloud-init user-data for an image made by "
            f"`rke2image build`, not {', '.join(t for t in wanted if t != CLOUD_INIT)}"
        )
    config = build_config(node, os.environ if environ is None else environ)
    config_file = RenderedFile(
        paths.RKE2_CONFIG,
        0o600,
        templates.render("rke2-config.yaml.j2", config=config.values),
        secret=config.secret,
    )
    if baked:
        files: tuple[RenderedFile, ...] = (config_file,)
    else:
        files = tuple(sorted((*node_files(node), config_file), key=lambda f: f.path))
    outputs = tuple(out for target in wanted for out in TARGETS[target](node, files, baked))
    return RenderedNode(name=node.name, files=files, outputs=outputs, role=node.role, baked=baked)


def node_files(node: NodeSpec) -> tuple[RenderedFile, ...]:
    """The files that hold no secret: sysctl.d, modules-load.d, preflight, drop-in."""
    return (
        RenderedFile(
            paths.SYSCTL_FILE,
            0o644,
            templates.render("sysctl.conf.j2", sysctl=node.effective_sysctl()),
        ),
        RenderedFile(
            paths.MODULES_FILE,
            0o644,
            templates.render("modules-load.conf.j2", modules=node.modules),
        ),
        RenderedFile(node.preflight_path, 0o755, preflight_script()),
        RenderedFile(
            paths.dropin_path(node.role),
            0o644,
            templates.render(
                "preflight-dropin.conf.j2",
                service=paths.service_name(node.role),
                preflight_command=preflight_command(node),
            ),
        ),
    )


def preflight_script() -> bytes:
    """templates/preflight.sh, verbatim (it is not a Jinja template)."""
    try:
        return resources.read_text("templates", PREFLIGHT_SOURCE).encode("utf-8")
    except FileNotFoundError as error:
        raise RenderError(f"templates/{PREFLIGHT_SOURCE} is missing from rke2image") from error


def preflight_command(node: NodeSpec) -> list[str]:
    """The drop-in's ExecStartPre: the spec's mode, the etcd user check, the swap check."""
    words = [node.preflight_path, "--mode", node.preflight_mode, *cloudconfig.preflight_file_args()]
    if node.needs_etcd_user:
        words += ["--require-user", accounts.ETCD.name, "--require-group", accounts.ETCD.name]
    if node.fail_swap_on:
        words.append("--no-swap")
    return words
