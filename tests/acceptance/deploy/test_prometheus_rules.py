"""deploy/prometheus/rke2image-rules.yaml: promtool accepts it, every alert fires and
resolves in ``promtool test rules`` on synthetic series (prometheus/rules-test.yaml), and
the rules' expressions pick the odd server out of the gauges a real audit writes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from acceptance.deploy.roots import audit, break_live, compliant_root
from helpers import REPO, promtool_series

RULES = REPO / "deploy" / "prometheus" / "rke2image-rules.yaml"
UNIT_TESTS = Path(__file__).parent / "prometheus" / "rules-test.yaml"
# The alerts issue 11 asks for, by what they catch.
EXPECTED_ALERTS = {
    "RKE2KernelParamWrong": "critical",  # wrong live value: kubelet refuses on the next start
    "RKE2KernelParamLatent": "warning",  # right now, wrong after the next reboot
    "RKE2KernelParamUnreadable": "warning",  # a live value the audit cannot read
    "RKE2ProtectedNodeHasFindings": "warning",
    "RKE2ServerKernelParamDiffers": "warning",  # the odd master
    "RKE2ImageAuditNotRunning": "warning",  # no audit for an hour
    # issue 23: monitoring that fails loudly when the audit's series are not there
    "RKE2ImageTextfileScrapeError": "warning",  # node_exporter cannot parse a textfile
    "RKE2ImageAuditMetricsMissing": "warning",  # node_exporter up, no audit series
    "RKE2ImageAuditVanished": "warning",  # a node's audit series gone (absent, per node)
    "RKE2ImageAuditAbsent": "warning",  # no node reports at all
}
# Each alert's runbook is its section of the README, on GitHub (README "Alerts and runbooks").
RUNBOOKS = "https://github.com/rke2image/rke2image/blob/main/README.md#"
README = REPO / "README.md"


def _alerts() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_promtool_checks_the_rules(require_tool: Callable[[str], str]) -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in result.stdout


def test_the_rules_are_the_alerts_asked_for() -> None:
    alerts = _alerts()
    assert {name: rule["labels"]["severity"] for name, rule in alerts.items()} == EXPECTED_ALERTS
    # a wrong live value fires at once: kubelet refuses at its next start, there is no wait
    assert "for" not in alerts["RKE2KernelParamWrong"]


def test_every_alert_names_the_node_and_links_its_runbook() -> None:
    """An instance is a pod's address: each alert about one node carries the node label of
    rke2image_node_info; each runbook_url is a README heading named after the alert."""
    headings = {
        line[5:].strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("#### ")
    }
    fleet_wide = {"RKE2ImageAuditAbsent", "RKE2ImageAuditMetricsMissing"}
    for name, rule in _alerts().items():
        assert rule["annotations"]["runbook_url"] == RUNBOOKS + name.lower(), name
        assert name in headings, f"README has no '#### {name}' runbook"
        if name not in fleet_wide:
            assert "rke2image_node_info" in rule["expr"], name
            assert "{{ $labels.node }}" in rule["annotations"]["summary"] or (
                "with $labels.node" in rule["annotations"]["summary"]
            ), name


@pytest.mark.host_tools  # Debian 11's promtool 2.24 knows no test group `name`
def test_promtool_unit_tests_pass(require_tool: Callable[[str], str]) -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", str(UNIT_TESTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_resolving_case() -> None:
    cases = [
        case
        for test in yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))["tests"]
        for case in test["alert_rule_test"]
    ]
    for name in _alerts():
        times = sorted(
            (_minutes(c["eval_time"]), bool(c["exp_alerts"]))
            for c in cases
            if c["alertname"] == name
        )
        firing = [t for t, fires in times if fires]
        assert firing, f"{name}: no case where it fires"
        assert any(t > firing[0] and not fires for t, fires in times), (
            f"{name}: no case where it has resolved after firing"
        )


def _minutes(text: str) -> int:
    assert text.endswith("m"), f"eval_time {text!r}: write it in minutes"
    return int(text[:-1])


def test_the_rules_select_the_real_audits_gauges(
    require_tool: Callable[[str], str], tmp_path: Path
) -> None:
    """Three servers audited for real, cp-1 with kernel.panic = 0: the expressions of the
    rules pick out cp-1 from the gauges the audit really writes (names, labels, values)."""
    promtool = require_tool("promtool")
    series = []
    for name in ("cp-1", "cp-2", "cp-3"):
        root = compliant_root(tmp_path / name, hostname=name)
        if name == "cp-1":
            break_live(root)
        audited = audit(root, "--format", "prometheus")
        assert audited.returncode == (1 if name == "cp-1" else 0), audited.stderr
        series += promtool_series(audited.stdout, name)
    alerts = _alerts()
    cp1 = 'instance="cp-1",job="node",node="cp-1"'  # node: the audit's own node name
    expected = {
        "RKE2KernelParamWrong": [f'{{{cp1},key="kernel.panic",verdict="wrong"}}', 0],
        "RKE2ServerKernelParamDiffers": [f'{{{cp1},key="kernel.panic",role="server"}}', 0],
        "RKE2ProtectedNodeHasFindings": [f"{{{cp1}}}", 1],
    }
    unit = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": alerts[name]["expr"],
                        "eval_time": "1m",
                        "exp_samples": [{"labels": labels, "value": value}],
                    }
                    for name, (labels, value) in expected.items()
                ]
                + [
                    {
                        "expr": alerts["RKE2KernelParamLatent"]["expr"],
                        "eval_time": "1m",
                        "exp_samples": [],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "real-gauges-test.yaml"
    test_file.write_text(yaml.safe_dump(unit), encoding="utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
