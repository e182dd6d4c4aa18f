"""A hostile or damaged RKE2 config never hangs the audit, never reaches the internal-error
path, and is reported as what it does to the node; a file the audit may not read (no root)
leaves protection unknown instead of aborting."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acceptance.audit.roots import build_root, foreign_root, proc_sys, put
from acceptance.audit.support import REQUIRED, audit, audit_json, no_journal, rules
from helpers import REPO, unprivileged_prefix
from rke2image.audit import AuditOptions, run_audit
from rke2image.render import render_node, write_rootfs
from rke2image.spec import load_nodes

CONFIG = "etc/rancher/rke2/config.yaml"
CONFIG_D = "etc/rancher/rke2/config.yaml.d"
TUNED = "etc/systemd/system/multi-user.target.wants/tuned.service"


def alias_bomb() -> str:
    """Nine levels of nine aliases: 9^9 (387 million) nodes once expanded, under 500 bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("kubelet-arg: *a8")
    text = "\n".join(lines) + "\n"
    assert len(text) < 500
    return text


def test_an_alias_bomb_is_refused_at_once_as_rke2_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, CONFIG, alias_bomb())
    code, report = audit_json(capsys, *no_journal(root), "--role", "server")
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["rule"] == "rke2-config-invalid"]
    assert finding["file"] == f"/{CONFIG}" and finding["severity"] == "error"
    assert "excessive aliasing" in finding["message"]


@pytest.mark.parametrize("depth", [150, 50_000])
def test_deeply_nested_yaml_is_named_not_an_internal_error(
    depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, f"{CONFIG_D}/50-deep.yaml", "node-label: " + "[" * depth + "]" * depth + "\n")
    code, out, err = audit(capsys, *no_journal(root), "--role", "agent")
    assert (code, err) == (1, "")
    assert "protect-kernel-defaults: unknown" in out
    report = json.loads(audit(capsys, *no_journal(root), "--format", "json")[1])
    assert report["protection"]["known"] is False
    assert report["protection"]["unreadable"][0]["file"] == f"/{CONFIG_D}/50-deep.yaml"


