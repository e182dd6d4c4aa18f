"""The audit of a damaged or hostile node: never hangs, never grows, never reads outside its
root, and a damaged file is a finding, never an abort (issue 22, items 1-4; issue 23, 7).

Memory is measured as the peak RSS of a child process (``resource.getrusage``), never as
time; a child that would hang is ended by a generous timeout, which then fails the test.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acceptance.audit.roots import build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, no_journal, param, rules
from rke2image.audit import AuditOptions, logs, run_audit
from rke2image.audit.catalog import KUBELET_INVALID_KERNEL_FLAG
from rke2image.rootfs import MAX_FILE_BYTES, RootFS, UnreadableFile
from rke2image.spec.model import NodeSpec

KUBELET_LOG = "var/lib/rancher/rke2/agent/logs/kubelet.log"
REFUSAL = (
    "E1126 kubelet.go:1649] invalid kernel flag: kernel/panic, expected value: 10, "
    "actual value: 0\n"
)
HANG_GUARD = 300  # seconds: far beyond any run, only there to end a hang
MIB = 1 << 20


@pytest.fixture
def root(tmp_path: Path, make_node: Callable[..., NodeSpec]) -> Path:
    root = build_root(tmp_path, "ubuntu-22.04")
    install_node(root, make_node(sysctl={}))
    return root


def peak_rss_of_audit(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Run one audit of ``root`` in a child; its peak RSS in bytes, and its JSON."""
    code = (
        "import json, sys\n"
        "from rke2image.cli.main import main\n"
        "import io, contextlib\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    main(['audit', '--format', 'json', *sys.argv[1:]])\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child forked
        # from a large pytest process would report the parent's size.
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
        "print(out.getvalue())\n"
    )
    empty = root.parent / "empty-rke2.log"
    empty.write_text("")
    result = subprocess.run(
        [sys.executable, "-c", code, "--root", str(root), "--rke2-log", str(empty), *extra],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=True,
    )
    rss, _, document = result.stdout.partition("\n")
    return int(rss) * 1024, json.loads(document)


# --- item 1: a log region without newlines ---------------------------------------------


def test_a_nul_region_without_newlines_keeps_memory_constant(root: Path) -> None:
    small = put(root, KUBELET_LOG, "I1126 starting\n" + REFUSAL)
    baseline, _ = peak_rss_of_audit(root)
    with small.open("wb") as log:  # what a crash leaves: NULs up to the file's size
        log.write(b"I1126 starting\n")
        log.truncate(15 + 256 * MIB)
        log.seek(0, os.SEEK_END)
        log.write(REFUSAL.encode())
    peak, report = peak_rss_of_audit(root)
    assert peak < baseline + 64 * MIB, (baseline, peak)
    found = [f for f in report["findings"] if f["rule"] == "kubelet-invalid-kernel-flag"]
    assert [(f["key"], f["line"]) for f in found] == [("kernel.panic", 2)]


def test_many_refusals_in_one_endless_line_are_each_found() -> None:
    hits: dict[logs.LogSubject, logs.LogHit] = {}
    line = b"\0" * (3 * logs.BLOCK) + REFUSAL.rstrip().encode() * 2000 + b"\0" * logs.BLOCK
    line += b" invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0\n"
    import io

    logs.scan(io.BytesIO(b"first\n" + line + REFUSAL.encode()), "kubelet.log", hits)
    assert {k: h.line for k, h in hits.items()} == {
        logs.LogSubject(KUBELET_INVALID_KERNEL_FLAG, "kernel.panic"): 3,
        logs.LogSubject(KUBELET_INVALID_KERNEL_FLAG, "vm.overcommit_memory"): 2,
    }


# --- item 3: rotations resolve inside the root, regular files only ----------------------


