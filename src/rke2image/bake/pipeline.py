"""`build` for one node: project folder → digest check → packer validate → packer build.

Data in, data out: the caller renders the node's image files and prints the
results; this module never prints. Only files that are the same on every node
made from the image belong in it: config.yaml (server, token) comes per node
from the user-data of `render --baked`. A file marked secret is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rke2image.bake.adapter import EventSink, Packer
from rke2image.bake.digest import build_digest, image_name
from rke2image.bake.project import (
    MANIFEST,
    claim_project,
    packer_environment,
    shipped_templates,
    write_project,
    write_variables,
)
from rke2image.bake.qemu import check_settings, fingerprints, qemu_variables
from rke2image.bake.record import (
    ArtifactRecord,
    artifacts_from_manifest,
    read_record,
    write_record,
)
from rke2image.bake.settings import SOURCE_NAME, plain_variables, source_address
from rke2image.bake.versions import needs_plugins
from rke2image.errors import UserError
from rke2image.paths import MODULES_FILE, PREFLIGHT, SYSCTL_FILE
from rke2image.render.cloudconfig import required_keys
from rke2image.render.files import RenderedFile
from rke2image.spec.model import NodeSpec


@dataclass(frozen=True)
class BuildRequest:
    node: NodeSpec
    files: tuple[RenderedFile, ...]  # what goes into the image
    project: Path
    only: str | None = None
    dry_run: bool = False
    force: bool = False
    packer_path: str | None = None
    timeout: float | None = None
    templates: Path | None = None  # default: the shipped packer/ folder
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class BuildResult:
    builder: str
    image_name: str
    digest: str
    artifact_ids: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    cached: bool = False
    validated_only: bool = False


Notice = Callable[[str], None]


def build_node(
    request: BuildRequest, on_event: EventSink | None = None, notice: Notice | None = None
) -> list[BuildResult]:
    """Build (or find already built) the image of each selected builder of one node."""
    node, project = request.node, request.project.resolve()  # Packer runs in it
    say = notice or (lambda _text: None)
    builders = selected_builders(node, request.only)
    if "qemu" in builders:
        check_settings(node.builders["qemu"], node.name)
    templates = request.templates or shipped_templates()
    files = request.files
    secrets = [f.path for f in files if f.secret]
    if secrets:
        raise UserError(f"{node.name}: refusing to bake secrets into an image: {secrets}")
    claim_project(project)  # only once the request is known to be buildable
    spec_dir = Path(node.source).parent if node.source != "<memory>" else Path.cwd()
    digests = {
        b: build_digest(files, templates, b, node.builders[b], _inputs(b, node, spec_dir))
        for b in builders
    }
    results: list[BuildResult] = []
    pending = []
    for builder in builders:
        record = read_record(project, builder)
        if record and record.digest == digests[builder] and not (request.force or request.dry_run):
            results.append(_cached(record))
        else:
            pending.append(builder)
    if not pending:
        return results

    packer = Packer(request.packer_path, on_event, packer_environment(project, request.environ))
    plugins = needs_plugins(packer.version())
    write_project(project, templates, files, plugins)
    if plugins:
        say("Packer >= 1.7: installing the builders' plugins (packer init)")
        packer.init(project)
    for builder in pending:
        name = image_name(node.image_name or node.name, digests[builder])
        variables = _variables(node, builder, name, digests[builder], project, spec_dir)
        variables["output_dir"] = str(_fresh_output_dir(project, name, request.dry_run))
        var_file = write_variables(project, builder, variables)
        say(f"{builder}: packer validate ({name})")
        packer.validate(project, source_address(builder), var_file)
        if request.dry_run:
            results.append(BuildResult(builder, name, digests[builder], validated_only=True))
            continue
        say(f"{builder}: packer build ({name})")
        packer.build(project, source_address(builder), var_file, request.timeout)
        ids, out_files = artifacts_from_manifest(project / MANIFEST, builder, SOURCE_NAME)
        record = ArtifactRecord(builder, name, digests[builder], ids, out_files)
        write_record(project, record)
        results.append(BuildResult(builder, name, digests[builder], ids, out_files))
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


def _inputs(builder: str, node: NodeSpec, spec_dir: Path) -> dict[str, str]:
    return fingerprints(node.builders[builder], spec_dir) if builder == "qemu" else {}


def _variables(
    node: NodeSpec, builder: str, name: str, digest: str, project: Path, spec_dir: Path
) -> dict[str, Any]:
    settings = node.builders[builder]
    variables: dict[str, Any] = {
        "image_name": name,
        "sysctl_file": SYSCTL_FILE,
        "modules_file": MODULES_FILE,
        "preflight_path": PREFLIGHT,
        "create_etcd_user": node.needs_etcd_user,
        "preflight_no_swap": node.fail_swap_on,
        "preflight_required_keys": required_keys(),
        "rke2_version": node.rke2_version,
        "rke2_type": node.role,
    }
    if builder == "qemu":
        variables.update(qemu_variables(settings, spec_dir, project, node.name, digest))
    else:
        variables.update(plain_variables(builder, settings, frozenset({"ami_name"})))
    if builder == "amazon-ebs" and "ami_name" in settings:
        variables["amazon_ami_name"] = image_name(settings["ami_name"], digest)
    return variables


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
