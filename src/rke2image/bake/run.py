"""``build`` for one node, its steps in order (as ``audit.run`` is the audit's): project
folder → digest check → packer validate → packer build.

Data in, data out: this module never prints; progress goes to the callbacks of
BuildOptions. Only files that are the same on every node made from the image
belong in it (``render.node.node_files``): config.yaml (server, token) comes per
node from the user-data of `render --baked`. A file marked secret is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rke2image import accounts, paths
from rke2image.bake.builders import BUILDERS, SOURCE_NAME, Builder, Target, settings_of
from rke2image.bake.digest import build_digest, image_name
from rke2image.bake.packer import EventSink, Packer
from rke2image.bake.project import (
    INSTALL_LIST,
    MANIFEST,
    ROOTFS,
    claim_project,
    packer_environment,
    shipped_templates,
    write_project,
    write_variables,
)
from rke2image.bake.record import (
    ArtifactRecord,
    artifacts_from_manifest,
    read_record,
    write_record,
)
from rke2image.errors import UserError
from rke2image.render.cloudconfig import INSTALL_SCRIPT_URL, RKE2_BINARIES, required_keys
from rke2image.render.node import node_files
from rke2image.spec.model import NodeSpec

Notice = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where, which builders, and who hears about progress."""

    output: Path  # the node's Packer project is OUTPUT/<node name>/
    only: str | None = None
    dry_run: bool = False
    force: bool = False
    packer_path: str | None = None
    timeout: float | None = None
    on_event: EventSink | None = None  # each step Packer reports
    notice: Notice | None = None  # what rke2image itself is doing
    templates: Path | None = None  # default: the shipped packer/ folder
    builders: Mapping[str, Builder] = field(default_factory=lambda: BUILDERS)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class BuildResult:
    builder: str
    image_name: str
    digest: str
    artifact_ids: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    cached: bool = False
    validated_only: bool = False


def build(node: NodeSpec, options: BuildOptions) -> list[BuildResult]:
    """Build (or find already built) the image of each selected builder of one node."""
    project = (options.output / node.name).resolve()  # Packer runs in it
    say = options.notice or (lambda _text: None)
    builders = [options.builders[b] for b in selected_builders(node, options.only)]
    spec_dir = Path(node.source).parent if node.source != "<memory>" else Path.cwd()
    settings = {b.name: settings_of(b, node.builders[b.name]) for b in builders}
    for builder in builders:
        builder.check(settings[builder.name], spec_dir, node.name)
    templates = options.templates or shipped_templates()
    files = node_files(node)
    secrets = [f.path for f in files if f.secret]
    if secrets:
        raise UserError(f"{node.name}: refusing to build secrets into an image: {secrets}")
    claim_project(project)  # only once the request is known to be buildable
    digests = {
        b.name: build_digest(
            files, templates, b.name, settings[b.name], b.inputs(settings[b.name], spec_dir)
        )
        for b in builders
    }
    results: list[BuildResult] = []
    pending = []
    for builder in builders:
        record = read_record(project, builder.name)
        reuse = not (options.force or options.dry_run)
        if record and record.digest == digests[builder.name] and reuse:
            results.append(_cached(record))
        else:
            pending.append(builder)
    if not pending:
        return results

    packer = Packer(
        options.packer_path, options.on_event, packer_environment(project, options.environ)
    )
    plugins = packer.needs_plugins()
    write_project(project, templates, files, plugins)
    if plugins:
        say("Packer >= 1.7: installing the builders' plugins (packer init)")
        packer.init(project)
    for builder in pending:
        digest = digests[builder.name]
        name = image_name(node.image_name or node.name, digest)
        target = Target(node.name, settings[builder.name], spec_dir, project, digest)
        variables = {
            **common_variables(node, name, _fresh_output_dir(project, name, options.dry_run)),
            **builder.variables(target),
        }
        var_file = write_variables(project, builder.name, variables)
        say(f"{builder.name}: packer validate ({name})")
        packer.validate(project, builder.source, var_file)
        if options.dry_run:
            results.append(BuildResult(builder.name, name, digest, validated_only=True))
            continue
        say(f"{builder.name}: packer build ({name})")
        packer.build(project, builder.source, var_file, options.timeout)
        ids, out_files = artifacts_from_manifest(project / MANIFEST, builder.name, SOURCE_NAME)
        write_record(project, ArtifactRecord(builder.name, name, digest, ids, out_files))
        results.append(BuildResult(builder.name, name, digest, ids, out_files))
    return results


def selected_builders(node: NodeSpec, only: str | None) -> list[str]:
    """The node's builders, or just ``only`` (which must be one of them)."""
    if not node.builders:
        raise UserError(f"{node.name}: spec.image.builders is empty: nothing to build")
    if only is None:
        return list(node.builders)
    if only not in node.builders:
        known = ", ".join(node.builders)
        raise UserError(f"{node.name}: --only {only}: not a builder of this spec ({known})")
    return [only]


def common_variables(node: NodeSpec, name: str, output_dir: Path) -> dict[str, Any]:
    """The variables of packer/variables.pkr.hcl: every one, always (they have no default)."""
    return {
        "image_name": name,
        "rootfs_dir": ROOTFS,
        "install_list": INSTALL_LIST,
        "manifest_file": MANIFEST,
        "output_dir": str(output_dir),
        "sysctl_file": paths.SYSCTL_FILE,
        "modules_file": paths.MODULES_FILE,
        "preflight_path": node.preflight_path,  # where its os lets it live
        "rke2_version": node.rke2_version,
        "rke2_binaries": list(RKE2_BINARIES),
        "rke2_installer_url": INSTALL_SCRIPT_URL,
        "rke2_type": node.role,
        "preflight_no_swap": node.fail_swap_on,
        "preflight_required_keys": required_keys(),
        **accounts.ETCD.build_variables(node.needs_etcd_user),
    }


def _fresh_output_dir(project: Path, name: str, dry_run: bool) -> Path:
    """Where local builders write; Packer refuses a folder that exists, even to validate.

    One folder per image name. A build clears its own (a failed attempt, or the
    same image again under --force); a dry run validates against a scratch
    folder so it never touches a built image.
    """
    folder = project / ("tmp/validate-output" if dry_run else "output") / name
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _cached(record: ArtifactRecord) -> BuildResult:
    return BuildResult(
        record.builder,
        record.image_name,
        record.digest,
        record.artifact_ids,
        record.files,
        cached=True,
    )
