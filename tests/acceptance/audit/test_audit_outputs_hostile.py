"""What a hostile node cannot make the audit's outputs say or do (issue 22, items 10, 12-14):
no forged line in text or npd, no terminal codes, one reversible form for file names that
are not UTF-8 in JSON, Prometheus samples node_exporter accepts, and no write through
--textfile to anything but a regular file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.audit.roots import build_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, no_journal, param
from acceptance.deploy.test_node_exporter import _samples, node_exporter  # noqa: F401
from rke2image.spec.model import NodeSpec
from rke2image.textsafe import unreversible

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
FORGED = "0 error(s), 0 warning(s): compliant"


@pytest.fixture
def root(tmp_path: Path, make_node: Callable[..., NodeSpec]) -> Path:
    root = build_root(tmp_path, "ubuntu-22.04")
    install_node(root, make_node(sysctl={}))
    return root


def outputs(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, tuple[int, str]]:
    found = {}
    for fmt in ("text", "npd", "json", "prometheus"):
        code, out, err = audit(capsys, *args, "--format", fmt)
        assert err == "", err
        found[fmt] = (code, out)
    return found


def test_a_sysctl_file_name_with_newlines_forges_no_line(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"99-zzzz\n{FORGED}\n\x1b[2J.conf"
    put(root, f"etc/sysctl.d/{name}", "kernel.panic = 0\n")
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    found = outputs(capsys, *no_journal(root), "--proc-sys", str(live))
    code, text = found["text"]
    assert code == 1
    assert FORGED not in text.splitlines()
    assert not CONTROL.search(text)
    assert "99-zzzz\\x0a0 error(s)" in text
    _, npd = found["npd"]
    assert npd.count("\n") == 1 and npd.endswith("\n") and not CONTROL.search(npd)
    assert len(npd) <= 81
    report = json.loads(found["json"][1])
    assert param(report, "kernel.panic")["next_boot"]["systemd"]["file"] == (
        f"/etc/sysctl.d/{name}"  # JSON carries the name itself, escaped by JSON
    )


def test_a_file_name_that_is_not_utf8_has_one_reversible_form_in_json(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = b"99-zzzz-\xff\\x41.conf"
    with open(os.path.join(os.fsencode(root), b"etc/sysctl.d", raw), "w") as handle:
        handle.write("kernel.panic = 0\n")
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    found = outputs(capsys, *no_journal(root), "--proc-sys", str(live))
    document = found["json"][1]
    assert "\\ud" not in document  # no lone surrogate for a JSON reader to refuse
    report = json.loads(document)
    shown = param(report, "kernel.panic")["next_boot"]["systemd"]["file"]
    assert shown == "/etc/sysctl.d/99-zzzz-\\xff\\\\x41.conf"
    assert os.fsencode(unreversible(shown)) == b"/etc/sysctl.d/" + raw
    assert shown in report["files"]["systemd"]
    assert any(f["file"] == shown for f in report["findings"])
    for fmt in ("text", "npd", "prometheus"):
        assert not CONTROL.search(found[fmt][1]), fmt


def test_the_host_name_and_live_values_print_no_control_characters(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(root, "etc/hostname", "cp-1\x1b]0;owned\x07\x00\x9b\n")
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "1\x1b[31m0\x00"})
    found = outputs(capsys, *no_journal(root), "--proc-sys", str(live))
    for fmt in ("text", "npd", "prometheus"):
        assert not CONTROL.search(found[fmt][1]), fmt
    assert "(node cp-1\\x1b]0;owned\\x07\\x00\\x9b, server)" in found["text"][1]


def test_unicode_digits_are_not_a_prometheus_number(
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    node_exporter: Callable[[Path], str],  # noqa: F811
    require_tool: Callable[[str], str],
) -> None:
    arabic_ten = "\u0661\u0660"  # int() reads it as 10; Prometheus does not
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": arabic_ten, "vm.panic_on_oom": "0\n"})
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    code, _, err = audit(
        capsys, *no_journal(root), "--proc-sys", str(live), "--textfile", str(textfiles / "a.prom")
    )
    assert code == 1, err
    exposition = (textfiles / "a.prom").read_text(encoding="utf-8")
    assert arabic_ten not in exposition
    linted = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stderr + linted.stdout
    served = _samples(node_exporter(textfiles))
    assert served["node_textfile_scrape_error", frozenset()] == 0
    assert ("rke2image_sysctl_live_value", frozenset({("key", "kernel.panic")})) not in served
    assert served["rke2image_sysctl_live_value", frozenset({("key", "vm.panic_on_oom")})] == 0
    assert (
        served[
            "rke2image_sysctl_compliant", frozenset({("key", "kernel.panic"), ("verdict", "wrong")})
        ]
        == 0
    )


# --- item 10: --textfile writes only a new or regular file ---------------------------------


def textfile(capsys: pytest.CaptureFixture[str], root: Path, target: Path) -> tuple[int, str, str]:
    return audit(capsys, *no_journal(root), "--textfile", str(target))


def test_textfile_refuses_a_fifo_a_folder_and_a_link_to_a_device(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo.prom"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.prom"
    folder.mkdir()
    device = tmp_path / "stdout.prom"
    os.symlink("/dev/null", device)
    for target, what in (
        (fifo, "is a FIFO"),
        (folder, "is a folder"),
        (device, "is a character device (through the link, /dev/null)"),
    ):
        code, out, err = textfile(capsys, root, target)
        assert (code, out) == (2, ""), target
        assert err.startswith(f"rke2image: error: {target}: {what}, not a regular file")
    assert fifo.is_fifo() and folder.is_dir() and os.readlink(device) == "/dev/null"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_textfile_writes_through_a_link_to_a_regular_file(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "collector" / "rke2image.prom"
    real.parent.mkdir()
    real.write_text("old 1\n")
    link = tmp_path / "rke2image.prom"
    os.symlink(real, link)
    code, _, err = textfile(capsys, root, link)
    assert code in (0, 1), err
    assert os.readlink(link) == str(real)  # the link stays a link
    assert real.read_text().startswith("# HELP rke2image_sysctl_compliant")
    assert [p.name for p in real.parent.iterdir()] == ["rke2image.prom"]  # no temp file left
