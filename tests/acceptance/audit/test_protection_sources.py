"""Protection from every place RKE2 reads it, each named as the source, and the unit's
ExecStartPre= read as systemd merges it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acceptance.audit.roots import build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit_json, no_journal, rules
from rke2image.spec.model import NodeSpec

# rancher/rke2 bundle/lib/systemd/system/rke2-server.service at v1.33.13+rke2r1, [Service]
# trimmed to what the audit reads; PREFIX is /usr/local in the tarball.
UNIT = """\
[Unit]
Description=Rancher Kubernetes Engine v2 (server)

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-PREFIX/lib/systemd/system/%N.env
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=PREFIX/bin/rke2 server
"""
# Where each install method puts the unit (install.sh moves the /opt/rke2 units to
# /etc/systemd/system; the RPM's spec rewrites /usr/local/lib/systemd/system to %{_unitdir}).
INSTALLS = {
    "tarball": ("/usr/local", "usr/local/lib/systemd/system"),
    "opt-rke2": ("/opt/rke2", "etc/systemd/system"),
    "rpm": ("/usr", "usr/lib/systemd/system"),
}


def protection(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Any]:
    _, report = audit_json(capsys, *no_journal(root), "--role", "server")
    result: dict[str, Any] = report["protection"]
    return result


def sources(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, int, str]]:
    return [(s["file"], s["line"], s["setting"]) for s in protection(capsys, root)["sources"]]


@pytest.mark.parametrize("name", ["50-cis.yml", "50-cis.YAML", "50-cis.yaml"])
def test_config_dropins_ending_in_yml_or_yaml_in_any_case(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, f"etc/rancher/rke2/config.yaml.d/{name}", "# hardening\nprofile: cis\n")
    put(root, "etc/rancher/rke2/config.yaml.d/60-ignored.txt", "protect-kernel-defaults: true\n")
    (root / "etc/rancher/rke2/config.yaml.d/70-folder.yaml").mkdir()
    assert sources(capsys, root) == [(f"/etc/rancher/rke2/config.yaml.d/{name}", 2, "profile: cis")]


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_the_env_file_of_each_install_method(
    install: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix, unit_dir = INSTALLS[install]
    root = build_root(tmp_path, "rhel-9")
    put(root, f"{unit_dir}/rke2-server.service", UNIT.replace("PREFIX", prefix))
    env = f"{prefix}/lib/systemd/system/rke2-server.env"
    put(root, env.lstrip("/"), "HOME=/root\nRKE2_CIS_PROFILE=cis\n")
    assert sources(capsys, root) == [(env, 2, "RKE2_CIS_PROFILE=cis")]


def test_environment_in_a_systemctl_edit_override_and_its_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-24.04")
    put(
        root,
        "usr/local/lib/systemd/system/rke2-server.service",
        UNIT.replace("PREFIX", "/usr/local"),
    )
    override = "etc/systemd/system/rke2-server.service.d/override.conf"
    put(root, override, '[Service]\nEnvironment="RKE2_CIS_PROFILE=cis" HOME=/root\n')
    assert sources(capsys, root) == [(f"/{override}", 2, "RKE2_CIS_PROFILE=cis")]
    put(root, "etc/systemd/system/rke2-server.service.d/zz-reset.conf", "[Service]\nEnvironment=\n")
    assert sources(capsys, root) == []
    # an EnvironmentFile= value beats Environment=, whatever their order
    put(root, "etc/default/rke2-server", "RKE2_CIS_PROFILE=etcd\n")
    put(root, override, "[Service]\nEnvironment=RKE2_CIS_PROFILE=cis\n")
    (root / "etc/systemd/system/rke2-server.service.d/zz-reset.conf").unlink()
    assert protection(capsys, root)["profile"] == "etcd"


def test_rke2_config_file_names_another_config_and_its_dropins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/default/rke2-server", "RKE2_CONFIG_FILE=/srv/rke2/main.yaml\n")
    put(root, "etc/rancher/rke2/config.yaml", "profile: cis\n")  # not read any more
    put(root, "srv/rke2/main.yaml", "node-label: [a=b]\n")
    put(root, "srv/rke2/main.yaml.d/10-k.yaml", "kubelet-arg:\n- protect-kernel-defaults=true\n")
    assert sources(capsys, root) == [
        ("/srv/rke2/main.yaml.d/10-k.yaml", 1, "kubelet-arg: protect-kernel-defaults=true")
    ]


def test_the_kubelet_config_rke2_generates_last_file_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-22.04")
    conf_d = "var/lib/rancher/rke2/agent/etc/kubelet.conf.d"
    defaults = (
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "failSwapOn: false\nprotectKernelDefaults: true\nreadOnlyPort: 0\n"
    )
    put(root, f"{conf_d}/00-rke2-defaults.conf", defaults)
    assert sources(capsys, root) == [
        (f"/{conf_d}/00-rke2-defaults.conf", 4, "protectKernelDefaults: true")
    ]
    put(root, f"{conf_d}/20-cli-config-dir/50-off.conf", "protectKernelDefaults: false\n")
    assert sources(capsys, root) == []


@pytest.mark.parametrize(
    ("words", "remediated"),
    [("--mode remediate", True), ("--mode=enforce", False), ("--mode enforce", False)],
)
def test_the_preflight_mode_of_the_drop_in(
    words: str,
    remediated: bool,
    tmp_path: Path,
    make_node: Callable[..., NodeSpec],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only a remediating preflight holds a latent value until RKE2 starts: with enforce
    (either spelling) a latent value on a protected node is an error."""
    root = build_root(tmp_path, "debian-12")
    install_node(root, make_node(sysctl={}))
    dropin = root / "etc/systemd/system/rke2-server.service.d/10-rke2image-preflight.conf"
    dropin.write_text(dropin.read_text().replace("--mode remediate", words))
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic = 0\n")
    live = proc_sys(tmp_path, REQUIRED)
    _, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    severity = "warning" if remediated else "error"
    assert (severity, "latent-value", "/etc/sysctl.d/99-zzzz-undo.conf", 1) in rules(report)


