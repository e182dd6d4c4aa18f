"""The shipped packer/ folder: formatted, valid for every builder, in step with the code."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rke2image import paths
from rke2image.bake.adapter import Packer
from rke2image.bake.pipeline import BuildRequest, build_node
from rke2image.bake.project import shipped_templates, write_project
from rke2image.bake.qemu import SPECIAL
from rke2image.bake.settings import BUILDERS, prefix
from rke2image.bake.versions import needs_plugins
from rke2image.render.node import node_files
from rke2image.resources import schema_documents
from rke2image.spec.model import NodeSpec

TEMPLATES = shipped_templates()
SCHEMA = schema_documents()["builders.schema.json"]


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [(b, e) for b in BUILDERS for e in SCHEMA["$defs"][b]["examples"]]


def declared_variables() -> set[str]:
    text = (TEMPLATES / "variables.pkr.hcl").read_text()
    return set(re.findall(r'^variable "([a-z0-9_]+)"', text, re.MULTILINE))


def test_packer_fmt_is_clean(require_tool: Callable[[str], str]) -> None:
    packer = require_tool("packer")
    for folder in (TEMPLATES, TEMPLATES / "plugins"):
        done = subprocess.run(
            [packer, "fmt", "-check", "."], cwd=folder, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stdout


def test_every_builder_has_one_source_and_the_build_uses_it() -> None:
    build = (TEMPLATES / "build.pkr.hcl").read_text()
    for builder in BUILDERS:
        source = (TEMPLATES / f"source-{builder}.pkr.hcl").read_text()
        assert f'source "{builder}" "rke2image"' in source
        assert f'"source.{builder}.rke2image"' in build


def test_every_setting_has_a_packer_variable() -> None:
    declared = declared_variables()
    for builder in BUILDERS:
        for key in SCHEMA["$defs"][builder]["properties"]:
            if builder == "qemu" and key in SPECIAL - {"disk_size", "accelerator", "iso_url",
                                                      "ssh_private_key_file"}:  # fmt: skip
                continue  # turned into qemuargs / cd_files by rke2image.bake.qemu
            assert f"{prefix(builder)}_{key}" in declared, (builder, key)


def test_node_paths_in_the_templates_are_the_code_paths() -> None:
    text = (TEMPLATES / "variables.pkr.hcl").read_text()
    for name, value in (("sysctl_file", paths.SYSCTL_FILE), ("modules_file", paths.MODULES_FILE),
                        ("preflight_path", paths.PREFLIGHT)):  # fmt: skip
        block = text.split(f'variable "{name}"', 1)[1].split("}", 1)[0]
        assert f'default = "{value}"' in block


@pytest.mark.parametrize(("builder", "settings"), examples())
def test_examples_are_valid_settings(builder: str, settings: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate({builder: settings})


def test_unknown_builder_names_are_invalid() -> None:
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors({"virtualbox-iso": {}}))
    assert errors and "virtualbox-iso" in errors[0].message


@pytest.mark.parametrize(("builder", "settings"), examples())
def test_packer_validate_passes_with_the_example_settings(
    builder: str,
    settings: dict[str, Any],
    tmp_path: Path,
    make_node: Callable[..., NodeSpec],
    require_tool: Callable[[str], str],
) -> None:
    packer = require_tool("packer")
    require_tool("ssh-keygen")
    spec = tmp_path / "spec" / "node.yaml"
    spec.parent.mkdir()
    if builder == "qemu":  # the example names a local base image beside the spec
        (spec.parent / settings["iso_url"]).parent.mkdir(parents=True, exist_ok=True)
        (spec.parent / settings["iso_url"]).write_bytes(b"")
    node = make_node(image_name="rke2-cp", builders={builder: settings}, source=str(spec))
    # No network here: proof that validate does not call any cloud API.
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PKR_VAR_vsphere_password": "s3"}
    request = BuildRequest(node, node_files(node), tmp_path / "project", dry_run=True,
                           packer_path=packer, environ=environ)  # fmt: skip
    [result] = build_node(request)
    assert result.validated_only and result.image_name.startswith("rke2-cp-")
    variables = json.loads((tmp_path / "project" / f"{builder}.pkrvars.json").read_text())
    assert variables["image_name"] == result.image_name
    assert set(variables) <= declared_variables()
    assert "s3" not in json.dumps(variables)  # secrets stay in the environment


def test_qemu_gets_a_seed_a_0600_key_and_direct_kernel_boot(
    tmp_path: Path, make_node: Callable[..., NodeSpec], require_tool: Callable[[str], str]
) -> None:
    packer = require_tool("packer")
    require_tool("ssh-keygen")
    spec = tmp_path / "node.yaml"
    (tmp_path / "base.qcow2").write_bytes(b"")  # a local base must exist; its content is Packer's business
    settings = {"iso_url": "base.qcow2", "kernel": "vmlinuz", "initrd": "initrd.img",
                "append": "root=/dev/vda console=ttyS0", "accelerator": "tcg",
                "qemuargs": [["-smp", "2"]]}  # fmt: skip
    node = make_node(builders={"qemu": settings}, source=str(spec))
    request = BuildRequest(node, node_files(node), tmp_path / "project", dry_run=True,
                           packer_path=packer)  # fmt: skip
    build_node(request)
    project = tmp_path / "project"
    variables = json.loads((project / "qemu.pkrvars.json").read_text())
    assert variables["qemu_iso_url"] == str(tmp_path / "base.qcow2")
    assert variables["qemu_accelerator"] == "tcg"
    assert variables["qemu_skip_resize_disk"] is True
    assert variables["qemu_qemuargs"] == [
        ["-kernel", str(tmp_path / "vmlinuz")],
        ["-initrd", str(tmp_path / "initrd.img")],
        ["-append", "root=/dev/vda console=ttyS0"],
        ["-smp", "2"],
    ]
    key = Path(variables["qemu_ssh_private_key_file"])
    assert key.stat().st_mode & 0o777 == 0o600
    user_data = (project / "seed" / "user-data").read_text()
    assert user_data.startswith("#cloud-config\n")
    assert Path(str(key) + ".pub").read_text().split()[1] in user_data
    assert variables["qemu_cd_files"] == [str(project / "seed/user-data"),
                                          str(project / "seed/meta-data")]  # fmt: skip


def test_required_plugins_are_kept_apart_for_packer_1_6(
    tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    packer = require_tool("packer")
    version = Packer(packer).version()
    assert not (TEMPLATES / "required-plugins.pkr.hcl").exists()
    assert needs_plugins(version) == (version >= (1, 7, 0))
    if needs_plugins(version):
        return  # current Packer: the project gets the file and `packer init`
    plugins = (TEMPLATES / "plugins" / "required-plugins.pkr.hcl").read_text()
    (tmp_path / "p.pkr.hcl").write_text(plugins)
    done = subprocess.run(
        [packer, "validate", "."], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "required_plugins" in done.stdout + done.stderr


def test_dry_run_never_touches_a_built_image(
    tmp_path: Path, make_node: Callable[..., NodeSpec], require_tool: Callable[[str], str]
) -> None:
    packer = require_tool("packer")
    require_tool("ssh-keygen")
    settings = {"iso_url": "base.qcow2", "accelerator": "tcg"}
    (tmp_path / "base.qcow2").write_bytes(b"")
    node = make_node(builders={"qemu": settings}, source=str(tmp_path / "node.yaml"))
    request = BuildRequest(node, node_files(node), tmp_path / "project", dry_run=True,
                           packer_path=packer)  # fmt: skip
    [first] = build_node(request)
    built = tmp_path / "project/output" / first.image_name / "qemu"
    built.mkdir(parents=True)
    (built / f"{first.image_name}.qcow2").write_bytes(b"image")
    # Packer refuses an existing output_directory even to validate: the dry run
    # must validate elsewhere and leave the image alone.
    [again] = build_node(request)
    assert again.validated_only and (built / f"{first.image_name}.qcow2").read_bytes() == b"image"


@pytest.mark.parametrize("plugins", [False, True])
def test_the_project_gets_required_plugins_only_for_packer_1_7_on(
    tmp_path: Path, plugins: bool
) -> None:
    write_project(tmp_path, TEMPLATES, (), plugins)
    assert (tmp_path / "required-plugins.pkr.hcl").exists() == plugins
    assert (tmp_path / "build.pkr.hcl").exists() and (tmp_path / "scripts").is_dir()
    assert needs_plugins((1, 6, 6)) is False and needs_plugins((1, 11, 2)) is True
