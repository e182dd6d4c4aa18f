"""The rendered files pass the real tools: cloud-init schema, systemd-analyze, shellcheck.

Tools missing here fail on CI (CI=true) and skip locally. Nothing here touches
the kernel parameters of the machine: the tools only read the files.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import REPO, make_tree, run_preflight
from rke2image import paths, resources
from rke2image.render import render_node, write_rootfs
from rke2image.render.files import RenderedNode
from rke2image.spec import load_nodes
from rke2image.spec.model import NodeSpec, TokenRef
from rke2image.targets import CLOUD_INIT

ROOT = REPO
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
# Debian 11 (the python3.9 lane's root) still has a split /usr: its units are in /lib.
HOST_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    Path("/usr/lib/systemd/system"),
)
Tool = Callable[[str], str]
MakeNode = Callable[..., NodeSpec]

# Shaped like RKE2's own unit (bundle/lib/systemd/system/rke2-server.service).
RKE2_UNIT = """\
[Unit]
Description=Rancher Kubernetes Engine v2 ({role})
Documentation=https://github.com/rancher/rke2#readme
Wants=network-online.target
After=network-online.target
Conflicts={other}.service

[Install]
WantedBy=multi-user.target

[Service]
Type={type}
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/usr/local/lib/systemd/system/%N.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/rke2 {role}
ExecStopPost=-/bin/sh -c "systemd-cgls /system.slice/%n | grep -Eo '[0-9]+ (containerd|kubelet)' | awk '{{print $1}}' | xargs -r kill"
"""
CLOUD_INIT_UNITS = (
    "cloud-init-local.service",
    "cloud-init.service",
    "cloud-config.service",
    "cloud-final.service",
)


def example_nodes(baked: bool) -> list[tuple[str, RenderedNode]]:
    out = []
    specs = [spec for example in EXAMPLES for spec in load_nodes([example])]
    for spec in (s for s in specs if CLOUD_INIT in s.render_targets):  # user-data ones
        environ = {spec.token.env: "example-token"} if spec.token and spec.token.env else {}
        out.append(
            (
                f"{Path(spec.source).name}:{spec.name}",
                render_node(spec, baked=baked, environ=environ),
            )
        )
    return out


def extra_nodes(make_node: MakeNode) -> list[RenderedNode]:
    joiner = {"cluster_init": False, "server": "https://[fd00::1]:9345"}
    return [
        render_node(make_node(profile="none", preflight_mode="warn", rke2_config={})),
        render_node(
            make_node(
                token=TokenRef(env="T"),
                rke2_config={"kubelet-arg": ["fail-swap-on=false"], "node-label": ["a=b c", "yes"]},
            ),
            environ={"T": "s'ec\"ret: x"},
        ),
        render_node(make_node(name="w-1", role="agent", modules=(), **joiner)),
        render_node(make_node(name="w-2", role="agent", **joiner), baked=True),
    ]


def cloud_init_schema(tool: Tool, user_data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "user-data"
    path.write_bytes(user_data)
    result = subprocess.run(
        [tool("cloud-init"), "schema", "--config-file", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


@pytest.mark.host_tools  # cloud-init 20.4 has `devel schema` only; 25.1 says `Valid schema`
@pytest.mark.parametrize("baked", [False, True], ids=["full", "baked"])
def test_every_example_user_data_passes_cloud_init_schema(
    require_tool: Tool, tmp_path: Path, baked: bool
) -> None:
    rendered = example_nodes(baked)
    assert len(rendered) >= 6  # examples/node.yaml (1) and examples/cluster.yaml (5)
    for _, node in rendered:
        cloud_init_schema(require_tool, node.user_data, tmp_path)


@pytest.mark.host_tools  # cloud-init 20.4 has `devel schema` only; 25.1 says `Valid schema`
def test_other_shapes_pass_cloud_init_schema(
    require_tool: Tool, tmp_path: Path, make_node: MakeNode
) -> None:
    for node in extra_nodes(make_node):
        cloud_init_schema(require_tool, node.user_data, tmp_path)


def test_cloud_init_schema_rejects_a_broken_config(require_tool: Tool, tmp_path: Path) -> None:
    # The check must be able to fail: a wrong type for write_files.
    path = tmp_path / "user-data"
    path.write_text("#cloud-config\nwrite_files: 3\n")
    result = subprocess.run(
        [require_tool("cloud-init"), "schema", "--config-file", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def node_root(tmp_path: Path, node: RenderedNode) -> Path:
    """An offline root: host unit files, cloud-init and RKE2 enabled, the node's rootfs."""
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    other = "rke2-agent" if node.role == "server" else "rke2-server"
    unit = root / "usr/local/lib/systemd/system" / paths.service_name(node.role)
    unit.parent.mkdir(parents=True)
    unit.write_text(
        RKE2_UNIT.format(
            role=node.role, other=other, type="notify" if node.role == "server" else "exec"
        )
    )
    for folder, name, target in [
        ("multi-user.target.wants", paths.service_name(node.role), f"/{unit.relative_to(root)}"),
        (
            "multi-user.target.wants",
            "cloud-init.target",
            "/usr/lib/systemd/system/cloud-init.target",
        ),
        *(("cloud-init.target.wants", u, f"/usr/lib/systemd/system/{u}") for u in CLOUD_INIT_UNITS),
    ]:
        (etc / folder).mkdir(parents=True, exist_ok=True)
        (etc / folder / name).symlink_to(target)
    for program in ("usr/local/bin/rke2", "usr/bin/cloud-init", "usr/sbin/modprobe", "usr/bin/sh"):
        (root / program).parent.mkdir(parents=True, exist_ok=True)
        (root / program).write_text("#!/bin/sh\n")
        (root / program).chmod(0o755)
    for link in ("bin", "sbin", "lib"):
        (root / link).symlink_to(f"usr/{link}")
    write_rootfs(node.files, root)
    return root


