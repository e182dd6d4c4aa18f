"""Suppressions: `# rke2image: ignore[RULE] REASON` on the line before a finding.

A suppressed finding is not printed (text, github), fails nothing, and is listed in
SARIF with its reason; a comment without a reason is an error; errors that protect
the node, or without which the file is not a usable spec, are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import REPO, split_header
from rke2image.cli.main import main
from rke2image.render import render_node
from rke2image.spec.catalog import BY_ID
from rke2image.spec.check import check_bytes

ROOT = REPO
INVALID = sorted((ROOT / "examples" / "invalid").glob("*.yaml"))

AGENT = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata:
  name: worker-1
spec:
  role: agent
{comment}  server: https://cp.example.com:6443
  rke2:
    version: v1.31.4+rke2r1
    token: {{file: /etc/rancher/rke2/token}}
"""
REASON = "the load balancer forwards 6443 to the supervisor port"


def agent(comment: str = "") -> str:
    return AGENT.format(comment=comment)


def validate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, *args: str
) -> tuple[int, str, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", *args, str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def rules(text: str) -> list[str]:
    return [p.rule for p in check_bytes(text.encode(), "spec.yaml").problems]


def test_without_a_comment_the_warning_fails_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert rules(agent()) == ["server-port"]
    assert validate(capsys, tmp_path, agent(), "--strict")[0] == 1


def test_a_reasoned_comment_suppresses_the_finding_everywhere_but_sarif(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = agent(f"  # rke2image: ignore[server-port] {REASON}\n")
    report = check_bytes(text.encode(), "spec.yaml")
    assert report.problems == [] and report.nodes
    (suppressed,) = report.suppressed
    assert (suppressed.problem.rule, suppressed.reason, suppressed.line) == (
        "server-port",
        REASON,
        7,
    )

    code, out, err = validate(capsys, tmp_path, text, "--strict")
    assert (code, out) == (0, "")
    assert "0 error(s), 0 warning(s), 1 suppressed" in err
    assert validate(capsys, tmp_path, text, "--strict", "--format", "github")[:2] == (0, "")
    assert validate(capsys, tmp_path, text, "--format", "json")[:2] == (0, "[]\n")

    code, out, _ = validate(capsys, tmp_path, text, "--strict", "--format", "sarif")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert code == 0 and result["ruleId"] == "server-port"
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["justification"] == REASON
    assert suppression["location"]["physicalLocation"]["region"]["startLine"] == 7


def test_a_comment_without_a_reason_is_an_error_and_suppresses_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for comment in ("# rke2image: ignore[server-port]", "# rke2image: ignore[server-port]   "):
        text = agent(f"  {comment}\n")
        assert rules(text) == ["ignore-without-reason", "server-port"]
        code, out, _ = validate(capsys, tmp_path, text)
        assert code == 1
        assert re.search(
            r"spec\.yaml:7:3: error: .*needs a reason.* \[ignore-without-reason\]$",
            out,
            re.MULTILINE,
        ), out


SERVER = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata: {{name: cp-1}}
spec:
  role: server
  clusterInit: true
  rke2:
    version: v1.31.4+rke2r1
    profile: cis
{token}  kernel:
    sysctl:
{sysctl}"""
FILE_TOKEN = "    token: {file: /etc/rancher/rke2/token}\n"
PROTECTED = {
    "secret-literal": SERVER.format(
        token="{comment}    token: K10-literal\n", sysctl="      fs.x: 1\n"
    ),
    "unsafe-sysctl-key": SERVER.format(token=FILE_TOKEN, sysctl='{comment}      "a b": 1\n'),
    "unsafe-sysctl-value": SERVER.format(
        token=FILE_TOKEN, sysctl="{comment}      fs.x: /etc/passwd\n"
    ),
    "required-sysctl": SERVER.format(token=FILE_TOKEN, sysctl="{comment}      kernel.panic: 0\n"),
}


@pytest.mark.parametrize("rule", sorted(PROTECTED))
def test_errors_that_protect_the_node_cannot_be_suppressed(
    rule: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = PROTECTED[rule]
    assert rules(template.replace("{comment}", "")) == [rule]
    text = template.replace("{comment}", f"      # rke2image: ignore[{rule}] trust me\n")
    found = check_bytes(text.encode(), "spec.yaml")
    assert found.suppressed == []
    assert sorted(p.rule for p in found.problems) == sorted(["ignore-not-allowed", rule])
    code, out, _ = validate(capsys, tmp_path, text)
    assert code == 1 and f"{rule} cannot be suppressed" in out


def test_a_required_sysctl_warning_can_be_suppressed_with_protection_off() -> None:
    text = (
        "apiVersion: rke2image/v1\nkind: NodeSpec\nmetadata: {name: cp-1}\n"
        "spec:\n  role: server\n  clusterInit: true\n"
        "  rke2: {version: v1.31.4+rke2r1, token: {file: /t}}\n"
        "  kernel:\n    sysctl:\n"
        "      # rke2image: ignore[required-sysctl] protection stays off on this lab node\n"
        "      kernel.panic: 0\n"
    )
    found = check_bytes(text.encode(), "spec.yaml")
    assert found.problems == []
    assert [s.problem.severity for s in found.suppressed] == ["warning"]


def test_stacked_and_listed_rules_each_need_a_finding() -> None:
    stacked = agent(
        "  # rke2image: ignore[server-port] one\n  # rke2image: ignore[server-missing] two\n"
    )
    assert rules(stacked) == ["ignore-unused"]  # server-port suppressed, server-missing unused
    listed = agent("  # rke2image: ignore[server-port, cluster-init-agent] three\n")
    assert rules(listed) == ["ignore-unused"]
    assert len(check_bytes(listed.encode(), "x").suppressed) == 1


def test_a_comment_above_another_line_does_not_apply() -> None:
    text = agent("").replace(
        "  role: agent\n", "  # rke2image: ignore[server-port] far away\n  role: agent\n"
    )
    assert rules(text) == ["ignore-unused", "server-port"]


def _suppress_everything(raw: bytes, display: str) -> str:
    """The example with a reasoned ignore comment above every line holding a finding."""
    _, body = split_header(raw)
    text = body.decode(errors="replace")
    found = check_bytes(body, display).problems
    by_line: dict[int, list[str]] = {}
    for problem in found:
        by_line.setdefault(problem.line, []).append(problem.rule)
    lines = text.splitlines(keepends=True)
    for line in sorted(by_line, reverse=True):
        listed = ", ".join(dict.fromkeys(by_line[line]))
        lines.insert(line - 1, f"# rke2image: ignore[{listed}] a reason for the test\n")
    return "".join(lines)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_example_fully_ignored_keeps_exactly_the_findings_the_catalog_guards(
    path: Path,
) -> None:
    """Over every example: what may be suppressed is, what may not stands with a refusal,
    and a file left without errors still renders (a suppressed finding never breaks render)."""
    display = path.relative_to(ROOT).as_posix()
    raw = path.read_bytes()
    original = check_bytes(split_header(raw)[1], display).problems
    text = _suppress_everything(raw, display)
    found = check_bytes(text.encode(), display)
    loadable = not any(p.rule.startswith("yaml-") for p in original)
    if not loadable:
        return  # no comment is read in a file that is not YAML
    standing = [p.rule for p in found.problems]
    for problem in original:
        info = BY_ID[problem.rule]
        if problem.rule.startswith("ignore-"):
            continue  # findings about comments sit on comment lines, not below one
        if info.may_suppress(problem.severity):
            assert problem.rule in [s.problem.rule for s in found.suppressed]
        else:
            assert problem.rule in standing and "ignore-not-allowed" in standing
    if not found.errors:
        for node in found.nodes:
            assert render_node(node, environ={"RKE2_TOKEN": "x"}).user_data
