"""The kernel command line and TuneD write kernel values at boot too: before the sysctl
files (cmdline, which they override) and after them (TuneD, which overrides them unless
reapply_sysctl lets /etc/sysctl.d win again). Each is named as the source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from acceptance.audit.roots import foreign_root, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, no_journal, param

TUNED_WANTS = "etc/systemd/system/multi-user.target.wants/tuned.service"


def boot(report: dict[str, Any], key: str, tool: str = "systemd") -> dict[str, Any]:
    result: dict[str, Any] = param(report, key)["next_boot"][tool]
    return result


def without(root: Path, key: str) -> None:
    """Drop ``key`` from the node's own sysctl file: nothing in sysctl.d sets it."""
    conf = root / "etc/sysctl.d/90-kubelet.conf"
    conf.write_text("".join(x for x in conf.read_text().splitlines(True) if key not in x))


def test_grub_cmdline_sets_a_value_nothing_in_sysctl_d_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path)
    without(root, "kernel.panic =")
    put(
        root,
        "etc/default/grub",
        'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\n'
        'GRUB_CMDLINE_LINUX="console=ttyS0 sysctl.kernel.panic=0"\n',
    )
    code, report = audit_json(capsys, *no_journal(root))
    assert code == 1
    panic = boot(report, "kernel.panic")
    assert (panic["value"], panic["source"], panic["file"], panic["line"]) == (
        "0",
        "cmdline",
        "/etc/default/grub",
        3,
    )
    assert boot(report, "kernel.panic", "procps")["source"] == "cmdline"
    assert param(report, "kernel.panic")["verdict"] == "wrong"
    assert "kernel command line in /etc/default/grub:3" in param(report, "kernel.panic")["fix"]
    _, out, _ = audit(capsys, *no_journal(root))
    assert "0 /etc/default/grub:3 (cmdline)" in out


def test_a_sysctl_d_line_overrides_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path)
    put(root, "etc/kernel/cmdline", "root=/dev/vda1 ro sysctl.kernel.panic=0\n")
    code, report = audit_json(capsys, *no_journal(root))
    panic = boot(report, "kernel.panic")
    assert (panic["value"], panic["source"], code) == ("10", "sysctl.d", 0)
    assert panic["overrides"] == [
        {"source": "cmdline", "file": "/etc/kernel/cmdline", "line": 1, "value": "0"}
    ]


def test_the_newest_bls_entry_and_slash_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = foreign_root(tmp_path, "rhel-9")
    without(root, "vm.overcommit_memory")
    entries = "boot/loader/entries"
    put(root, f"{entries}/abc-5.14.0-70.el9.x86_64.conf", "title old\noptions root=/dev/vda1\n")
    put(
        root,
        f"{entries}/abc-5.14.0-427.el9.x86_64.conf",
        'title new\nversion 5.14.0-427\noptions root=/dev/vda1 "sysctl.vm/overcommit_memory=0"\n',
    )
    _, report = audit_json(capsys, *no_journal(root))
    over = boot(report, "vm.overcommit_memory")
    assert (over["value"], over["file"], over["line"]) == (
        "0",
        f"/{entries}/abc-5.14.0-427.el9.x86_64.conf",
        3,
    )


def test_this_boots_proc_cmdline_stands_in_for_a_missing_boot_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """panic=0 (an early parameter) sets kernel.panic before any sysctl.* word."""
    root = foreign_root(tmp_path)
    without(root, "kernel.panic =")
    live = proc_sys(tmp_path, REQUIRED)
    (live.parent / "cmdline").write_text("BOOT_IMAGE=/vmlinuz panic=0 oops=panic -- panic=5\n")
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    panic = boot(report, "kernel.panic")
    assert (panic["value"], panic["source"], panic["file"]) == ("0", "cmdline", "/proc/cmdline")
    assert param(report, "kernel.panic")["verdict"] == "latent"
    assert "this boot's /proc/cmdline has it" in param(report, "kernel.panic")["fix"]
    assert code == 1
    # a boot loader file in the root is the next boot's command line instead
    put(root, "boot/grub/grub.cfg", "menuentry 'x' {\n\tlinux /vmlinuz root=/dev/vda1 ro\n}\n")
    _, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert boot(report, "kernel.panic")["value"] is None


def tuned_node(base: Path, reapply: str | None) -> Path:
    root = foreign_root(base, "rhel-9")
    put(root, "etc/tuned/active_profile", "rke2-node\n")
    put(root, "etc/tuned/profile_mode", "manual\n")
    put(
        root,
        "etc/tuned/rke2-node/tuned.conf",
        "[main]\nsummary=RKE2 nodes\ninclude=throughput-performance\n\n"
        "[sysctl]\nvm.overcommit_memory=0\n",
    )
    put(
        root,
        "usr/lib/tuned/throughput-performance/tuned.conf",
        "[main]\nsummary=Broadly applicable tuning\n\n[sysctl]\nkernel.panic = 0\n"
        "vm.dirty_ratio = 40\n",
    )
    if reapply is not None:
        put(root, "etc/tuned/tuned-main.conf", f"daemon = 1\nreapply_sysctl = {reapply}\n")
    (root / TUNED_WANTS).parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/usr/lib/systemd/system/tuned.service", root / TUNED_WANTS)
    return root


def test_tuned_runs_after_sysctl_d_and_reapply_sysctl_lets_etc_sysctl_d_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tuned_node(tmp_path, reapply=None)  # default: reapply_sysctl = 1
    code, report = audit_json(capsys, *no_journal(root))
    over = boot(report, "vm.overcommit_memory")
    assert (over["value"], over["source"], code) == ("1", "sysctl.d", 0)
    assert {
        "source": "tuned",
        "file": "/etc/tuned/rke2-node/tuned.conf",
        "line": 6,
        "value": "0",
    } in (over["overrides"])


def test_without_reapply_sysctl_tuned_wins_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tuned_node(tmp_path, reapply="0")
    code, report = audit_json(capsys, *no_journal(root))
    over = boot(report, "vm.overcommit_memory")
    assert (over["value"], over["source"], over["file"], over["line"]) == (
        "0",
        "tuned",
        "/etc/tuned/rke2-node/tuned.conf",
        6,
    )
    # an included profile's option counts too
    panic = boot(report, "kernel.panic")
    assert (panic["value"], panic["file"]) == (
        "0",
        "/usr/lib/tuned/throughput-performance/tuned.conf",
    )
    assert "TuneD profile rke2-node" in param(report, "kernel.panic")["fix"]
    assert code == 1


def test_reapply_does_not_read_usr_lib_sysctl_d(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TuneD re-applies /run and /etc/sysctl.d only: a value kept in /usr/lib/sysctl.d
    loses to the profile even with reapply_sysctl on."""
    root = tuned_node(tmp_path, reapply="1")
    (root / "etc/sysctl.d/90-kubelet.conf").rename(root / "usr/lib/sysctl.d/90-kubelet.conf")
    _, report = audit_json(capsys, *no_journal(root))
    assert boot(report, "vm.overcommit_memory")["source"] == "tuned"


def test_tuned_not_enabled_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tuned_node(tmp_path, reapply="0")
    (root / TUNED_WANTS).unlink()
    code, report = audit_json(capsys, *no_journal(root))
    assert (boot(report, "vm.overcommit_memory")["source"], code) == ("sysctl.d", 0)