def test_deep_nesting_that_the_audit_reads_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, CONFIG, "node-label: " + "[" * 50 + "]" * 50 + "\nprofile: cis\n")
    _, report = audit_json(capsys, *no_journal(root), "--role", "agent")
    assert report["protection"]["on"] is True and report["protection"]["known"] is True


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda d: (d / "50-loop.yaml").symlink_to("50-loop.yaml"), "a symbolic link loop"),
        (lambda d: (d / "50-gone.yml").symlink_to("/nowhere.yaml"), "absent"),
        (lambda d: (d / "50-dir.yaml").symlink_to("/etc"), "not a regular file"),
        (lambda d: os.mkfifo(d / "50-fifo.yaml"), "not a regular file"),
    ],
)
def test_an_unreadable_entry_in_config_yaml_d_is_a_finding_rke2_will_not_start(
    make: object, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RKE2 (k3s dotDFiles, then os.ReadFile) fails on every such entry; a folder named
    *.yaml is skipped, as k3s skips it."""
    root = build_root(tmp_path, "ubuntu-22.04")
    folder = root / CONFIG_D
    folder.mkdir(parents=True)
    (folder / "40-real-folder.yaml").mkdir()
    make(folder)  # type: ignore[operator]
    code, out, err = audit(capsys, *no_journal(root), "--role", "agent")
    assert (code, err) == (1, "")
    line = next(x for x in out.splitlines() if "[rke2-config-invalid]" in x)
    assert line.startswith(f"/{CONFIG_D}/50-") and f"({why}): RKE2 will not start" in line


def test_a_dangling_config_yaml_itself_is_no_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """k3s stats config.yaml and treats a missing one (a dangling link too) as none."""
    root = build_root(tmp_path, "ubuntu-22.04")
    (root / "etc/rancher/rke2").mkdir(parents=True)
    (root / CONFIG).symlink_to("/etc/rancher/rke2/gone.yaml")
    put(root, "etc/sysctl.d/90-k.conf", "".join(f"{k}={v}\n" for k, v in REQUIRED.items()))
    live = proc_sys(tmp_path, REQUIRED)
    code, report = audit_json(capsys, *no_journal(root), "--proc-sys", str(live))
    assert (code, report["findings"]) == (0, [])


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder the unprivileged user can traverse (pytest's tmp is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="rke2image-audit-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _as_nobody(root: Path, live: Path) -> subprocess.CompletedProcess[str]:
    empty = root.parent / "empty.log"
    empty.write_text("")
    argv = [sys.executable, "-m", "rke2image", "audit", "--root", str(root)]
    argv += ["--proc-sys", str(live), "--rke2-log", str(empty), "--format", "json"]
    return subprocess.run(
        [*unprivileged_prefix(), *argv], capture_output=True, text=True, check=False
    )


def _readable_tree(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))


def test_without_root_a_0600_config_leaves_protection_unknown_not_an_abort(
    open_dir: Path,
) -> None:
    """An rke2image node audited without root: config.yaml is 0600. The audit reports what
    it read, names what it could not, and says protection is therefore unknown."""
    root = build_root(open_dir, "ubuntu-24.04")
    (node,) = load_nodes([REPO / "examples" / "node.yaml"])
    write_rootfs(render_node(node).files, root)
    put(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\netcd:x:999:999::/:/sbin/nologin\n")
    put(root, "etc/group", "root:x:0:\netcd:x:999:\n")
    log = put(root, "var/lib/rancher/rke2/agent/logs/kubelet.log", "I1126 started\n")
    live = proc_sys(open_dir, REQUIRED)
    _readable_tree(open_dir)
    (root / CONFIG).chmod(0o600)
    log.chmod(0o600)  # lumberjack's mode
    if not unprivileged_prefix() and os.access(root / CONFIG, os.R_OK):
        pytest.skip("cannot drop privileges here")
    result = _as_nobody(root, live)
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["protection"]["known"] is False
    assert report["protection"]["unreadable"] == [
        {"file": f"/{CONFIG}", "reason": "permission denied"}
    ]
    assert rules(report) == [
        ("info", "protection-unknown", f"/{CONFIG}", None),
        ("info", "log-unreadable", "/var/lib/rancher/rke2/agent/logs/kubelet.log", None),
    ]
    # with a wrong value the unknown matters: judged as if protection were on, exit 1
    (live / "kernel/panic").write_text("0\n")
    result = _as_nobody(root, live)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert ("error", "live-value-wrong", None, None) in rules(report)
    assert ("warning", "protection-unknown", f"/{CONFIG}", None) in rules(report)


# Every file the protection and boot readers parse, as node paths.
PARSED = [
    CONFIG,
    f"{CONFIG_D}/50-x.yml",
    "etc/systemd/system/rke2-server.service.d/override.conf",
    "usr/local/lib/systemd/system/rke2-server.service",
    "etc/default/rke2-server",
    "var/lib/rancher/rke2/agent/etc/kubelet.conf.d/00-rke2-defaults.conf",
    "etc/default/grub",
    "boot/grub/grub.cfg",
    "boot/loader/entries/a-6.1.conf",
    "etc/kernel/cmdline",
    "etc/tuned/active_profile",
    "etc/tuned/p/tuned.conf",
    "etc/tuned/tuned-main.conf",
]
# Fragments of each format, so random input reaches past the first syntax check.
FRAGMENTS = st.sampled_from(
    [
        b"profile: cis\n",
        b"kubelet-arg: [&a x, *a, *a]\n",
        b"[Service]\nEnvironment=RKE2_CIS_PROFILE=cis\n",
        b"ExecStartPre=\n",
        b"EnvironmentFile=-/etc/default/%N\n",
        b'GRUB_CMDLINE_LINUX="sysctl.kernel.panic=0 $GRUB_CMDLINE_LINUX"\n',
        b'\tlinux /vmlinuz panic=0 "sysctl.vm.x=1\n',
        b"options oops=panic --\n",
        b"p\n",
        b"[main]\ninclude=p\n[sysctl]\nkernel.panic=0\n",
        b"reapply_sysctl = 0\n",
        b"protectKernelDefaults: true\n",
        b"[[[[{{{{",
        b"\x00\xff\xfe",
        b"\\\n",
    ]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(PARSED),
    st.lists(st.one_of(FRAGMENTS, st.binary(max_size=60)), max_size=6),
)
def test_random_config_unit_and_boot_files_never_abort_the_audit(
    tmp_path_factory: pytest.TempPathFactory, path: str, parts: list[bytes]
) -> None:
    base = tmp_path_factory.mktemp("root")
    root = foreign_root(base, "debian-12")
    (root / TUNED).parent.mkdir(parents=True, exist_ok=True)
    if not (root / TUNED).is_symlink():
        (root / TUNED).symlink_to("/usr/lib/systemd/system/tuned.service")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"".join(parts))
    report = run_audit(AuditOptions(root=root, journal=False, role="server"))
    assert report.node_name == "debian-12-node"
    assert all("\n" not in f.rule for f in report.findings)
