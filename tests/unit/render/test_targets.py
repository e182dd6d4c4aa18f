"""Every target carries the same node files, deterministically, with secrets kept 0600."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest

from helpers import EXAMPLES, make_node, require_tool
from rke2image import paths
from rke2image.cli.main import main
from rke2image.errors import RenderError
from rke2image.render import render_node
from rke2image.render.files import RenderedFile, RenderedNode, TargetFile
from rke2image.render.manifest import manifest
from rke2image.render.targets import eib
from rke2image.render.targets.shell import put_block
from rke2image.spec import load_nodes
from rke2image.spec.model import TokenRef
from rke2image.targets import TARGETS

SECRET = "K10-not-a-real-token::server:s3cr3t-VALUE"
EC2_USER_DATA_LIMIT = 16 * 1024


def all_targets(**fields: Any) -> RenderedNode:
    """A node rendered for every target (an os rke2image does not know allows them all)."""
    return render_node(make_node(os="custom-1", **fields), targets=TARGETS)


def outputs(node: RenderedNode, target: str) -> dict[str, TargetFile]:
    return {f.path: f for f in node.outputs if f.target == target}


def decode_data_url(contents: dict[str, Any]) -> bytes:
    source: str = contents["source"]
    head, _, data = source.partition(",")
    raw = base64.b64decode(data) if head.endswith(";base64") else unquote_to_bytes(data)
    return gzip.decompress(raw) if contents.get("compression") == "gzip" else raw


def test_ignition_carries_every_node_file_with_its_mode() -> None:
    node = all_targets()
    config = json.loads(outputs(node, "ignition")["ignition.json"].content)
    assert config["ignition"]["version"] == "3.3.0"
    carried = {
        f["path"]: (f["mode"], decode_data_url(f["contents"])) for f in config["storage"]["files"]
    }
    (unit,) = config["systemd"]["units"]
    assert unit["name"] == "rke2-server.service" and "enabled" not in unit
    for dropin in unit["dropins"]:
        path = f"/etc/systemd/system/{unit['name']}.d/{dropin['name']}"
        carried[path] = (0o644, dropin["contents"].encode())
    assert carried == {f.path: (f.mode, f.content) for f in node.files}
    assert config["passwd"]["users"][0]["name"] == "etcd"


def test_eib_lays_every_node_file_in_os_files_the_rke2_config_in_config_yaml_d() -> None:
    node = all_targets()
    laid = {p: (f.mode, f.content) for p, f in outputs(node, "eib").items() if p != eib.SCRIPT}
    expected = {
        eib.OS_FILES + (eib.RKE2_CONFIG if f.path == paths.RKE2_CONFIG else f.path): (
            f.mode,
            f.content,
        )
        for f in node.files
    }
    assert laid == expected


def test_combustion_script_holds_every_node_file_and_the_account() -> None:
    node = all_targets()
    script = outputs(node, "combustion")["combustion/script"].content.decode()
    assert script.startswith("#!/bin/bash\n")
    for file in node.files:
        heredoc = f"<<'RKE2IMAGE_EOF'\n{file.content.decode()}RKE2IMAGE_EOF"
        assert f"put {file.path} {file.mode:04o} {heredoc}" in script
    assert "add_account etcd 'etcd user' /sbin/nologin" in script
    assert "systemctl" not in script  # it enables nothing RKE2's installer owns
    assert not [line for line in script.splitlines() if line.startswith("# combustion:")]


def test_agents_get_no_etcd_account_in_any_target() -> None:
    node = all_targets(role="agent", cluster_init=False, server="https://cp:9345")
    assert "passwd" not in json.loads(outputs(node, "ignition")["ignition.json"].content)
    assert b"add_account etcd" not in outputs(node, "combustion")["combustion/script"].content
    assert b"add_account etcd" not in outputs(node, "eib")[eib.SCRIPT].content


def test_every_target_is_byte_identical_on_every_render() -> None:
    assert all_targets() == all_targets()


def test_a_secret_makes_each_target_file_that_embeds_it_0600_and_keeps_it_out_of_the_manifest() -> (
    None
):
    node = render_node(
        make_node(os="custom-1", token=TokenRef(env="RKE2_TOKEN")),
        environ={"RKE2_TOKEN": SECRET},
        targets=TARGETS,
    )
    embedding = {f.path: f.mode for f in node.outputs if f.secret}
    assert embedding == {
        "user-data": 0o600,
        "ignition.json": 0o600,
        "combustion/script": 0o700,
        eib.OS_FILES + eib.RKE2_CONFIG: 0o600,
    }
    for output in node.outputs:
        assert (
            SECRET.encode() in output.content or SECRET.encode() in _gunzipped(output)
        ) is output.secret
    assert SECRET not in json.dumps(manifest(node))
    assert all(e["sha256"] is None for e in manifest(node)["outputs"] if e["secret"])


def _gunzipped(output: TargetFile) -> bytes:
    if output.path != "ignition.json":
        return b""
    config = json.loads(output.content)
    return b"".join(decode_data_url(f["contents"]) for f in config["storage"]["files"])


def test_the_os_chooses_the_default_target_and_the_preflight_place() -> None:
    flatcar = render_node(make_node(os="flatcar-4081.2.0"))
    assert flatcar.targets == ("ignition",)
    assert paths.PREFLIGHT_OPT in {f.path for f in flatcar.files}
    assert render_node(make_node(os="fcos-41")).targets == ("ignition",)
    assert render_node(make_node(os="slmicro-6.1")).targets == ("combustion",)
    assert render_node(make_node()).targets == ("cloud-init",)
    assert paths.PREFLIGHT in {f.path for f in render_node(make_node(os="fcos-41")).files}


def test_baked_renders_cloud_init_only() -> None:
    with pytest.raises(RenderError, match="--baked"):
        render_node(make_node(os="fcos-41"), baked=True)


def test_the_example_ignition_config_stays_well_under_16_kib() -> None:
    for spec in load_nodes([EXAMPLES / "flatcar.yaml"]):
        size = len(outputs(render_node(spec), "ignition")["ignition.json"].content)
        assert size < 13 * 1024, size  # README gives the figure


def test_render_refuses_a_target_the_os_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["render", str(EXAMPLES / "flatcar.yaml"), "-o", str(tmp_path / "o"), "--target", "eib"]
    )
    err = capsys.readouterr().err
    assert code == 1 and not (tmp_path / "o").exists()
    assert (
        "flatcar.yaml:7:3: error: node flatcar-1: os flatcar-4081.2.0 cannot use --target eib"
        in err
    )
    assert "really runs [target-os]\n" in err


def test_render_of_the_examples_writes_all_four_forms(tmp_path: Path) -> None:
    written = set()
    for name in ("node", "flatcar", "slemicro"):
        out = tmp_path / name
        assert main(["render", str(EXAMPLES / f"{name}.yaml"), "-o", str(out)]) == 0
        written |= {p.relative_to(out).parts[1] for p in out.glob("*/*")}
    assert {"user-data", "ignition.json", "combustion", "eib"} <= written


@pytest.mark.host_tools  # Debian 11's shellcheck 0.7.1 flags what 0.9 accepts
def test_the_scripts_are_shellcheck_clean(tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck")
    node = all_targets()
    scripts = []
    for output in node.outputs:
        if output.path.endswith(("script", ".sh")):
            scripts.append(tmp_path / output.path.replace("/", "_"))
            scripts[-1].write_bytes(output.content)
    done = subprocess.run(
        [shellcheck, *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    "content",
    [b"plain text\n", b"a\nRKE2IMAGE_EOF\nb\n", b"no final newline", b"\x00\xff\xfe binary\n", b""],
    ids=["text", "delimiter-line", "no-newline", "binary", "empty"],
)
def test_a_put_block_hands_put_the_exact_bytes(tmp_path: Path, content: bytes) -> None:
    """Here-documents keep text as is; anything they cannot carry goes as base64."""
    bash = require_tool("bash")
    block = put_block(RenderedFile("/etc/x", 0o644, content))
    stub = f'put() {{ cat >"{tmp_path}/got"; }}\n'
    done = subprocess.run([bash, "-euc", stub + block], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "got").read_bytes() == content


def test_a_second_render_replaces_the_target_files_of_the_first(tmp_path: Path) -> None:
    """Target files are listed in the manifest, so they are rke2image's to replace."""
    out = tmp_path / "out"
    spec = str(EXAMPLES / "slemicro.yaml")
    assert main(["render", spec, "-o", str(out)]) == 0
    assert (out / "edge-1/eib").is_dir()
    assert main(["render", spec, "-o", str(out), "--target", "combustion"]) == 0
    assert not (out / "edge-1/eib").exists() and (out / "edge-1/combustion/script").is_file()
    assert main(["render", spec, "-o", str(out), "--target", "combustion", "--check"]) == 0
