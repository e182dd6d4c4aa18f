"""kubelet's and RKE2's refusals in logs, streamed and joined to the verdicts."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.audit.roots import build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, rules
from rke2image.audit import AuditOptions, logs, run_audit
from rke2image.audit.catalog import KUBELET_INVALID_KERNEL_FLAG
from rke2image.spec.model import NodeSpec

KUBELET_LOG = "var/lib/rancher/rke2/agent/logs/kubelet.log"
# A current kubelet's structured line: all flags in one error list.
KUBELET_NOW = (
    'E1126 03:02:01.123456    2211 kubelet.go:1649] "Failed to start ContainerManager" '
    'err="[invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0, '
    'invalid kernel flag: kernel/panic, expected value: 10, actual value: 0]"\n'
)
# A kubelet from before 2020 wrote "Invalid", one flag per line.
KUBELET_OLD = (
    "F0312 10:00:00.000000    1022 kubelet.go:1380] Failed to start ContainerManager "
    "Invalid kernel flag: kernel/panic_on_oops, expected value: 1, actual value: 0\n"
)
RKE2_LINES = (
    'Nov 26 03:00:00 cp-1 rke2[900]: time="2026-11-26T03:00:00Z" level=fatal msg="invalid '
    "kernel parameter value vm.overcommit_memory=0 - expected 1\\ninvalid kernel parameter "
    'value kernel.panic=0 - expected 10\\n"\n'
    'Nov 26 03:01:00 cp-1 rke2[901]: time="2026-11-26T03:01:00Z" level=fatal msg="missing '
    'required: user: unknown user etcd\\nmissing required: group: unknown group etcd\\n"\n'
    'Nov 26 03:02:00 cp-1 rke2[902]: time="2026-11-26T03:02:00Z" level=fatal '
    'msg="--protect-kernel-defaults must be true when using --profile=cis"\n'
)


@pytest.fixture
def root(tmp_path: Path, make_node: Callable[..., NodeSpec]) -> Path:
    root = build_root(tmp_path, "ubuntu-22.04")
    install_node(root, make_node(sysctl={}))
    return root


def test_both_kubelet_wordings_and_rotations(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = put(root, KUBELET_LOG, "I1126 starting\n" + KUBELET_NOW)
    with gzip.open(log.with_name("kubelet.log.2.gz"), "wt") as handle:
        handle.write("noise\n" * 3 + KUBELET_OLD)
    os.utime(log.with_name("kubelet.log.2.gz"), (1, 1))
    live = proc_sys(tmp_path, {**REQUIRED, "vm.overcommit_memory": "0"})
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    found = {
        (f["rule"], f["key"]): f
        for f in report["findings"]
        if f["rule"] == "kubelet-invalid-kernel-flag"
    }
    now = found[("kubelet-invalid-kernel-flag", "vm.overcommit_memory")]
    assert (now["severity"], now["file"], now["line"]) == ("error", "/" + KUBELET_LOG, 2)
    assert now["message"].startswith(
        "kubelet refused to start: invalid kernel flag: "
        "vm/overcommit_memory, expected value: 1, actual value: 0"
    )
    assert now["fix"] == "sysctl -w vm.overcommit_memory=1"
    # fixed since: the live value is right now, so these are history
    for key, line, file in (
        ("kernel.panic", 2, "kubelet.log"),
        ("kernel.panic_on_oops", 4, "kubelet.log.2.gz"),
    ):
        old = found[("kubelet-invalid-kernel-flag", key)]
        assert (old["severity"], old["line"], old["file"]) == (
            "info",
            line,
            f"/var/lib/rancher/rke2/agent/logs/{file}",
        )
        assert old["message"].startswith("history: kubelet refused to start")
    assert code == 1


def test_rke2_lines_from_a_saved_journal(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = put(tmp_path, "rke2.txt", RKE2_LINES)
    live = proc_sys(tmp_path, REQUIRED)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")  # etcd user gone
    code, report = audit_json(
        capsys, "--root", str(root), "--proc-sys", str(live), "--rke2-log", str(saved)
    )
    got = {
        (f["rule"], f["key"]): (f["severity"], f["line"])
        for f in report["findings"]
        if f["file"] == str(saved)
    }
    assert got == {
        ("rke2-invalid-kernel-parameter", "vm.overcommit_memory"): ("info", 1),
        ("rke2-invalid-kernel-parameter", "kernel.panic"): ("info", 1),
        ("rke2-missing-etcd-account", "user"): ("error", 2),
        ("rke2-missing-etcd-account", "group"): ("info", 2),
        ("rke2-protect-kernel-defaults", "cis"): ("info", 3),
    }
    assert code == 1


def test_the_latest_occurrence_wins(tmp_path: Path) -> None:
    text = (
        "invalid kernel flag: kernel/panic, expected value: 10, actual value: 0\n"
        "x\n"
        "invalid kernel flag: kernel/panic, expected value: 10, actual value: 5\n"
    )
    hits: dict[logs.LogSubject, logs.LogHit] = {}
    logs.scan(io.BytesIO(text.encode()), "k.log", hits)
    hit = hits[logs.LogSubject(KUBELET_INVALID_KERNEL_FLAG, "kernel.panic")]
    assert (hit.line, hit.actual) == (3, "5")


def test_lines_split_across_blocks_are_found_with_their_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs, "BLOCK", 7)
    text = "a\n" * 5 + KUBELET_OLD + "b\n" + KUBELET_NOW + "no newline at the end"
    hits: dict[logs.LogSubject, logs.LogHit] = {}
    logs.scan(io.BytesIO(text.encode()), "k.log", hits)
    assert {(k.subject, h.line) for k, h in hits.items()} == {
        ("kernel.panic_on_oops", 6),
        ("vm.overcommit_memory", 8),
        ("kernel.panic", 8),
    }


def test_systemd_sysctl_failures_are_joined_to_the_parameter(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = put(
        tmp_path,
        "journal.txt",
        "Couldn't write '0' to 'kernel/panic', ignoring: Permission denied\n"
        "Couldn't write '1' to 'net/ipv4/conf/all/forwarding': Read-only file system\n",
    )
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(
        capsys, "--root", str(root), "--proc-sys", str(live), "--rke2-log", str(saved)
    )
    assert ("info", "systemd-sysctl-failed", str(saved), 1) in rules(report)
    assert ("info", "systemd-sysctl-failed", str(saved), 2) in rules(report)
    assert code == 0


def test_a_missing_log_given_by_the_user_is_an_io_error(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(capsys, "--root", str(root), "--kubelet-log", str(tmp_path / "none"))
    assert (code, out) == (2, "")
    assert err.startswith(f"rke2image: error: {tmp_path / 'none'}: cannot read the log")


def _journalctl_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str) -> Path:
    """A stand-in journalctl first on PATH: the test machine's journal cannot be given
    RKE2's lines (and may not exist), so this one prints them and records its argv."""
    folder = tmp_path / "bin"
    folder.mkdir()
    put(tmp_path, "journal.txt", output)
    tool = folder / "journalctl"
    tool.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/argv"\n'
        f'cat "{tmp_path / "journal.txt"}"\n'
    )
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder / "argv"


def test_journald_of_this_boot_is_read_for_rke2_and_systemd_sysctl(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = _journalctl_on_path(tmp_path, monkeypatch, RKE2_LINES)
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    report = run_audit(AuditOptions(root=root, proc_sys=live, journal=True))
    assert argv.read_text().split() == [
        "--no-pager", "-q", "-b", "-o", "cat",
        "-u", "rke2-server", "-u", "rke2-agent", "-u", "systemd-sysctl",
    ]  # fmt: skip
    from_journal = {(f.rule, f.key, f.severity) for f in report.findings if f.file == "journal"}
    assert ("rke2-invalid-kernel-parameter", "kernel.panic", "error") in from_journal
    assert ("rke2-invalid-kernel-parameter", "vm.overcommit_memory", "info") in from_journal


def test_no_journalctl_means_no_journal_and_no_error(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    live = proc_sys(tmp_path, REQUIRED)
    report = run_audit(AuditOptions(root=root, proc_sys=live, journal=True))
    assert [f for f in report.findings if f.file == "journal"] == []
