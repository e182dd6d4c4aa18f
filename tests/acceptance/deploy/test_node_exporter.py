"""The real node_exporter serves the audit's gauges: Debian's prometheus-node-exporter,
started here on a free loopback port with only its textfile collector, reading the file
`rke2image audit --textfile` wrote, scraped over HTTP; stopped by its pid."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from acceptance.deploy.roots import audit, break_live, compliant_root
from helpers import REPO

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SOURCE_DATE_EPOCH = "1795665600"  # 2026-11-26T00:00:00Z: the audit's timestamp, fixed


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def node_exporter(
    require_tool: Callable[[str], str], tmp_path: Path
) -> Iterator[Callable[[Path], str]]:
    """Start node_exporter on a textfile folder; returns a function that scrapes it."""
    binary = require_tool("prometheus-node-exporter")
    started: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "node_exporter.log").open("wb")

    def start(folder: Path) -> str:
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                f"--web.listen-address=127.0.0.1:{port}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={folder}",
                "--web.disable-exporter-metrics",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(200):  # up to ~20 s for it to listen; a dead process fails at once
            assert process.poll() is None, (tmp_path / "node_exporter.log").read_text()
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return str(response.read().decode("utf-8"))
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError(f"node_exporter never answered on {url}")

    yield start
    for process in started:  # stop it by its own pid, never by name
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


def _samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    samples = {}
    for line in exposition.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = frozenset(LABEL.findall(match["labels"] or ""))
            samples[match["name"], labels] = float(match["value"])
    return samples


def test_node_exporter_serves_the_audits_values(
    tmp_path: Path, node_exporter: Callable[[Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = compliant_root(tmp_path)
    break_live(root)  # kernel.panic = 0 now: verdict wrong
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
    audited = audit(root, "--format", "json", "--textfile", str(textfiles / "rke2image.prom"))
    assert audited.returncode == 1, audited.stderr
    report = json.loads(audited.stdout)
    assert [p.name for p in textfiles.iterdir()] == ["rke2image.prom"]  # no temp file left

    served = _samples(node_exporter(textfiles))

    def gauge(name: str, **labels: str) -> float:
        return served[name, frozenset(labels.items())]

    # node_exporter read the file without error, and serves every parameter's gauges
    assert gauge("node_textfile_scrape_error") == 0
    for parameter in report["parameters"]:
        key = parameter["key"]
        assert gauge("rke2image_sysctl_compliant", key=key, verdict=parameter["verdict"]) == (
            1 if parameter["verdict"] == "ok" else 0
        )
        assert gauge("rke2image_sysctl_live_value", key=key) == float(parameter["live"])
        assert gauge("rke2image_sysctl_expected_value", key=key) == float(parameter["expected"])
        for source in ("systemd", "procps"):
            right = parameter["next_boot"][source]["value"] == parameter["expected"]
            assert gauge("rke2image_sysctl_next_boot_compliant", key=key, source=source) == right
    assert gauge("rke2image_sysctl_compliant", key="kernel.panic", verdict="wrong") == 0
    assert gauge("rke2image_sysctl_live_value", key="kernel.panic") == 0
    assert gauge("rke2image_protect_kernel_defaults") == 1
    summary = report["summary"]
    for severity in ("error", "warning", "info"):
        assert (
            gauge("rke2image_audit_findings", severity=severity)
            == summary[{"error": "errors", "warning": "warnings", "info": "info"}[severity]]
        )
    assert gauge("rke2image_audit_last_run_timestamp_seconds") == float(SOURCE_DATE_EPOCH)
    assert gauge("rke2image_node_info", node=report["node"]["name"], role="server") == 1
    assert report["node"]["name"] == "cp-1"


def test_a_textfile_node_exporter_cannot_parse_fires_the_alert(
    tmp_path: Path,
    node_exporter: Callable[[Path], str],
    require_tool: Callable[[str], str],
) -> None:
    """A damaged file beside the audit's: the real node_exporter sets its
    node_textfile_scrape_error, and the rule's expression over what it served names the node
    (from the audit's rke2image_node_info)."""
    promtool = require_tool("promtool")
    root = compliant_root(tmp_path)
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    audited = audit(root, "--format", "json", "--textfile", str(textfiles / "rke2image.prom"))
    assert audited.returncode == 0, audited.stderr
    (textfiles / "other.prom").write_text("not a metric line {\n", encoding="utf-8")

    served = node_exporter(textfiles)
    series = [
        _input_series(line, 'job="node",instance="n:9847"')
        for line in served.splitlines()
        if line.startswith(("node_textfile_scrape_error", "rke2image_node_info"))
    ]
    assert {s["series"].split("{")[0]: s["values"] for s in series} == {
        "node_textfile_scrape_error": "1x10",
        "rke2image_node_info": "1x10",
    }
    rules = REPO / "deploy" / "prometheus" / "rke2image-rules.yaml"
    unit = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "alertname": "RKE2ImageTextfileScrapeError",
                        "eval_time": "5m",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "job": "node",
                                    "instance": "n:9847",
                                    "node": "cp-1",
                                },
                                "exp_annotations": {
                                    "summary": "cp-1: node_exporter at n:9847 cannot read a "
                                    "textfile",
                                    "description": "node_exporter at n:9847 reports a textfile "
                                    "scrape error, so the audit's gauges of cp-1 are not served. "
                                    "Its log names the file and the error.",
                                    "runbook_url": "https://github.com/rke2image/rke2image/blob/"
                                    "main/README.md#rke2imagetextfilescrapeerror",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "scrape-error-test.yaml"
    test_file.write_text(yaml.safe_dump(unit), encoding="utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _input_series(sample: str, target: str) -> dict[str, str]:
    """A served sample as a promtool input series of the scrape target, held 10 minutes."""
    name_labels, value = sample.rsplit(" ", 1)
    name, _, labels = name_labels.partition("{")
    inner = f"{target},{labels}" if labels else f"{target}}}"
    return {"series": f"{name}{{{inner}", "values": f"{value}x10"}
