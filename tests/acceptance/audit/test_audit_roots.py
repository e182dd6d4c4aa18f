"""`rke2image audit` on roots shaped like real hosts: the acceptance cases of the audit issue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.audit.roots import DISTROS, build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, param, rules
from helpers import REPO
from rke2image.spec.model import NodeSpec


@pytest.fixture
def node(make_node: Callable[..., NodeSpec]) -> NodeSpec:
    return make_node(sysctl={})


@pytest.mark.parametrize("distro", sorted(DISTROS))
def test_a_clean_root_exits_0_with_no_finding(
    distro: str, tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, distro)
    install_node(root, node)
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert (code, report["findings"]) == (0, [])
    assert report["summary"] == {"errors": 0, "warnings": 0, "info": 0, "compliant": True}
    assert {p["verdict"] for p in report["parameters"]} == {"ok"}
    assert report["node"] == {"name": f"{distro}-node", "role": "server"}
    assert report["schema"] == "rke2image.audit/v1" and report["live"] is True


def test_ubuntu_later_file_and_sysctl_conf_name_both_files_and_who_wins(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-22.04")
    install_node(root, node)
    put(root, "etc/sysctl.d/99-zzzz-local.conf", "# local tuning\nkernel.panic_on_oops = 0\n")
    put(
        root,
        "etc/sysctl.conf",
        (root / "etc/sysctl.conf").read_text() + "vm.overcommit_memory = 0\n",
    )
    conf_line = len((root / "etc/sysctl.conf").read_text().splitlines())
    code, out, _ = audit(capsys, "--root", str(root))
    assert code == 1
    assert (
        "/etc/sysctl.d/99-zzzz-local.conf:2: error: kernel.panic_on_oops = 0 at boot, "
        "kubelet requires 1"
    ) in out
    assert (
        f"/etc/sysctl.conf:{conf_line}: warning: vm.overcommit_memory = 0: `sysctl --system`" in out
    )
    code, report = audit_json(capsys, "--root", str(root))
    oops = param(report, "kernel.panic_on_oops")["next_boot"]
    assert oops["systemd"]["file"] == oops["procps"]["file"] == "/etc/sysctl.d/99-zzzz-local.conf"
    assert oops["systemd"]["overrides"] == [
        {
            "source": "sysctl.d",
            "file": "/etc/sysctl.d/99-zz-rke2image.conf",
            "line": 8,
            "value": "1",
        }
    ]
    over = param(report, "vm.overcommit_memory")["next_boot"]
    # systemd-sysctl reads /etc/sysctl.conf through 99-sysctl.conf, before 99-zz-rke2image.conf
    assert (over["systemd"]["value"], over["systemd"]["file"]) == (
        "1",
        "/etc/sysctl.d/99-zz-rke2image.conf",
    )
    assert over["systemd"]["overrides"] == [
        {
            "source": "sysctl.d",
            "file": "/etc/sysctl.d/99-sysctl.conf",
            "line": conf_line,
            "value": "0",
        }
    ]
    # procps applies /etc/sysctl.conf again, last: there it wins
    assert (over["procps"]["value"], over["procps"]["file"], over["procps"]["line"]) == (
        "0",
        "/etc/sysctl.conf",
        conf_line,
    )
    assert param(report, "kernel.panic_on_oops")["verdict"] == "wrong"


def test_rhel_protection_from_sysconfig_alone_is_reported_with_its_file(
    tmp_path: Path, make_node: Callable[..., NodeSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "rhel-9")
    install_node(root, make_node(profile="none", sysctl={}))
    put(root, "etc/sysconfig/rke2-server", "# RKE2\nRKE2_CIS_PROFILE=cis\n")
    code, report = audit_json(capsys, "--root", str(root))
    assert report["protection"]["on"] is True
    assert report["protection"]["sources"] == [
        {"file": "/etc/sysconfig/rke2-server", "line": 2, "setting": "RKE2_CIS_PROFILE=cis"}
    ]
    # cis needs the etcd account on servers, which install_node did not create here
    assert ("error", "etcd-user-missing", "/etc/passwd", None) in rules(report)
    assert code == 1


def test_protection_sources_config_dropins_and_kubelet_arg(
    tmp_path: Path, make_node: Callable[..., NodeSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(
        root,
        make_node(
            profile="none", sysctl={}, role="agent", cluster_init=False, server="https://cp:9345"
        ),
    )
    put(root, "etc/rancher/rke2/config.yaml.d/10-a.yaml", "kubelet-arg:\n- fail-swap-on=true\n")
    put(
        root,
        "etc/rancher/rke2/config.yaml.d/20-b.yaml",
        "kubelet-arg+:\n  - protect-kernel-defaults=true\n",
    )
    code, report = audit_json(capsys, "--root", str(root))
    assert report["node"]["role"] == "agent"
    assert report["protection"]["sources"] == [
        {
            "file": "/etc/rancher/rke2/config.yaml.d/20-b.yaml",
            "line": 1,
            "setting": "kubelet-arg: protect-kernel-defaults=true",
        }
    ]
    assert code == 0


def test_profile_cis_with_protection_false_is_the_rke2_refusal(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-24.04")
    install_node(root, node)
    put(root, "etc/rancher/rke2/config.yaml.d/50-x.yaml", "protect-kernel-defaults: false\n")
    code, report = audit_json(capsys, "--root", str(root))
    assert (
        "error",
        "cis-protection-false",
        "/etc/rancher/rke2/config.yaml.d/50-x.yaml",
        1,
    ) in rules(report)
    assert code == 1


def test_live_verdicts_ok_wrong_latent_unpersisted(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, node)
    # nothing persists vm.panic_on_oom any more; a later file undoes kernel.panic
    ours = root / "etc/sysctl.d/99-zz-rke2image.conf"
    ours.write_text(ours.read_text().replace("vm.panic_on_oom = 0\n", ""))
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic = 0\n")
    live = proc_sys(
        tmp_path,
        {
            **REQUIRED,
            "vm.overcommit_memory": "0",
            "vm.panic_on_oom": "0",
            "kernel.keys.root_maxkeys": "1000000",
        },
    )
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    verdicts = {p["key"]: p["verdict"] for p in report["parameters"]}
    assert verdicts == {
        "vm.overcommit_memory": "wrong",
        "vm.panic_on_oom": "ok",
        "kernel.panic": "latent",
        "kernel.panic_on_oops": "ok",
        "kernel.keys.root_maxkeys": "ok",
        "kernel.keys.root_maxbytes": "ok",
    }
    assert param(report, "vm.overcommit_memory")["fix"] == "sysctl -w vm.overcommit_memory=1"
    latent = param(report, "kernel.panic")
    assert latent["fix"] == (
        "edit /etc/sysctl.d/99-zzzz-undo.conf:1 to kernel.panic = 10 (or remove the line)"
    )
    # the rendered preflight (remediate) re-applies it before RKE2 starts: a warning
    assert ("warning", "latent-value", "/etc/sysctl.d/99-zzzz-undo.conf", 1) in rules(report)
    assert code == 1
    # without the preflight, a latent value on a protected node is an error
    (root / "usr/local/libexec/rke2image/preflight").unlink()
    _, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert ("error", "latent-value", "/etc/sysctl.d/99-zzzz-undo.conf", 1) in rules(report)
    # the kernel starts kernel.panic_on_oops at 0: live 1 with nothing persisting it
    ours.write_text(ours.read_text().replace("kernel.panic_on_oops = 1\n", ""))
    _, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert param(report, "kernel.panic_on_oops")["verdict"] == "unpersisted"
    assert param(report, "kernel.panic_on_oops")["fix"] == (
        "add kernel.panic_on_oops = 1 to /etc/sysctl.d/99-zz-rke2image.conf"
    )


def test_protection_off_makes_wrong_values_warnings_that_say_why(
    tmp_path: Path, make_node: Callable[..., NodeSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-22.04")
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    code, out, _ = audit(capsys, "--root", str(root), "--proc-sys", str(live), "--role", "agent")
    assert code == 1
    line = next(x for x in out.splitlines() if "[live-value-wrong]" in x)
    assert line.startswith(
        "warning: invalid kernel flag: kernel/panic, expected value: 10, actual value: 0"
    )
    assert "kubelet rewrites it; switching protection on will stop the node" in line
    assert (
        "fix: sysctl -w kernel.panic=10; add kernel.panic = 10 to "
        "/etc/sysctl.d/99-zz-rke2image.conf" in line
    )
    assert "systemd-sysctl" not in line.split("fix:")[1]  # never "restart systemd-sysctl"


def test_an_image_root_gets_the_next_boot_verdict_alone(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "rocky-9")
    code, report = audit_json(capsys, "--root", str(root), "--role", "server")
    assert report["live"] is False
    assert {p["key"]: p["verdict"] for p in report["parameters"]} == {
        "vm.overcommit_memory": "unpersisted",
        "vm.panic_on_oom": "ok",
        "kernel.panic": "unpersisted",
        "kernel.panic_on_oops": "unpersisted",
        "kernel.keys.root_maxkeys": "ok",
        "kernel.keys.root_maxbytes": "ok",
    }
    assert all(p["live"] is None for p in report["parameters"])
    assert code == 1


def test_spec_keys_are_checked_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = REPO / "examples" / "node.yaml"
    root = build_root(tmp_path, "ubuntu-22.04")
    code, report = audit_json(capsys, "--root", str(root), "--spec", str(spec))
    own = [p for p in report["parameters"] if not p["required"]]
    assert own and all(p["verdict"] == "unpersisted" for p in own)
    assert report["node"]["role"] == "server"
    assert code == 1


def test_drop_in_without_an_executable_preflight_is_an_error(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, node)
    (root / "usr/local/libexec/rke2image/preflight").chmod(0o644)
    _, report = audit_json(capsys, "--root", str(root))
    assert ("error", "preflight-missing", "/usr/local/libexec/rke2image/preflight", None) in rules(
        report
    )


def test_swap_matters_only_with_fail_swap_on_true(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, node)
    live = proc_sys(tmp_path, REQUIRED)
    (tmp_path / "proc/swaps").write_text(
        "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n"
    )
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 0
    put(root, "etc/rancher/rke2/config.yaml.d/swap.yaml", "kubelet-arg: [fail-swap-on=true]\n")
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert ("error", "swap-on", None, None) in rules(report)
    assert code == 1


def test_usage_and_io_errors_exit_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(capsys, "--root", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert err == f"rke2image: error: {tmp_path / 'nope'}: the root is not a folder (--root)\n"
    code, out, err = audit(capsys, "--root", str(tmp_path), "--proc-sys", str(tmp_path / "x"))
    assert code == 2 and err.count("\n") == 1


def test_no_fix_ever_restarts_systemd_sysctl_and_live_fixes_use_sysctl_w(
    tmp_path: Path, node: NodeSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    """Restarting systemd-sysctl re-applies every file and resets what the CNI set
    (rancher/rke2#2021): a fix names `sysctl -w KEY=VALUE` and the file to change."""
    root = build_root(tmp_path, "rhel-9")
    install_node(root, node)
    put(root, "etc/sysctl.d/99-zzzz-a.conf", "kernel.panic = 0\nvm.panic_on_oom = 1\n")
    put(root, "etc/sysctl.conf", "vm.overcommit_memory = 0\n")
    (root / "etc/sysctl.d/99-zz-rke2image.conf").unlink()
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0", "kernel.panic_on_oops": "0"})
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    fixes = [f["fix"] for f in report["findings"] if f["fix"]]
    fixes += [p["fix"] for p in report["parameters"] if p["fix"]]
    assert len(fixes) >= 6
    for fix in fixes:
        assert "systemd-sysctl" not in fix and "--system" not in fix and "restart" not in fix
    for p in report["parameters"]:
        if p["verdict"] == "wrong":
            assert p["fix"].startswith(f"sysctl -w {p['key']}={p['expected']}")
    assert code == 1


def test_role_from_an_enabled_unit_and_a_broken_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "ubuntu-24.04")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "rke2-agent.service").symlink_to("/usr/local/lib/systemd/system/rke2-agent.service")
    put(root, "etc/rancher/rke2/config.yaml", "profile: cis\nnode-label: [a\n")
    code, report = audit_json(capsys, "--root", str(root))
    assert report["node"]["role"] == "agent"
    assert ("error", "rke2-config-invalid", "/etc/rancher/rke2/config.yaml", 3) in rules(report)
    assert code == 1


# Protection as Go reads it (rke2image.goflags, shared with the spec rules): any
# spelling kubelet or RKE2 reads as true turns it on; one they reject fails closed.
@pytest.mark.parametrize(
    ("setting", "on"),
    [
        ("kubelet-arg: [protect-kernel-defaults=1]", True),
        ("kubelet-arg: [--protect_kernel_defaults]", True),
        ("kubelet-arg: [protect-kernel-defaults=T]", True),
        ("kubelet-arg: [protect-kernel-defaults=0]", False),
        ("kubelet-arg: [protect-kernel-defaults=yes]", True),
        ("protect-kernel-defaults: 'True'", True),
        ("protect-kernel-defaults: 'false'", False),
    ],
)
def test_protection_reads_booleans_as_go_does(
    tmp_path: Path,
    make_node: Callable[..., NodeSpec],
    capsys: pytest.CaptureFixture[str],
    setting: str,
    on: bool,
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, make_node(profile="none", sysctl={}))
    put(root, "etc/rancher/rke2/config.yaml.d/50-protect.yaml", setting + "\n")
    _, report = audit_json(capsys, "--root", str(root))
    assert report["protection"]["on"] is on