def test_a_rotation_linked_out_of_the_root_is_not_the_nodes_history(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere" / "kubelet.log"
    put(outside.parent, "kubelet.log", REFUSAL)
    log = put(root, KUBELET_LOG, "I1126 starting\n")
    os.symlink(outside, log.with_name("kubelet.log.1"))  # a host path: inside the root, absent
    # a link to a node path is read from the root, as the node reads it
    put(root, "var/log/old-kubelet.log", REFUSAL.replace("kernel/panic", "vm/panic_on_oom"))
    os.symlink("/var/log/old-kubelet.log", log.with_name("kubelet.log.2"))
    live = proc_sys(tmp_path, REQUIRED)
    _, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    keys = [f["key"] for f in report["findings"] if f["rule"] == "kubelet-invalid-kernel-flag"]
    assert keys == ["vm.panic_on_oom"]


def test_a_rotation_linked_to_pagemap_is_not_read(root: Path) -> None:
    log = put(root, KUBELET_LOG, REFUSAL)
    os.symlink("/proc/self/pagemap", log.with_name("kubelet.log.1"))
    os.mkfifo(log.with_name("kubelet.log.2"))
    (log.parent / "kubelet.log.3").mkdir()
    _peak, report = peak_rss_of_audit(root)
    found = [(f["rule"], f["file"]) for f in report["findings"]]
    assert ("kubelet-invalid-kernel-flag", "/" + KUBELET_LOG) in found
    assert not any(f"{KUBELET_LOG}." in str(file) for _, file in found)


def test_a_rotation_gone_between_listing_and_reading_is_left_out(root: Path) -> None:
    log = put(root, KUBELET_LOG, REFUSAL)
    rotated = put(root, KUBELET_LOG + ".1", REFUSAL.replace("kernel/panic", "vm/panic_on_oom"))
    fs = RootFS(root)
    sources = logs.rotations(fs, "/" + KUBELET_LOG)
    rotated.unlink()  # logrotate ran in between
    hits, damaged = logs.scan_logs(sources)
    assert [h.subject for h in hits.values()] == ["kernel.panic"]
    assert damaged == []
    log.rename(log.with_name("kubelet.log.9"))  # renamed before the listing is sorted
    real_stat = os.stat

    def vanishing(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).endswith("kubelet.log.9"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "stat", vanishing)
        assert logs.rotations(fs, "/" + KUBELET_LOG) == []


# --- item 4: a damaged *.gz rotation is a warning ----------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "not gzip", "empty"])
def test_a_damaged_gz_rotation_is_a_warning_and_the_audit_goes_on(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    log = put(root, KUBELET_LOG, REFUSAL)
    packed = gzip.compress(("noise\n" * 5000 + REFUSAL).encode(), mtime=0)
    data = {
        "truncated": packed[: len(packed) // 2],
        "corrupt": packed[:20] + bytes(b ^ 0xFF for b in packed[20:40]) + packed[40:],
        "not gzip": b"this was never compressed\n",
        "empty": b"",
    }[damage]
    rotation = log.with_name("kubelet.log.2.gz")
    rotation.write_bytes(data)
    os.utime(rotation, (1, 1))
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 1
    warnings = [f for f in report["findings"] if f["rule"] == "log-unreadable"]
    if damage == "empty":  # an empty file is an empty log, as zcat reads it
        assert warnings == []
        return
    assert [(w["severity"], w["file"]) for w in warnings] == [("warning", f"/{KUBELET_LOG}.2.gz")]
    assert ("error", "kubelet-invalid-kernel-flag", "/" + KUBELET_LOG, 1) in rules(report)


# --- item 2: live values and /etc/hostname are bounded -----------------------------------


def test_a_fifo_or_dev_zero_under_proc_sys_neither_blocks_nor_grows(
    root: Path, tmp_path: Path
) -> None:
    live = proc_sys(tmp_path, REQUIRED)
    (live / "kernel" / "panic").unlink()
    os.mkfifo(live / "kernel" / "panic")  # nobody ever writes: an open would block
    (live / "vm" / "overcommit_memory").unlink()
    os.symlink("/dev/zero", live / "vm" / "overcommit_memory")
    sparse = live / "vm" / "panic_on_oom"
    with sparse.open("r+b") as handle:
        handle.truncate(512 * MIB)
    peak, report = peak_rss_of_audit(root, "--proc-sys", str(live))
    assert peak < 200 * MIB
    for key in ("kernel.panic", "vm.overcommit_memory", "vm.panic_on_oom"):
        assert (param(report, key)["verdict"], param(report, key)["live"]) == (
            "unreadable",
            None,
        ), key
        assert "load the module" not in str(param(report, key)["fix"])
    assert param(report, "kernel.panic_on_oops")["verdict"] == "ok"


def test_a_live_value_denied_is_unreadable_not_missing(
    root: Path, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    live = proc_sys(tmp_path, REQUIRED)
    (live / "kernel" / "panic").chmod(0)
    # as root, read without the capabilities that override file modes (util-linux's setpriv)
    prefix = (
        [require_tool("setpriv"), "--bounding-set=-dac_override,-dac_read_search"]
        if os.geteuid() == 0
        else []
    )
    code = (
        "import sys; from pathlib import Path\n"
        "from rke2image.audit.live import read_live\n"
        "print(repr(read_live(Path(sys.argv[1]), 'kernel.panic')))\n"
    )
    result = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(live)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=True,
    )
    assert result.stdout == "Unreadable(reason='cannot read: Permission denied')\n"


def test_an_unreadable_live_value_is_a_warning_with_no_module_advice(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = proc_sys(tmp_path, REQUIRED)
    (live / "kernel" / "panic").unlink()
    (live / "kernel" / "panic").mkdir()  # EISDIR: an OSError that was an internal error
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 1
    finding = [f for f in report["findings"] if f["key"] == "kernel.panic"]
    assert [(f["severity"], f["rule"]) for f in finding] == [("warning", "live-value-unreadable")]
    assert "is a folder" in finding[0]["message"]
    assert param(report, "kernel.panic")["fix"] == "run the audit as root to read kernel.panic"


def test_a_huge_or_odd_hostname_file_is_not_read_and_names_no_node(root: Path) -> None:
    # Not the auditing machine's name either: the root is another node's (issue 18).
    hostname = root / "etc" / "hostname"
    with hostname.open("r+b") as handle:
        handle.truncate(1024 * MIB)
    peak, report = peak_rss_of_audit(root)
    assert peak < 200 * MIB
    assert report["node"]["name"] == "unknown"
    hostname.unlink()
    os.mkfifo(hostname)
    _, report = peak_rss_of_audit(root)
    assert report["node"]["name"] == "unknown"


# --- the generic bounded reader ----------------------------------------------------------


def test_rootfs_reads_regular_files_only_and_bounded(root: Path) -> None:
    fs = RootFS(root)
    os.mkfifo(root / "etc" / "fifo.conf")
    big = root / "etc" / "big.conf"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    os.symlink("/dev/null", root / "etc" / "masked.conf")
    os.symlink("/etc/passwd", root / "etc" / "passwd-link")
    with pytest.raises(UnreadableFile, match="is a FIFO, not a regular file"):
        fs.read_text("/etc/fifo.conf")
    with pytest.raises(UnreadableFile, match="is a folder"):
        fs.read_text("/etc")
    with pytest.raises(UnreadableFile, match=r"over the 8 MiB read"):
        fs.read_text("/etc/big.conf")
    with pytest.raises(UnreadableFile, match="is a FIFO"), fs.open_text("/etc/fifo.conf"):
        pass
    assert fs.read_text("/etc/masked.conf") == ""
    assert fs.read_text("/etc/nothing.conf") is None
    assert fs.read_text("/etc/passwd-link") == (root / "etc" / "passwd").read_text()
    with fs.open_text("/etc/passwd") as handle:
        assert handle.readline().startswith("root:")


def test_a_node_whose_every_log_is_hostile_is_still_audited(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = put(root, KUBELET_LOG, REFUSAL)
    log.with_name("kubelet.log.1.gz").write_bytes(b"\x1f\x8b\x08\x00junk")
    os.symlink("kubelet.log.4", log.with_name("kubelet.log.4"))  # a loop
    code, out, err = audit(capsys, "--root", str(root), "--rke2-log", os.devnull)
    assert code == 1 and err == ""
    assert "[log-unreadable]" in out
    assert run_audit(AuditOptions(root=root, rke2_logs=(Path(os.devnull),))).findings


def test_a_config_yaml_reader_error_names_its_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(root, "etc/rancher/rke2/config.yaml", "profile: cis\nnode-label:\n  - a=\x07b\n")
    code, report = audit_json(capsys, *no_journal(root))
    assert code == 1
    (found,) = [f for f in report["findings"] if f["rule"] == "rke2-config-invalid"]
    assert (found["file"], found["line"]) == ("/etc/rancher/rke2/config.yaml", 3)


def test_a_log_is_read_only_up_to_its_size_at_open_so_proc_files_end_at_once() -> None:
    # what a rotation linked to /proc/self/pagemap is on a live node (--root /): a regular
    # file that claims size 0 and would serve gigabytes
    from rke2image.rootfs import open_regular

    source = (lambda: open_regular("/proc/self/pagemap", "kubelet.log.1", follow=True), "k.1")
    hits, damaged = logs.scan_logs([source])
    assert (hits, damaged) == ({}, [])


def test_a_gzip_bomb_is_unpacked_only_so_far(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_UNPACKED", MIB)  # 1 GiB in use: the same code path
    put(root, KUBELET_LOG, "I1126 starting\n")
    bomb = root / f"{KUBELET_LOG}.1.gz"
    beyond = REFUSAL.replace("kernel/panic", "vm/panic_on_oom").encode()
    bomb.write_bytes(gzip.compress(REFUSAL.encode() + b"\0" * 3 * MIB + b"\n" + beyond))
    os.utime(bomb, (1, 1))
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 1
    (warning,) = [f for f in report["findings"] if f["rule"] == "log-unreadable"]
    assert (warning["file"], warning["message"].split(":")[0]) == (
        f"/{KUBELET_LOG}.1.gz",
        "unpacks to over 1 MiB",
    )
    refusals = [f for f in report["findings"] if f["rule"] == "kubelet-invalid-kernel-flag"]
    assert [(f["key"], f["line"]) for f in refusals] == [("kernel.panic", 1)]  # not beyond


@pytest.mark.parametrize("named", ["/dev/zero", "folder"])
def test_a_log_named_on_the_command_line_must_be_a_file_or_a_pipe(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], named: str
) -> None:
    path = named if named.startswith("/") else str(tmp_path)
    code, out, err = audit(
        capsys, "--root", str(root), "--rke2-log", os.devnull, "--kubelet-log", path
    )
    assert (code, out) == (2, "")
    assert err.startswith(f"rke2image: error: {path}: is a ")
    assert err.rstrip().endswith("not a log file or a pipe")


def test_a_pipe_named_as_a_log_is_read_to_its_end(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read, write = os.pipe()
    os.write(write, REFUSAL.encode())
    os.close(write)
    try:
        _, report = audit_json(
            capsys,
            *no_journal(root),
            "--kubelet-log",
            f"/dev/fd/{read}",
            "--proc-sys",
            str(proc_sys(tmp_path, REQUIRED)),
        )
    finally:
        os.close(read)
    assert ("info", "kubelet-invalid-kernel-flag", f"/dev/fd/{read}", 1) in rules(report)


ARABIC_INDIC_EPOCH = "\u0661\u0667" + "\u0660" * 8  # 1700000000 in Arabic-Indic digits


@pytest.mark.parametrize("epoch", [ARABIC_INDIC_EPOCH, "1e9", "-1", "99999999999999999999", " 17"])
def test_a_source_date_epoch_that_is_not_a_unix_time_is_refused(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    """Arabic-Indic digits passed ``isdigit()`` and a huge number overflowed ``gmtime``
    (a traceback): both now end in exit 2 naming the variable, with nothing on stdout."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    code, out, err = audit(capsys, *no_journal(root))
    assert (code, out) == (2, "")
    assert "SOURCE_DATE_EPOCH=" in err and "not a Unix time" in err
    assert "Traceback" not in err


def test_a_source_date_epoch_stamps_the_report(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "253402300799")
    _, report = audit_json(capsys, *no_journal(root))
    assert report["generated"] == "9999-12-31T23:59:59Z"
