"""deploy/node-problem-detector/rke2image-kernel.json: a custom plugin monitor whose shape
node-problem-detector accepts, and whose command speaks NPD's plugin protocol.

The fields are those of NPD's config structs (kubernetes/node-problem-detector,
pkg/custompluginmonitor/types/config.go CustomPluginConfig and pluginGlobalConfig,
types.go CustomRule, pkg/types/types.go Condition; docs/custom_plugin_monitor.md), and
the checks are those of its ApplyConfiguration/Validate. The protocol
(pkg/custompluginmonitor/plugin/plugin.go): exit 0 OK, 1 NonOK, 2 Unknown; stdout, trimmed
and cut at max_output_length, is the condition's message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from acceptance.deploy.roots import break_live, break_next_boot, compliant_root, proc_sys
from helpers import REPO

CONFIG_PATH = REPO / "deploy" / "node-problem-detector" / "rke2image-kernel.json"
CONFIG = json.loads(CONFIG_PATH.read_text(encoding="utf-8"))

TOP_FIELDS = {"plugin", "pluginConfig", "source", "conditions", "rules", "metricsReporting"}
PLUGIN_CONFIG_FIELDS = {
    "invoke_interval",
    "timeout",
    "max_output_length",
    "concurrency",
    "enable_message_change_based_condition_update",
    "skip_initial_status",
}
RULE_FIELDS = {"type", "condition", "reason", "path", "args", "timeout", "invoke_interval"}
CONDITION_FIELDS = {"type", "status", "transition", "reason", "message"}
# Go's time.ParseDuration, for the units a config uses
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
PROTOCOL_LINE = 80  # NPD's default max_output_length; the audit's npd line fits in it


def _seconds(duration: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(
        float(n) * units[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    )


def test_only_fields_npd_reads() -> None:
    assert set(CONFIG) <= TOP_FIELDS
    assert set(CONFIG["pluginConfig"]) <= PLUGIN_CONFIG_FIELDS
    for rule in CONFIG["rules"]:
        assert set(rule) <= RULE_FIELDS
    for condition in CONFIG["conditions"]:
        assert set(condition) <= CONDITION_FIELDS


def test_what_npd_validates_at_start() -> None:
    global_config = CONFIG["pluginConfig"]
    assert CONFIG["plugin"] == "custom"  # the only plugin NPD supports
    assert isinstance(CONFIG["source"], str) and CONFIG["source"]
    for field in ("invoke_interval", "timeout"):
        assert GO_DURATION.match(global_config[field]), field
    assert _seconds(global_config["invoke_interval"]) > 0
    conditions = {c["type"] for c in CONFIG["conditions"]}
    for rule in CONFIG["rules"]:
        assert GO_DURATION.match(rule["timeout"])
        assert _seconds(rule["timeout"]) <= _seconds(global_config["timeout"])
        assert rule["type"] in {"temporary", "permanent"}
        if rule["type"] == "permanent":
            assert rule["condition"] in conditions  # "does not have preset default condition"
        assert Path(rule["path"]).is_absolute()
        assert all(isinstance(arg, str) for arg in rule["args"])


def test_one_permanent_rule_sets_the_kernel_params_condition() -> None:
    (rule,) = CONFIG["rules"]
    (condition,) = CONFIG["conditions"]
    # NPD sets a condition True when the plugin exits NonOK: the type names the problem,
    # so `kubectl describe node` reads KernelParamsNonCompliant True on a broken node.
    assert condition == {
        "type": "KernelParamsNonCompliant",
        "reason": "KernelParamsCompliant",
        "message": "the kernel parameters kubelet's protect-kernel-defaults requires are in "
        "force and persisted",
    }
    assert (rule["type"], rule["condition"], rule["reason"]) == (
        "permanent",
        "KernelParamsNonCompliant",
        "KernelParamsWrong",
    )
    assert CONFIG["pluginConfig"]["max_output_length"] == PROTOCOL_LINE


def _command(root: Path) -> list[str]:
    """The rule's command, word for word, but for two things: the rule's path is where NPD's
    host has rke2image (/usr/local/bin), here the venv's; and --root and --proc-sys name the
    fixture root instead of the host's."""
    (rule,) = CONFIG["rules"]
    assert Path(rule["path"]).name == "rke2image"
    args = list(rule["args"])
    args[args.index("--root") + 1] = str(root)
    args[args.index("--proc-sys") + 1] = str(proc_sys(root))
    return [str(Path(sys.executable).with_name("rke2image")), *args]


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    (rule,) = CONFIG["rules"]
    return subprocess.run(
        _command(root),
        capture_output=True,
        text=True,
        check=False,
        timeout=_seconds(rule["timeout"]),
    )


def _assert_one_line(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    assert 0 < len(lines[0]) <= PROTOCOL_LINE, lines[0]
    return lines[0]


def test_a_compliant_node_is_ok(tmp_path: Path) -> None:
    result = _run(compliant_root(tmp_path))
    assert result.returncode == 0
    _assert_one_line(result.stdout)


@pytest.mark.parametrize(
    ("breaks", "key"), [(break_live, "kernel.panic"), (break_next_boot, "kernel.panic_on_oops")]
)
def test_a_wrong_or_latent_value_is_non_ok_and_named(
    tmp_path: Path, breaks: object, key: str
) -> None:
    root = compliant_root(tmp_path)
    breaks(root)  # type: ignore[operator]
    result = _run(root)
    assert result.returncode == 1
    assert key in _assert_one_line(result.stdout)


def test_a_root_that_cannot_be_read_is_unknown(tmp_path: Path) -> None:
    # Unknown; the audit prints nothing on stdout on an error (no partial output), so NPD's
    # condition message is empty and the reason is in NPD's log (it logs the plugin's stderr)
    result = _run(tmp_path / "no-such-root")
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert "no-such-root" in line
