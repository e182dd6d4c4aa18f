"""Nodes rke2image did not build are first-class: judged on their kernel values,
protection, accounts, swap and logs alone, with no false alarm and no alert."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from acceptance.audit.roots import build_root, foreign_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, no_journal, rules
from helpers import REPO, promtool_series
from rke2image.spec.model import NodeSpec

RULES = REPO / "deploy" / "prometheus" / "rke2image-rules.yaml"
KUBELET_LOG = "var/lib/rancher/rke2/agent/logs/kubelet.log"
REFUSAL = (
    'E1126 03:02:01.123456    2211 kubelet.go:1649] "Failed to start ContainerManager" '
    'err="[invalid kernel flag: kernel/panic, expected value: 10, actual value: 0]"\n'
)


@pytest.mark.parametrize("distro", ["ubuntu-22.04", "rhel-9", "debian-12"])
def test_a_compliant_foreign_node_exits_0_with_no_finding(
    distro: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path, distro)
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert (code, report["findings"]) == (0, [])
    assert report["managed"] is False
    assert report["protection"]["on"] is True
    assert report["node"] == {"name": f"{distro}-node", "role": "server"}


def test_a_foreign_node_with_a_wrong_value_is_judged_on_the_value_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path)
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert code == 1
    assert [r for r in rules(report)] == [("error", "live-value-wrong", None, None)]
    assert {f["rule"] for f in report["findings"]}.isdisjoint(
        {"dropin-missing", "preflight-missing", "sysctl-file-missing"}
    )


def test_any_rke2image_file_or_a_spec_brings_its_own_checks_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path)
    live = proc_sys(tmp_path, REQUIRED)
    # rke2image's sysctl file alone is what `rke2image fix` writes on any node: still foreign
    (root / "etc/sysctl.d/90-kubelet.conf").rename(root / "etc/sysctl.d/99-zz-rke2image.conf")
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert (code, report["managed"], report["findings"]) == (0, False, [])
    (root / "etc/sysctl.d/99-zz-rke2image.conf").unlink()
    put(root, "etc/modules-load.d/rke2image.conf", "overlay\nbr_netfilter\n")
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert report["managed"] is True and code == 1
    assert {"dropin-missing", "sysctl-file-missing"} <= {f["rule"] for f in report["findings"]}
    (root / "etc/modules-load.d/rke2image.conf").unlink()
    spec = REPO / "examples" / "node.yaml"
    _, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live), "--spec", str(spec))
    assert report["managed"] is True
    assert "dropin-missing" in {f["rule"] for f in report["findings"]}


def test_history_alone_is_info_and_leaves_the_node_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path)
    put(root, KUBELET_LOG, REFUSAL)
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert code == 0 and report["summary"]["compliant"] is True
    assert rules(report) == [("info", "kubelet-invalid-kernel-flag", f"/{KUBELET_LOG}", 1)]


def test_the_protected_node_alert_stays_quiet_for_foreign_and_history_only_nodes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], require_tool: Callable[[str], str]
) -> None:
    """promtool on the gauges real audits write: a compliant foreign node and one whose
    only findings are history fire nothing; a protected node with an error does."""
    promtool = require_tool("promtool")
    series = []
    for name, history, panic in (
        ("foreign", False, "10"),
        ("history", True, "10"),
        ("bad", False, "0"),
    ):
        root = foreign_root(tmp_path / name)
        if history:
            put(root, KUBELET_LOG, REFUSAL)
        live = proc_sys(tmp_path / name, {**REQUIRED, "kernel.panic": panic})
        code, out, _ = audit(
            capsys,
            *no_journal(root),
            "--proc-sys",
            str(live),
            "--node-name",
            name,
            "--format",
            "prometheus",
        )
        assert code == (1 if name == "bad" else 0)
        if history:
            assert 'rke2image_audit_findings{severity="info"} 1' in out
        series += promtool_series(out, name)
    unit = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "alertname": "RKE2ProtectedNodeHasFindings",
                        "eval_time": "10m",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "job": "node",
                                    "instance": "bad",
                                    "node": "bad",
                                },
                                "exp_annotations": {
                                    "summary": "bad: protect-kernel-defaults is on and the audit "
                                    "has findings",
                                    "description": "kubelet on bad runs with "
                                    "protect-kernel-defaults, so what `rke2image audit` reports "
                                    "there can keep RKE2 from starting. Run it on the node.",
                                    "runbook_url": "https://github.com/rke2image/rke2image/blob/"
                                    "main/README.md#rke2protectednodehasfindings",
                                },
                            }
                        ],
                    },
                    {"alertname": "RKE2KernelParamLatent", "eval_time": "20m", "exp_alerts": []},
                ],
            }
        ],
    }
    test_file = tmp_path / "foreign-test.yaml"
    test_file.write_text(yaml.safe_dump(unit), encoding="utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rke2image_built_nodes_keep_their_checks(
    tmp_path: Path, make_node: Callable[..., NodeSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    install_node(root, make_node(sysctl={}))
    (root / "etc/sysctl.d/99-zz-rke2image.conf").unlink()
    _, report = audit_json(capsys, *no_journal(root))
    assert report["managed"] is True
    assert ("warning", "sysctl-file-missing", "/etc/sysctl.d/99-zz-rke2image.conf", None) in rules(
        report
    )


def test_node_name_flag_then_hostname_then_rke2_node_name_then_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image root is never reported under the auditing machine's host name."""
    root = foreign_root(tmp_path)
    args = (*no_journal(root), "--role", "server")
    assert audit_json(capsys, *args)[1]["node"]["name"] == "ubuntu-22.04-node"
    (root / "etc/hostname").unlink()
    assert audit_json(capsys, *args)[1]["node"]["name"] == "unknown"
    put(root, "etc/rancher/rke2/config.yaml.d/10-name.yaml", "node-name: cp-7\n")
    assert audit_json(capsys, *args)[1]["node"]["name"] == "cp-7"
    assert audit_json(capsys, *args, "--node-name", "cp-9")[1]["node"]["name"] == "cp-9"


def test_a_node_hardened_by_rke2s_own_guide_is_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RKE2's CIS hardening guide copies rke2-cis-sysctl.conf (rancher/rke2
    bundle/share/rke2/rke2-cis-sysctl.conf, v1.33.13+rke2r1) to /etc/sysctl.d/60-rke2-cis.conf;
    the kernel's defaults cover the two kernel.keys values it lacks."""
    root = foreign_root(tmp_path, "rhel-9")
    (root / "etc/sysctl.d/90-kubelet.conf").unlink()
    cis = "vm.panic_on_oom=0\nvm.overcommit_memory=1\nkernel.panic=10\nkernel.panic_on_oops=1\n"
    put(root, "usr/share/rke2/rke2-cis-sysctl.conf", cis)
    put(root, "etc/sysctl.d/60-rke2-cis.conf", cis)
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert (code, report["findings"], report["managed"]) == (0, [], False)
    panic = report["parameters"][2]["next_boot"]["systemd"]
    assert (panic["file"], panic["line"]) == ("/etc/sysctl.d/60-rke2-cis.conf", 3)
