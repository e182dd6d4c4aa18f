"""The audit's outputs as their readers take them: JSON, Prometheus text, node-problem-detector."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from acceptance.audit.roots import build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json
from rke2image.spec.model import NodeSpec

METRICS = {
    "rke2image_sysctl_compliant",
    "rke2image_sysctl_live_value",
    "rke2image_sysctl_expected_value",
    "rke2image_sysctl_next_boot_compliant",
    "rke2image_protect_kernel_defaults",
    "rke2image_audit_findings",
    "rke2image_audit_last_run_timestamp_seconds",
    "rke2image_node_info",
}


@pytest.fixture
def latent_node(tmp_path: Path, make_node: Callable[..., NodeSpec]) -> tuple[Path, Path]:
    """A protected server whose kernel.panic is right now but 0 at the next boot."""
    root = build_root(tmp_path, "ubuntu-24.04")
    install_node(root, make_node(sysctl={}))
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic = 0\n")
    return root, proc_sys(tmp_path, REQUIRED)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_prometheus_text_parses_and_carries_the_verdicts(
    latent_node: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    require_tool: Callable[[str], str],
) -> None:
    root, live = latent_node
    # a node name with the exposition format's three escaped characters in it
    node_name = 'cp-1 "a" \\ b\nc'
    code, text, _ = audit(
        capsys,
        *("--root", str(root), "--proc-sys", str(live), "--format", "prometheus"),
        *("--node-name", node_name),
    )
    assert code == 1
    got = samples(text)
    assert {name for name, _ in got} == METRICS
    assert (
        got[("rke2image_sysctl_compliant", (("key", "kernel.panic"), ("verdict", "latent")))] == 0
    )
    assert got[("rke2image_sysctl_compliant", (("key", "vm.panic_on_oom"), ("verdict", "ok")))] == 1
    assert got[("rke2image_sysctl_live_value", (("key", "kernel.panic"),))] == 10
    assert (
        got[("rke2image_sysctl_expected_value", (("key", "kernel.keys.root_maxbytes"),))]
        == 25000000
    )
    for source in ("systemd", "procps"):
        assert (
            got[
                (
                    "rke2image_sysctl_next_boot_compliant",
                    (("key", "kernel.panic"), ("source", source)),
                )
            ]
            == 0
        )
        assert (
            got[
                (
                    "rke2image_sysctl_next_boot_compliant",
                    (("key", "vm.overcommit_memory"), ("source", source)),
                )
            ]
            == 1
        )
    assert got[("rke2image_protect_kernel_defaults", ())] == 1
    assert got[("rke2image_audit_findings", (("severity", "warning"),))] == 1
    # the node label, parsed back, is the name (its newline written as the text \x0a)
    node = 'cp-1 "a" \\ b\\x0ac'
    assert got[("rke2image_node_info", (("node", node), ("role", "server")))] == 1
    promtool = require_tool("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")


def test_textfile_is_written_atomically_next_to_its_target(
    latent_node: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, live = latent_node
    folder = tmp_path / "textfile"
    folder.mkdir()
    target = folder / "rke2image.prom"
    target.write_text("old\n")
    code, out, _ = audit(
        capsys,
        "--root",
        str(root),
        "--proc-sys",
        str(live),
        "--textfile",
        str(target),
        "--format",
        "json",
    )
    assert code == 1 and out.startswith("{")
    assert os.listdir(folder) == ["rke2image.prom"]  # no temporary file left behind
    assert target.stat().st_mode & 0o777 == 0o644
    assert samples(target.read_text())[("rke2image_protect_kernel_defaults", ())] == 1
    code, _, err = audit(capsys, "--root", str(root), "--textfile", str(tmp_path / "no/x.prom"))
    assert code == 2 and "cannot write the textfile" in err


def test_textfile_writer_uses_a_temporary_file_in_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rke2image.cli import audit as cli_audit

    seen: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    cli_audit.write_atomically(tmp_path / "a.prom", "x 1\n")
    [(src, dst)] = seen
    assert Path(src).parent == tmp_path and not src.endswith(".prom")
    assert dst == str(tmp_path / "a.prom")


def test_npd_protocol_ok_nonok_unknown(
    latent_node: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, live = latent_node
    code, out, _ = audit(capsys, "--root", str(root), "--proc-sys", str(live), "--format", "npd")
    assert code == 1
    assert out == "kernel.panic latent: /etc/sysctl.d/99-zzzz-undo.conf:1\n"
    (root / "etc/sysctl.d/99-zzzz-undo.conf").unlink()
    code, out, _ = audit(capsys, "--root", str(root), "--proc-sys", str(live), "--format", "npd")
    assert (code, out) == (0, "OK: 6 kernel parameters compliant\n")
    code, out, _ = audit(capsys, "--root", str(tmp_path / "gone"), "--format", "npd")
    assert (code, out) == (2, "")


def test_npd_line_is_one_line_of_at_most_80_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    name = "99-" + "z" * 120 + ".conf"
    put(root, f"etc/sysctl.d/{name}", "kernel.panic = 0\nvm.overcommit_memory = 0\n")
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0", "vm.overcommit_memory": "0"})
    code, out, _ = audit(capsys, "--root", str(root), "--proc-sys", str(live), "--format", "npd")
    assert code == 1 and out.count("\n") == 1 and len(out.rstrip("\n")) <= 80
    assert out.startswith("vm.overcommit_memory wrong: /etc/sysctl.d/99-zzz")
    assert out.rstrip().endswith("more)")


def test_json_holds_the_documented_contract(
    latent_node: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, live = latent_node
    _, report = audit_json(
        capsys, "--root", str(root), "--proc-sys", str(live), "--node-name", "cp-7"
    )
    assert set(report) >= {
        "schema",
        "generated",
        "node",
        "root",
        "live",
        "protection",
        "parameters",
        "findings",
        "summary",
    }
    assert report["node"] == {"name": "cp-7", "role": "server"}
    assert report["generated"].endswith("Z") and report["root"] == str(root)
    one: dict[str, Any] = report["parameters"][0]
    assert set(one) == {"key", "expected", "required", "live", "next_boot", "verdict", "fix"}
    assert set(one["next_boot"]) == {"systemd", "procps"}
    assert set(one["next_boot"]["systemd"]) == {"value", "source", "file", "line", "overrides"}
    assert set(report["protection"]) == {"on", "known", "profile", "sources", "unreadable"}
    assert report["managed"] is True
    assert set(report["findings"][0]) == {
        "severity",
        "rule",
        "key",
        "file",
        "line",
        "message",
        "fix",
    }
    assert set(report["summary"]) >= {"errors", "warnings", "compliant"}


def test_output_is_deterministic_with_source_date_epoch(
    latent_node: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, live = latent_node
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764126000")
    runs = [
        audit(capsys, "--root", str(root), "--proc-sys", str(live), "--format", fmt)
        for fmt in ("json", "prometheus", "json", "prometheus")
    ]
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert '"generated": "2025-11-26T03:00:00Z"' in runs[0][1]
    assert "rke2image_audit_last_run_timestamp_seconds 1764126000.000" in runs[1][1]
