"""The Packer project folder: templates, the rendered rootfs/, install.list and
one variables file per builder, laid out so that plain `packer build` works in it.

    <project>/*.pkr.hcl, scripts/     copies of the shipped packer/ folder
    <project>/rootfs/                  the node files with their modes
    <project>/install.list             "MODE SHA256 PATH" per file, read in the image
    <project>/<builder>.pkrvars.json   the variables of one builder
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rke2image import resources
from rke2image.errors import InputError
from rke2image.render.files import RenderedFile
from rke2image.render.write import write_rootfs

PLUGINS_FILE = "required-plugins.pkr.hcl"
ROOTFS = "rootfs"
INSTALL_LIST = "install.list"
MANIFEST = "packer-manifest.json"
PROJECT_MARKER = ".rke2image-project"


def claim_project(project: Path) -> None:
    """Make ``project`` ours before anything is written into it.

    A build replaces templates, scripts/ and rootfs/, so it never works in a
    non-empty folder that rke2image did not create.
    """
    if project.is_dir() and any(project.iterdir()) and not (project / PROJECT_MARKER).exists():
        raise InputError(
            f"refusing to write the Packer project into {project}: it holds files that "
            f"rke2image did not write (no {PROJECT_MARKER}); choose another -o folder"
        )
    try:
        project.mkdir(parents=True, exist_ok=True)
        (project / PROJECT_MARKER).write_text("written by rke2image build; safe to delete\n")
    except OSError as error:
        raise InputError(f"cannot write the Packer project {project}: {error}") from error


def shipped_templates() -> Path:
    """The packer/ folder of this installation."""
    return Path(str(resources.data_dir("packer")))


def write_project(
    project: Path, templates: Path, files: tuple[RenderedFile, ...], plugins: bool
) -> None:
    """Write templates, rootfs/ and install.list; ``plugins`` adds required_plugins (>= 1.7)."""
    try:
        project.mkdir(parents=True, exist_ok=True)
        for old in project.glob("*.pkr.hcl"):
            old.unlink()
        for source in templates.glob("*.pkr.hcl"):
            shutil.copyfile(source, project / source.name)
        if (templates / "scripts").is_dir():
            shutil.rmtree(project / "scripts", ignore_errors=True)
            shutil.copytree(templates / "scripts", project / "scripts")
        if plugins:
            shutil.copyfile(templates / "plugins" / PLUGINS_FILE, project / PLUGINS_FILE)
        shutil.rmtree(project / ROOTFS, ignore_errors=True)  # no stale files from a last build
        write_rootfs(files, project / ROOTFS)
        (project / INSTALL_LIST).write_text(install_list(files), encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write the Packer project {project}: {error}") from error


def install_list(files: tuple[RenderedFile, ...]) -> str:
    """The list install-rootfs.sh reads: mode, sha256 and node path per line."""
    lines = []
    for item in sorted(files, key=lambda f: f.path):
        if any(c.isspace() for c in item.path) or not item.path.startswith("/"):
            raise InputError(f"cannot bake {item.path!r}: node paths must be absolute, no spaces")
        lines.append(f"{item.mode:04o} {item.sha256} {item.path}\n")
    return "".join(lines)


def write_variables(project: Path, builder: str, variables: dict[str, Any]) -> str:
    """Write one builder's variables file; return its name relative to the project."""
    name = f"{builder}.pkrvars.json"
    text = json.dumps(dict(sorted(variables.items())), indent=2) + "\n"
    (project / name).write_text(text, encoding="utf-8")
    return name


def packer_environment(project: Path, base: Mapping[str, str]) -> dict[str, str]:
    """Packer's environment: temp files and cache inside the project, no update checks.

    Creates those folders: Packer fails at once if TMPDIR does not exist.
    """
    try:
        for folder in ("tmp", "packer_cache"):
            (project / folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot write the Packer project {project}: {error}") from error
    env = dict(base)
    env["TMPDIR"] = str(project / "tmp")
    env["PACKER_CACHE_DIR"] = str(project / "packer_cache")
    env["CHECKPOINT_DISABLE"] = "1"
    return env
