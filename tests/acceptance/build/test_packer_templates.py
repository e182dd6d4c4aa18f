"""The shipped packer/ folder: formatted, valid for every builder, fed by the code."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rke2image.bake import BuildOptions, build
from rke2image.bake.builders import BUILDERS
from rke2image.bake.packer import FIRST_PLUGIN_VERSION, Packer
from rke2image.bake.project import shipped_templates, write_project
from rke2image.bake.qemu import SPECIAL
from rke2image.resources import schema_documents
from rke2image.spec.model import NodeSpec

TEMPLATES = shipped_templates()
SCHEMA = schema_documents()["builders.schema.json"]
VARIABLE = re.compile(r'^variable "([a-z0-9_]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [(b, e) for b in BUILDERS for e in SCHEMA["$defs"][b]["examples"]]


def variables_in(name: str) -> dict[str, str]:
    """Variable name -> the body of its block, in one file of packer/."""
    return dict(VARIABLE.findall((TEMPLATES / name).read_text()))


def declared_variables() -> set[str]:
    names = ["variables.pkr.hcl", *(f"variables-{b}.pkr.hcl" for b in BUILDERS)]
    return {v for name in names for v in variables_in(name)}


def test_packer_fmt_is_clean(require_tool: Callable[[str], str]) -> None:
    packer = require_tool("packer")
    for folder in (TEMPLATES, TEMPLATES / "plugins"):
        done = subprocess.run(
            [packer, "fmt", "-check", "."], cwd=folder, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stdout


def test_every_builder_has_one_source_beside_its_variables_and_the_build_uses_it() -> None:
    build_file = (TEMPLATES / "build.pkr.hcl").read_text()
    for name, builder in BUILDERS.items():
        source = (TEMPLATES / f"source-{name}.pkr.hcl").read_text()
        assert f'source "{name}" "{builder.source.split(".")[1]}"' in source
        assert f'"source.{builder.source}"' in build_file
        variables = variables_in(f"variables-{name}.pkr.hcl")
        assert variables and all(v.startswith(f"{builder.prefix}_") for v in variables)


def test_every_variable_says_what_it_is() -> None:
    for path in sorted(TEMPLATES.glob("*.pkr.hcl")):
        for name, body in variables_in(path.name).items():
            described = re.search(r'^  description = "(?:[^"\\]|\\.)+"$', body, re.MULTILINE)
            assert described, (path.name, name)


def test_values_python_always_passes_have_no_default() -> None:
    """The common variables (node paths among them) come from the code, every build."""
    for name, body in variables_in("variables.pkr.hcl").items():
        assert "default" not in body, name


def test_builder_defaults_live_in_the_schema_only() -> None:
    """A setting with a schema default has a null default in HCL: nothing to drift."""
    for name, builder in BUILDERS.items():
        properties = SCHEMA["$defs"][name]["properties"]
        for variable, body in variables_in(f"variables-{name}.pkr.hcl").items():
            setting = variable.removeprefix(f"{builder.prefix}_")
            if "default" in properties.get(setting, {}):
                assert re.search(r"^  default += null$", body, re.MULTILINE), variable


def test_every_setting_has_a_packer_variable() -> None:
    declared = declared_variables()
    for name, builder in BUILDERS.items():
        for key in SCHEMA["$defs"][name]["properties"]:
            if name == "qemu" and key in SPECIAL - {"disk_size", "accelerator", "iso_url",
                                                    "ssh_private_key_file"}:  # fmt: skip
                continue  # turned into qemuargs / cd_files by rke2image.bake.qemu
            assert f"{builder.prefix}_{key}" in declared, (name, key)


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
    options = BuildOptions(tmp_path / "out", dry_run=True, packer_path=packer, environ=environ)
    [result] = build(node, options)
    assert result.validated_only and result.image_name.startswith("rke2-cp-")
    variables = json.loads((tmp_path / "out/cp-1" / f"{builder}.pkrvars.json").read_text())
    assert variables["image_name"] == result.image_name
    assert set(variables) <= declared_variables()
    # Every variable without a default is passed: nothing is left to a default in HCL.
    required = {v for name in ["variables.pkr.hcl", f"variables-{builder}.pkr.hcl"]
                for v, body in variables_in(name).items() if "default" not in body
                or re.search(r"^  default += null$", body, re.MULTILINE)}  # fmt: skip
    assert required - {"qemu_disk_size"} <= set(variables)
    assert "s3" not in json.dumps(variables)  # secrets stay in the environment


def test_qemu_gets_a_seed_a_0600_key_and_direct_kernel_boot(
    tmp_path: Path, make_node: Callable[..., NodeSpec], require_tool: Callable[[str], str]
) -> None:
    packer = require_tool("packer")
    require_tool("ssh-keygen")
    spec = tmp_path / "node.yaml"
    # A local base must exist; its content is Packer's business.
    (tmp_path / "base.qcow2").write_bytes(b"")
    settings = {"iso_url": "base.qcow2", "kernel": "vmlinuz", "initrd": "initrd.img",
                "append": "root=/dev/vda console=ttyS0", "accelerator": "tcg",
                "qemuargs": [["-smp", "2"]]}  # fmt: skip
    node = make_node(builders={"qemu": settings}, source=str(spec))
    build(node, BuildOptions(tmp_path / "out", dry_run=True, packer_path=packer))
    project = tmp_path / "out/cp-1"
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
    if version >= FIRST_PLUGIN_VERSION:
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
    options = BuildOptions(tmp_path / "out", dry_run=True, packer_path=packer)
    [first] = build(node, options)
    built = tmp_path / "out/cp-1/output" / first.image_name / "qemu"
    built.mkdir(parents=True)
    (built / f"{first.image_name}.qcow2").write_bytes(b"image")
    # Packer refuses an existing output_directory even to validate: the dry run
    # must validate elsewhere and leave the image alone.
    [again] = build(node, options)
    assert again.validated_only and (built / f"{first.image_name}.qcow2").read_bytes() == b"image"


@pytest.mark.parametrize("plugins", [False, True])
def test_the_project_gets_required_plugins_only_for_packer_1_7_on(
    tmp_path: Path, plugins: bool
) -> None:
    write_project(tmp_path, TEMPLATES, (), plugins)
    assert (tmp_path / "required-plugins.pkr.hcl").exists() == plugins
    assert (tmp_path / "build.pkr.hcl").exists() and (tmp_path / "scripts").is_dir()