def test_a_later_empty_exec_start_pre_drops_the_preflight(
    tmp_path: Path, make_node: Callable[..., NodeSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, make_node(sysctl={}))
    reset = "etc/systemd/system/rke2-server.service.d/override.conf"
    put(root, reset, "[Service]\nExecStartPre=\nExecStartPre=-/sbin/modprobe overlay\n")
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic = 0\n")
    live = proc_sys(tmp_path, REQUIRED)
    _, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert ("warning", "preflight-missing", f"/{reset}", 2) in rules(report)
    # nothing re-applies the value before RKE2 starts any more
    assert ("error", "latent-value", "/etc/sysctl.d/99-zzzz-undo.conf", 1) in rules(report)


def test_flags_on_the_command_line_of_an_exec_start_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An override that replaces ExecStart= (rancher/rke2#3378 shows the pattern): its flags
    come after the config file's, so they win; --config names the config file."""
    root = build_root(tmp_path, "ubuntu-24.04")
    put(
        root,
        "usr/local/lib/systemd/system/rke2-server.service",
        UNIT.replace("PREFIX", "/usr/local"),
    )
    override = "etc/systemd/system/rke2-server.service.d/override.conf"
    put(
        root,
        override,
        "[Service]\nExecStart=\nExecStart=/usr/local/bin/rke2 server --profile cis \\\n"
        "  --kubelet-arg=max-pods=250\n",
    )
    put(root, "etc/rancher/rke2/config.yaml", "profile: etcd\n")
    assert sources(capsys, root) == [(f"/{override}", 3, "ExecStart= --profile=cis")]
    put(
        root,
        override,
        "[Service]\nExecStart=\nExecStart=/usr/local/bin/rke2 server -c /srv/rke2.yaml "
        "--kubelet-arg protect-kernel-defaults=true\n",
    )
    put(root, "srv/rke2.yaml", "profile: etcd\n")
    assert protection(capsys, root)["profile"] == "etcd"
    assert sources(capsys, root) == [
        (f"/{override}", 3, "kubelet-arg: protect-kernel-defaults=true")
    ]
