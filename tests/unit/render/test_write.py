"""Writing OUT: atomic, deterministic, refusing foreign folders; --check; the CLI and secrets."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import REPO
from rke2image import paths
from rke2image.cli.main import main
from rke2image.errors import InputError, RenderError
from rke2image.render import check_outputs, render_node, write_outputs, write_rootfs
from rke2image.render.files import RenderedFile, RenderedNode, TargetFile
from rke2image.render.manifest import MARKER
from rke2image.spec.model import NodeSpec

ROOT = REPO
MakeNode = Callable[..., NodeSpec]
SECRET = "K10deadbeef::server:hunter2-not-real"

TOKEN_ENV_SPEC = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata:
  name: cp-1
spec:
  role: server
  clusterInit: true
  rke2:
    version: v1.31.4+rke2r1
    profile: cis
    token: {env: RKE2IMAGE_TEST_TOKEN}
"""


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every entry under folder with its mode and content hash."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted(folder.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        found[path.relative_to(folder).as_posix()] = (path.stat().st_mode & 0o7777, digest)
    return found


def nodes(make_node: MakeNode) -> list[RenderedNode]:
    return [
        render_node(make_node()),
        render_node(
            make_node(
                name="w-1", role="agent", cluster_init=False, server="https://cp.example.com:9345"
            )
        ),
    ]