def verify(tool: Tool, root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("systemd-analyze"), "verify", f"--root={root}", unit],
        check=False,
        capture_output=True,
        text=True,
    )


@pytest.mark.host_tools  # systemd 257's verify also runs `man` on each Documentation=
@pytest.mark.parametrize("role", ["server", "agent"])
def test_drop_in_passes_systemd_analyze_verify(
    require_tool: Tool, tmp_path: Path, make_node: MakeNode, role: str
) -> None:
    require_tool("cloud-init")  # its unit files take part in the boot transaction
    node = render_node(
        make_node(
            role=role,
            cluster_init=role == "server",
            server=None if role == "server" else "https://cp:9345",
        )
    )
    root = node_root(tmp_path, node)
    for unit in (paths.service_name(role), "multi-user.target"):
        result = verify(require_tool, root, unit)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    debug = subprocess.run(
        [require_tool("systemd-analyze"), "verify", f"--root={root}", paths.service_name(role)],
        check=False,
        capture_output=True,
        text=True,
        env={"SYSTEMD_LOG_LEVEL": "debug", "PATH": "/usr/bin:/bin"},
    )
    assert paths.dropin_path(role).split("/")[-1] in debug.stdout + debug.stderr


@pytest.mark.host_tools  # systemd 247 (Debian 11) has --root for cat-config only
def test_ordering_after_cloud_final_would_be_caught(
    require_tool: Tool, tmp_path: Path, make_node: MakeNode
) -> None:
    # The verification above can fail: the cycle this design avoids is reported.
    require_tool("cloud-init")
    root = node_root(tmp_path, render_node(make_node()))
    dropin = root / paths.dropin_path("server").lstrip("/")
    dropin.write_text(dropin.read_text().replace("[Unit]\n", "[Unit]\nAfter=cloud-final.service\n"))
    assert "ordering cycle" in verify(require_tool, root, "multi-user.target").stderr


@pytest.mark.host_tools  # Debian 11's shellcheck 0.7.1 flags `local` (SC2039)
def test_rendered_preflight_is_the_template_and_passes_shellcheck(
    require_tool: Tool, tmp_path: Path, make_node: MakeNode
) -> None:
    node = render_node(make_node())
    write_rootfs(node.files, tmp_path)
    script = tmp_path / paths.PREFLIGHT.lstrip("/")
    assert script.read_bytes() == resources.read_text("templates", "preflight.sh").encode()
    assert script.stat().st_mode & 0o777 == 0o755
    result = subprocess.run(
        [require_tool("shellcheck"), "-s", "sh", str(script)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def _drop_in_argv(node: RenderedNode, root: Path, proc_sys: Path) -> list[str]:
    """The rendered ExecStartPre, pointed at the written rootfs and a fake /proc/sys."""
    text = (root / paths.dropin_path(node.role).lstrip("/")).read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("ExecStartPre="))
    words = shlex.split(line.removeprefix("ExecStartPre="))
    assert words[0] == paths.PREFLIGHT
    local = {p: str(root / p.lstrip("/")) for p in (paths.SYSCTL_FILE, paths.MODULES_FILE)}
    return [local.get(w, w) for w in words[1:]] + ["--proc-sys", str(proc_sys)]


@pytest.mark.parametrize("mode", ["remediate", "enforce"])
def test_drop_in_command_runs_the_rendered_preflight(
    tmp_path: Path, make_node: MakeNode, mode: str
) -> None:
    # The drop-in's own arguments, run by dash against a fake kernel tree holding
    # kernel defaults: remediate fixes the tree, enforce refuses in kubelet's words.
    node = render_node(make_node(preflight_mode=mode))
    root = tmp_path / "root"
    write_rootfs(node.files, root)
    spec_values = make_node().effective_sysctl()
    tree = make_tree(tmp_path / "proc-sys", {key: "0" for key in spec_values})
    (tmp_path / "passwd").write_text("root:x:0:0::/root:/bin/sh\netcd:x:998:998::/:/sbin/nologin\n")
    (tmp_path / "group").write_text("root:x:0:\netcd:x:998:\n")
    (tmp_path / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    env = {
        "RKE2IMAGE_PASSWD": str(tmp_path / "passwd"),
        "RKE2IMAGE_GROUP": str(tmp_path / "group"),
        "RKE2IMAGE_SWAPS": str(tmp_path / "swaps"),
    }
    script = root / paths.PREFLIGHT.lstrip("/")
    result = run_preflight("dash", script, _drop_in_argv(node, root, tree.root), env)
    if mode == "remediate":
        assert result.returncode == 0, result.stderr
        assert {key: tree.get(key) for key in spec_values} == spec_values
    else:
        assert result.returncode == 1
        assert "invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0" in (
            result.stderr
        )
        assert tree.get("vm.overcommit_memory") == "0"


def test_runcmd_shell_lines_pass_shellcheck(
    require_tool: Tool, tmp_path: Path, make_node: MakeNode
) -> None:
    # cloud-init runs string entries of runcmd as shell lines of one script.
    for node in [*(n for _, n in example_nodes(False)), *extra_nodes(make_node)]:
        runcmd = yaml.safe_load(node.user_data)["runcmd"]
        lines = [entry for entry in runcmd if isinstance(entry, str)]
        script = tmp_path / "runcmd.sh"
        script.write_text("#!/bin/sh\n" + "".join(f"{line}\n" for line in lines))
        result = subprocess.run(
            [require_tool("shellcheck"), "-s", "sh", str(script)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout
