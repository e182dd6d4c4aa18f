"""The audit on damaged and oddly spelled sysctl.d contents: verdicts as the real tools
leave the values (tests/acceptance/sysctld_oracle proves the reader), findings for files
no tool can read, never an abort or a hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acceptance.audit.support import REQUIRED, audit_json, no_journal, param, rules


def put(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def cis(root: Path) -> None:
    put(
        root,
        "etc/sysctl.d/60-rke2-cis.conf",
        "".join(f"{k}={v}\n" for k, v in REQUIRED.items()).encode(),
    )


def test_a_link_loop_a_fifo_and_a_sparse_gigabyte_are_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    cis(root)
    os.symlink("51-loop.conf", root / "etc/sysctl.d/50-loop.conf")
    os.symlink("50-loop.conf", root / "etc/sysctl.d/51-loop.conf")
    with open(root / "etc/sysctl.d/70-sparse.conf", "wb") as big:
        big.truncate(1 << 30)
    code, report = audit_json(capsys, *no_journal(root))
    assert code == 1
    found = rules(report)
    assert ("warning", "sysctl-file-unreadable", "/etc/sysctl.d/50-loop.conf", None) in found
    assert ("warning", "sysctl-file-unreadable", "/etc/sysctl.d/70-sparse.conf", None) in found
    # the loop is skipped and the rest applies, as systemd-sysctl does
    assert param(report, "kernel.panic")["verdict"] == "ok"

    os.mkfifo(root / "etc/sysctl.d/80-fifo.conf")
    code, report = audit_json(capsys, *no_journal(root))
    assert code == 1
    assert ("warning", "sysctl-file-unreadable", "/etc/sysctl.d/80-fifo.conf", None) in rules(
        report
    )
    # systemd-sysctl blocks on the FIFO before writing anything: nothing is set at boot
    assert param(report, "kernel.panic")["next_boot"]["systemd"]["value"] is None
    assert param(report, "kernel.panic")["verdict"] == "unpersisted"


def test_spellings_the_tools_normalise_are_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    cis(root)
    put(root, "etc/sysctl.d/90-late.conf", b"kernel//panic = 0\n.vm.overcommit_memory = 0\n")
    _, report = audit_json(capsys, *no_journal(root))
    assert param(report, "kernel.panic")["verdict"] == "wrong"
    assert (
        param(report, "kernel.panic")["next_boot"]["systemd"]["file"]
        == "/etc/sysctl.d/90-late.conf"
    )
    assert param(report, "vm.overcommit_memory")["next_boot"]["procps"]["value"] == "0"


def test_a_later_bare_dash_key_cancels_under_systemd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    cis(root)
    put(root, "etc/sysctl.d/90-late.conf", b"-kernel.panic\n")
    _, report = audit_json(capsys, *no_journal(root))
    assert param(report, "kernel.panic")["next_boot"]["systemd"]["value"] is None
    assert param(report, "kernel.panic")["verdict"] == "unpersisted"


def test_base_0_numbers_are_right_and_a_no_break_space_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    cis(root)
    put(
        root,
        "etc/sysctl.d/90-late.conf",
        "kernel.panic = 012\nkernel.panic_on_oops = 0x1\nvm.overcommit_memory = 1\u00a0\n".encode(),
    )
    _, report = audit_json(capsys, *no_journal(root))
    assert param(report, "kernel.panic")["verdict"] == "ok"
    assert param(report, "kernel.panic_on_oops")["verdict"] == "ok"
    # the kernel refuses "1\u00a0": the default (0) stays
    assert param(report, "vm.overcommit_memory")["verdict"] == "unpersisted"


def test_the_json_says_which_tools_the_root_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    cis(root)
    put(root, "usr/sbin/sysctl", b"\x7fELF sysctl from procps-ng 3.3.17\x00")
    put(root, "usr/lib/systemd/systemd-sysctl", b"\x7fELF libsystemd-shared-252.so\x00")
    put(root, "etc/sysctl.d/90-glob.conf", b"kernel.pan* = 0\n")
    _, report = audit_json(capsys, *no_journal(root))
    assert report["boot_tools"] == {
        "systemd": {"version": "252", "source": "/usr/lib/systemd/systemd-sysctl"},
        "procps": {"version": "3.3.17", "source": "/usr/sbin/sysctl"},
    }
    # procps 3.3 expands no glob; systemd's explicit key beats it
    assert param(report, "kernel.panic")["next_boot"]["procps"]["value"] == "10"
    assert param(report, "kernel.panic")["next_boot"]["systemd"]["value"] == "10"


def test_a_procps_write_the_kernel_refuses_breaks_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """procps 3.3 writes "=..." for a bare name; the kernel refuses it, so `sysctl --system`
    by hand leaves kernel.panic as systemd set it: no procps-value-wrong finding."""
    root = tmp_path / "root"
    cis(root)
    put(root, "usr/sbin/sysctl", b"sysctl from procps-ng 3.3.17\x00")
    put(root, "etc/sysctl.d/90-late.conf", b"kernel.panic\nkernel.panic_on_oops = 0\n")
    _, report = audit_json(capsys, *no_journal(root))
    assert param(report, "kernel.panic")["next_boot"]["procps"]["value"] == "="
    found = [(f["rule"], f["key"]) for f in report["findings"]]
    assert ("procps-value-wrong", "kernel.panic") not in found
    assert ("next-boot-wrong", "kernel.panic_on_oops") in found
