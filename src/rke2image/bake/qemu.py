"""The qemu builder's settings that need work before Packer sees them.

Local paths resolve against the spec file's folder; kernel/initrd/append and
firmware become qemuargs; the accelerator "auto" is resolved for this host;
and unless a key is given, a per-build SSH key and a NoCloud seed (label
cidata) let Packer log in to a stock cloud image. Settings arrive with the
schema's defaults filled in (rke2image.bake.builders).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from rke2image.bake.accel import choose_accelerator
from rke2image.bake.digest import file_fingerprint
from rke2image.errors import ToolNotFound, UserError

SPECIAL = frozenset(
    {"iso_url", "disk_size", "accelerator", "kernel", "initrd", "append", "firmware",
     "qemuargs", "seed", "ssh_private_key_file"}
)  # fmt: skip
SSH_KEY = "ssh/id_ed25519"


def is_url(value: str) -> bool:
    return "://" in value


def local_path(value: str, spec_dir: Path) -> Path:
    """A path from the spec, relative to the spec file's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (spec_dir / path).resolve()


def fingerprints(settings: dict[str, Any], spec_dir: Path) -> dict[str, str]:
    """Size and mtime of each local input file, so a new base image means a new digest."""
    found = {}
    for key in ("iso_url", "kernel", "initrd", "firmware"):
        value = settings.get(key)
        if isinstance(value, str) and not is_url(value) and local_path(value, spec_dir).exists():
            found[key] = file_fingerprint(local_path(value, spec_dir))
    return found


def check_settings(settings: dict[str, Any], spec_dir: Path, node_name: str) -> None:
    """What the schema cannot require (the spec's example `qemu: {}` is valid) but a build
    must: a base image, and a local one that exists (packer validate does not look)."""
    if "iso_url" not in settings:
        raise UserError(
            f"{node_name}: spec.image.builders.qemu.iso_url is required to build: "
            "a base disk image (path or URL) or an installer ISO"
        )
    url = settings["iso_url"]
    if not is_url(url) and not local_path(url, spec_dir).is_file():
        raise UserError(
            f"{node_name}: spec.image.builders.qemu.iso_url: no such file "
            f"{local_path(url, spec_dir)} (relative paths are read from the spec's folder)"
        )


def qemu_variables(
    settings: dict[str, Any], spec_dir: Path, project: Path, digest: str
) -> dict[str, Any]:
    """The qemu_* variables of SPECIAL settings; writes the SSH key and seed into ``project``."""
    url = settings["iso_url"]
    variables: dict[str, Any] = {
        "qemu_iso_url": url if is_url(url) else str(local_path(url, spec_dir)),
        "qemu_skip_resize_disk": "disk_size" not in settings,
        "qemu_accelerator": choose_accelerator(settings["accelerator"]),
        "qemu_qemuargs": _qemuargs(settings, spec_dir),
    }
    if "disk_size" in settings:
        variables["qemu_disk_size"] = settings["disk_size"]
    key = settings.get("ssh_private_key_file")
    key_path = str(local_path(key, spec_dir)) if key else None
    if settings["seed"]:
        user = settings["ssh_username"]
        if key_path is None:
            key_path = str(generate_key(project / SSH_KEY))
        public = Path(key_path + ".pub").read_text(encoding="utf-8").strip()
        variables["qemu_cd_files"] = write_seed(project / "seed", user, public, digest)
    if key_path is not None:
        variables["qemu_ssh_private_key_file"] = key_path
    return variables


def _qemuargs(settings: dict[str, Any], spec_dir: Path) -> list[list[str]]:
    args: list[list[str]] = []
    for key, flag in (("kernel", "-kernel"), ("initrd", "-initrd"), ("firmware", "-bios")):
        if key in settings:
            args.append([flag, str(local_path(settings[key], spec_dir))])
    if "append" in settings:
        args.append(["-append", settings["append"]])
    args.extend([str(a) for a in arg] for arg in settings["qemuargs"])
    return args


def generate_key(path: Path) -> Path:
    """A fresh ed25519 key for this build (0600), replacing any earlier one."""
    tool = shutil.which("ssh-keygen")
    if tool is None:
        raise ToolNotFound("ssh-keygen not found; install openssh-client")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    subprocess.run(
        [tool, "-q", "-t", "ed25519", "-N", "", "-C", "rke2image-build", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    os.chmod(path, 0o600)
    return path


def write_seed(folder: Path, user: str, public_key: str, digest: str) -> list[str]:
    """Write a NoCloud seed whose user-data lets ``user`` log in with the build key."""
    if user == "root":
        config: dict[str, Any] = {"disable_root": False, "ssh_authorized_keys": [public_key]}
    else:
        config = {
            "users": [
                {
                    "name": user,
                    "sudo": "ALL=(ALL) NOPASSWD:ALL",
                    "shell": "/bin/sh",
                    "lock_passwd": True,
                    "ssh_authorized_keys": [public_key],
                }
            ]
        }
    config["ssh_pwauth"] = False
    folder.mkdir(parents=True, exist_ok=True)
    user_data = folder / "user-data"
    meta_data = folder / "meta-data"
    user_data.write_text("#cloud-config\n" + yaml.safe_dump(config, sort_keys=True))
    # "localhost": the build VM's name must not stick to the image, and sudo
    # resolves it without an /etc/hosts entry.
    meta = {"instance-id": f"rke2image-build-{digest[:12]}", "local-hostname": "localhost"}
    meta_data.write_text(yaml.safe_dump(meta, sort_keys=True))
    return [str(user_data), str(meta_data)]