def test_layout_and_modes(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    write_outputs(nodes(make_node), out)
    tree = snapshot(out)
    assert tree[MARKER][0] == 0o644
    assert tree["cp-1/user-data"][0] == 0o644
    assert tree["cp-1/manifest.json"][0] == 0o644
    assert tree["cp-1/rootfs/etc/rancher/rke2/config.yaml"][0] == 0o600
    assert tree["cp-1/rootfs/usr/local/libexec/rke2image/preflight"][0] == 0o755
    assert tree["w-1/rootfs" + paths.dropin_path("agent")][0] == 0o644
    assert all(mode == 0o755 for mode, digest in tree.values() if digest == "dir")
    assert (out.stat().st_mode & 0o777) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left behind


def test_manifest_lists_path_mode_and_sha256(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    rendered = nodes(make_node)
    write_outputs(rendered, out)
    manifest = json.loads((out / "cp-1/manifest.json").read_text())
    assert manifest["name"] == "cp-1" and manifest["role"] == "server"
    for entry in manifest["files"]:
        on_disk = out / "cp-1/rootfs" / entry["path"].lstrip("/")
        assert entry["sha256"] == hashlib.sha256(on_disk.read_bytes()).hexdigest()
        assert int(entry["mode"], 8) == on_disk.stat().st_mode & 0o777
    assert {e["path"] for e in manifest["files"]} == {f.path for f in rendered[0].files}


def test_two_renders_are_byte_identical(tmp_path: Path, make_node: MakeNode) -> None:
    write_outputs(nodes(make_node), tmp_path / "a")
    write_outputs(nodes(make_node), tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_render_in_a_fresh_interpreter_is_byte_identical(tmp_path: Path) -> None:
    # Another process, another hash seed, another working folder: same bytes.
    def render(out: Path, seed: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rke2image",
                "render",
                str(ROOT / "examples/cluster.yaml"),
                "-o",
                str(out),
            ],
            check=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
        )

    render(tmp_path / "a", "1")
    render(tmp_path / "b", "4242")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_rerender_replaces_an_earlier_output(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    write_outputs(nodes(make_node), out)
    (out / "stale-node").mkdir()
    write_outputs(nodes(make_node)[:1], out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "cp-1"]


def test_empty_existing_folder_is_fine(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_outputs(nodes(make_node), out)
    assert (out / MARKER).is_file()


@pytest.mark.parametrize("kind", ["foreign-folder", "file", "symlink"])
def test_refuses_to_replace_what_is_not_ours(
    tmp_path: Path, make_node: MakeNode, kind: str
) -> None:
    out = tmp_path / "out"
    if kind == "foreign-folder":
        out.mkdir()
        (out / "thesis.tex").write_text("years of work")
    elif kind == "file":
        out.write_text("a file")
    else:
        (tmp_path / "elsewhere").mkdir()
        out.symlink_to(tmp_path / "elsewhere")
    before = snapshot(tmp_path)
    with pytest.raises(InputError, match="refusing to replace"):
        write_outputs(nodes(make_node), out)
    assert snapshot(tmp_path) == before


def test_a_write_error_leaves_out_as_it_was(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    write_outputs(nodes(make_node), out)
    before = snapshot(tmp_path)
    # A file where a later file needs a folder: the write fails half-way.
    clash = RenderedNode(
        "bad",
        (RenderedFile("/etc/x", 0o644, b"1"), RenderedFile("/etc/x/y", 0o644, b"2")),
        (TargetFile("cloud-init", "user-data", 0o644, b"#cloud-config\n"),),
    )
    with pytest.raises(InputError, match="cannot write"):
        write_outputs([*nodes(make_node), clash], out)
    assert snapshot(tmp_path) == before


def test_duplicate_node_names_are_refused_before_writing(
    tmp_path: Path, make_node: MakeNode
) -> None:
    with pytest.raises(RenderError, match="cp-1"):
        write_outputs([render_node(make_node()), render_node(make_node())], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_check_reports_missing_stale_and_extra(tmp_path: Path, make_node: MakeNode) -> None:
    out = tmp_path / "out"
    rendered = nodes(make_node)
    assert check_outputs(rendered, out) == [
        f"missing: {out / rel}" for rel in sorted([MARKER, *_relative_files(rendered)])
    ]
    write_outputs(rendered, out)
    assert check_outputs(rendered, out) == []
    (out / "cp-1/user-data").write_text("#cloud-config\n")
    (out / "w-1/manifest.json").unlink()
    (out / "w-1/notes.txt").write_text("x")
    (out / "cp-1/rootfs/usr/local/libexec/rke2image/preflight").chmod(0o644)
    (out / "cp-1/rootfs/etc/rancher/rke2/config.yaml").chmod(0o644)  # git cannot keep 0600
    assert check_outputs(rendered, out) == [
        (
            f"stale: {out}/cp-1/rootfs/usr/local/libexec/rke2image/preflight: mode should be 0755 "
            "(executable)"
        ),
        f"stale: {out}/cp-1/user-data: content differs from the spec",
        f"missing: {out}/w-1/manifest.json",
        f"extra: {out}/w-1/notes.txt",
    ]


def _relative_files(rendered: list[RenderedNode]) -> list[str]:
    rel = []
    for node in rendered:
        rel += [f"{node.name}/user-data", f"{node.name}/manifest.json"]
        rel += [f"{node.name}/rootfs{f.path}" for f in node.files]
    return rel


def test_write_rootfs_writes_node_paths_with_modes(tmp_path: Path, make_node: MakeNode) -> None:
    node = render_node(make_node())
    (tmp_path / "etc/rancher/rke2").mkdir(parents=True)
    (tmp_path / "etc/rancher/rke2/config.yaml").write_text("old")
    (tmp_path / "etc/rancher/rke2/config.yaml").chmod(0o644)
    write_rootfs(node.files, tmp_path)
    for file in node.files:
        on_disk = tmp_path / file.path.lstrip("/")
        assert on_disk.read_bytes() == file.content
        assert on_disk.stat().st_mode & 0o777 == file.mode


def test_cli_render_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    spec = str(ROOT / "examples/cluster.yaml")
    assert main(["render", spec, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "cp-1",
        "cp-2",
        "cp-3",
        "worker-1",
        "worker-2",
    ]
    assert main(["render", "--check", spec, "-o", str(out)]) == 0
    (out / "worker-2/user-data").write_text("edited\n")
    capsys.readouterr()
    before = snapshot(out)
    assert main(["render", "--check", spec, "-o", str(out)]) == 1
    assert f"stale: {out}/worker-2/user-data" in capsys.readouterr().out
    assert snapshot(out) == before  # --check writes nothing


def test_cli_check_of_missing_out_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["render", "--check", str(ROOT / "examples/node.yaml"), "-o", str(out)]) == 1
    assert f"missing: {out}/cp-1/user-data" in capsys.readouterr().out
    assert not out.exists()


def test_cli_baked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["render", "--baked", str(ROOT / "examples/node.yaml"), "-o", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        MARKER,
        "cp-1/manifest.json",
        "cp-1/rootfs/etc/rancher/rke2/config.yaml",
        "cp-1/user-data",
    ]


def test_cli_refuses_foreign_out_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "important").write_text("keep me")
    assert main(["render", str(ROOT / "examples/node.yaml"), "-o", str(out)]) == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert (out / "important").read_text() == "keep me"


def test_cli_invalid_spec_exits_1_and_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["render", str(ROOT / "examples/node.yaml"), "-o", str(out)]) == 0
    before = snapshot(out)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TOKEN_ENV_SPEC.replace("role: server", "role: master"))
    assert main(["render", str(bad), "-o", str(out)]) == 1
    assert "bad.yaml:" in capsys.readouterr().err
    assert snapshot(out) == before


def test_cli_env_token_secret_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "node.yaml"
    spec.write_text(TOKEN_ENV_SPEC)
    out = tmp_path / "out"
    monkeypatch.setenv("RKE2IMAGE_TEST_TOKEN", SECRET)
    assert main(["render", str(spec), "-o", str(out)]) == 0
    assert main(["render", "--check", str(spec), "-o", str(out)]) == 0
    (out / "cp-1/rootfs/etc/rancher/rke2/config.yaml").write_text("token: changed\n")
    assert main(["render", "--check", str(spec), "-o", str(out)]) == 1
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    holding = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and SECRET.encode() in p.read_bytes()
    )
    assert holding == ["cp-1/user-data"]  # config.yaml was overwritten above
    assert (out / "cp-1/user-data").stat().st_mode & 0o777 == 0o600
    manifest = (out / "cp-1/manifest.json").read_text()
    assert SECRET not in manifest
    entry = next(e for e in json.loads(manifest)["files"] if e["path"] == paths.RKE2_CONFIG)
    assert entry["secret"] is True and entry["sha256"] is None


def test_cli_unset_env_token_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "node.yaml"
    spec.write_text(TOKEN_ENV_SPEC)
    monkeypatch.delenv("RKE2IMAGE_TEST_TOKEN", raising=False)
    out = tmp_path / "out"
    assert main(["render", str(spec), "-o", str(out)]) == 2
    assert "RKE2IMAGE_TEST_TOKEN is not set" in capsys.readouterr().err
    assert not out.exists()


def test_modes_hold_under_a_strict_umask(tmp_path: Path, make_node: MakeNode) -> None:
    old = os.umask(0o077)
    try:
        write_outputs(nodes(make_node), tmp_path / "out")
        write_rootfs(nodes(make_node)[0].files, tmp_path / "rootfs")
    finally:
        os.umask(old)
    tree = snapshot(tmp_path / "out")
    assert tree["cp-1/user-data"][0] == 0o644
    assert tree["cp-1/rootfs/usr/local/libexec/rke2image/preflight"][0] == 0o755
    assert tree["cp-1/rootfs/etc"][0] == 0o755
    rootfs = snapshot(tmp_path / "rootfs")
    assert rootfs["etc/sysctl.d/99-zz-rke2image.conf"][0] == 0o644
    assert rootfs["etc/sysctl.d"][0] == 0o755


def test_output_to_the_current_folder(
    tmp_path: Path, make_node: MakeNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    write_outputs(nodes(make_node), Path("."))
    monkeypatch.chdir(tmp_path)  # the old folder, our working folder, was replaced
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "cp-1", "w-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_notes_user_data_over_the_ec2_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rke2image.cli.render import EC2_USER_DATA_LIMIT

    spec = str(ROOT / "examples/node.yaml")
    assert main(["render", spec, "-o", str(tmp_path / "full")]) == 0
    full = capsys.readouterr().err
    assert main(["render", "--baked", spec, "-o", str(tmp_path / "baked")]) == 0
    baked = capsys.readouterr().err
    size = (tmp_path / "full/cp-1/user-data").stat().st_size
    assert ("over 16 KiB" in full) is (size > EC2_USER_DATA_LIMIT)
    assert "over 16 KiB" not in baked


def test_sigterm_during_a_render_leaves_no_staging_folder(tmp_path: Path) -> None:
    """CI timeouts and systemd send SIGTERM: it must unwind like Ctrl-C."""
    nodes = "\n".join(f"    - {{name: w-{i}, role: agent}}" for i in range(3000))
    spec = tmp_path / "big.yaml"
    spec.write_text(
        "apiVersion: rke2image/v1\nkind: Cluster\nmetadata: {name: big}\nspec:\n"
        "  server: https://cp.example.com:9345\n"
        "  defaults: {rke2: {version: v1.31.4+rke2r1, token: {file: /etc/rancher/rke2/token}}}\n"
        "  nodes:\n    - {name: cp-1, role: server, clusterInit: true}\n" + nodes + "\n"
    )
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "rke2image", "render", str(spec), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for _ in range(600):  # wait until it is writing the staging folder
        if list(tmp_path.glob(".out.*")) or process.poll() is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err  # 0 would mean the write outran the signal
    assert b"Traceback" not in err
    assert list(tmp_path.glob(".out.*")) == [] and not out.exists()
