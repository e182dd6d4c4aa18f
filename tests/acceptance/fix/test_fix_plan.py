"""`rke2image fix` without --apply: the plan, and not one byte changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.audit.roots import build_root, proc_sys, put
from acceptance.fix.incident import LATER, SYSCTL_CONF_ZEROS, incident_root, snapshot
from acceptance.fix.support import fix, fix_json
from rke2image.kernel import REQUIRED_PARAMETERS

REQUIRED = {p.key: p.value for p in REQUIRED_PARAMETERS}


def test_the_plan_changes_nothing_and_shows_each_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, live = incident_root(tmp_path)
    before, live_before = snapshot(root), snapshot(live)
    code, out, err = fix(capsys, "--root", str(root), "--proc-sys", str(live))
    assert (code, err) == (1, "")
    assert snapshot(root) == before and snapshot(live) == live_before
    assert "sysctl -w kernel.panic=10    # was 0" in out
    assert "+++ /etc/sysctl.d/99-zz-rke2image.conf\n" in out
    assert "-kernel.panic = 0\n+# rke2image fix " in out
    assert "useradd --root " in out and " --system " in out and "--user-group etcd" in out
    assert "nothing was changed" in out


def test_the_plan_in_json_is_versioned_and_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, live = incident_root(tmp_path)
    code, data = fix_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 1
    assert (data["schema"], data["mode"], data["ok"], data["id"]) == (
        "rke2image.fix/v1",
        "plan",
        False,
        None,
    )
    plan = data["plan"]
    assert [(w["key"], w["from"], w["to"]) for w in plan["live"]] == [
        ("vm.overcommit_memory", "0", "1"),
        ("kernel.panic", "0", "10"),
        ("kernel.panic_on_oops", "0", "1"),
    ]
    assert [(f["path"], f["action"]) for f in plan["files"]] == [
        ("/etc/sysctl.d/99-zz-rke2image.conf", "create"),
        ("/etc/sysctl.conf", "edit"),
        ("/" + LATER, "edit"),
    ]
    assert [a["kind"] for a in plan["accounts"]] == ["user+group"]
    assert plan["restart"] is None  # not asked for, and not a live node
    # A node rke2image did not build: its own drop-in is not asked for, nothing is left.
    assert plan["left"] == []


def test_sysctl_conf_is_commented_because_procps_reads_it_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """systemd-sysctl reads /etc/sysctl.conf early (as 99-sysctl.conf, overridden by
    rke2image's file); `sysctl --system` applies it last, so there it would win."""
    root, live = incident_root(tmp_path)
    _, data = fix_json(capsys, "--root", str(root), "--proc-sys", str(live))
    [conf] = [f for f in data["plan"]["files"] if f["path"] == "/etc/sysctl.conf"]
    assert all("(sysctl --system)" in reason for reason in conf["reasons"])
    assert len(conf["reasons"]) == len(SYSCTL_CONF_ZEROS.splitlines())


def test_a_compliant_node_has_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/90-kubelet.conf", "".join(f"{k}={v}\n" for k, v in REQUIRED.items()))
    live = proc_sys(tmp_path, REQUIRED)
    code, out, _ = fix(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 0
    assert out.endswith("nothing to do\n")


def test_an_image_root_gets_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mounted disk of a dead VM: without --proc-sys nothing live is read or written."""
    root, _ = incident_root(tmp_path)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    assert data["plan"]["live"] == []
    assert len(data["plan"]["files"]) == 3


def test_only_a_wrong_live_value_is_only_a_live_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/90-kubelet.conf", "".join(f"{k}={v}\n" for k, v in REQUIRED.items()))
    live = proc_sys(tmp_path, {**REQUIRED, "kernel.panic": "0"})
    code, data = fix_json(capsys, "--root", str(root), "--proc-sys", str(live))
    assert code == 1
    assert [w["key"] for w in data["plan"]["live"]] == ["kernel.panic"]
    assert data["plan"]["files"] == [] and data["plan"]["accounts"] == []


def test_rke2images_own_file_is_updated_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    text = "".join(f"{k} = {v}\n" for k, v in REQUIRED.items()).replace(
        "kernel.panic = 10", "kernel.panic = 0"
    )
    put(root, "etc/sysctl.d/99-zz-rke2image.conf", "# ours\n" + text)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    [ours] = data["plan"]["files"]
    assert ours["action"] == "edit"
    assert "-kernel.panic = 0\n+kernel.panic = 10\n" in ours["diff"]


def test_a_line_in_a_vendor_folder_that_wins_is_commented_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Persistence under systemd-sysctl's order across folders: a later name wins,
    whichever folder holds it."""
    root = build_root(tmp_path, "debian-12")
    put(root, "usr/lib/sysctl.d/99-zzz-vendor.conf", "vm.panic_on_oom = 1\n")
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    paths = [f["path"] for f in data["plan"]["files"]]
    assert paths == ["/etc/sysctl.d/99-zz-rke2image.conf", "/usr/lib/sysctl.d/99-zzz-vendor.conf"]
    [vendor] = data["plan"]["files"][1:]
    assert (
        "`vm.panic_on_oom = 1` overrides 0 at the next boot (systemd-sysctl)"
        in (vendor["reasons"][0])
    )


def test_an_earlier_line_that_loses_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only lines that would override are touched: an earlier wrong value loses to
    rke2image's file under both tools."""
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/10-early.conf", "kernel.panic = 0\n")
    _, data = fix_json(capsys, "--root", str(root))
    assert [f["path"] for f in data["plan"]["files"]] == ["/etc/sysctl.d/99-zz-rke2image.conf"]


def test_a_link_to_sysctl_conf_is_edited_at_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian's 99-sysctl.conf -> ../sysctl.conf: the file edited is /etc/sysctl.conf, and
    the link stays a link."""
    root, _ = incident_root(tmp_path)
    code, _out, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 0
    link = root / "etc/sysctl.d/99-sysctl.conf"
    assert link.is_symlink() and str(link.readlink()) == "../sysctl.conf"


def test_bad_flags_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = incident_root(tmp_path)
    with pytest.raises(SystemExit) as exited:
        fix(capsys, "--root", str(root), "--timeout", "soon")
    assert exited.value.code == 2
    code, _, err = fix(capsys, "--root", str(root), "--restart", "--apply")
    assert code == 2 and "only with --root /" in err
    code, _, err = fix(capsys, "--root", str(root), "--undo", "--apply")
    assert code == 2 and "--undo goes alone" in err
    code, _, err = fix(capsys, "--root", str(tmp_path / "nowhere"))
    assert code == 2 and "the root is not a folder" in err
    for flag in ("--root", "--proc-sys"):  # '' would fix the current folder: refused
        with pytest.raises(SystemExit) as exited:
            fix(capsys, flag, "")
        assert exited.value.code == 2
        assert f"{flag} is empty" in capsys.readouterr().err


def test_a_winning_line_outside_the_sysctl_folders_is_left_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sysctl.d link into /opt: fix writes only the sysctl folders, so it names the line
    and leaves it, and the plan says the key cannot be persisted."""
    root = build_root(tmp_path, "debian-12")
    put(root, "opt/tuning/zz.conf", "kernel.panic = 0\n")
    (root / "etc/sysctl.d/99-zzzz-opt.conf").symlink_to("/opt/tuning/zz.conf")
    _, data = fix_json(capsys, "--root", str(root))
    assert [f["path"] for f in data["plan"]["files"]] == ["/etc/sysctl.d/99-zz-rke2image.conf"]
    [stuck] = [f for f in data["plan"]["left"] if f["rule"] == "fix-cannot-persist"]
    assert stuck["key"] == "kernel.panic"
    assert "/etc/sysctl.d/99-zzzz-opt.conf:1 sets 0, outside what fix edits" in stuck["message"]


def test_the_host_kernel_is_never_written_for_another_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = incident_root(tmp_path)
    _, data = fix_json(capsys, "--root", str(root))
    assert data["plan"]["live"] == []
    assert all("--root" in a["argv"] for a in data["plan"]["accounts"])


def test_a_line_that_is_no_longer_the_one_the_audit_read_is_left_not_guessed(
    tmp_path: Path,
) -> None:
    """Between the audit and the plan someone edited the file (or a tool numbers lines
    otherwise): fix edits nothing in that file and names the line instead."""
    from rke2image.fix.persist import Edit, Persistence, Stuck
    from rke2image.fix.plan import _file_changes
    from rke2image.rootfs import RootFS

    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/99-zzzz-x.conf", "# now a comment\n# kernel.panic = 0\n")
    kept = Persistence(
        None,
        None,
        (),
        "/etc/sysctl.d/99-zz-rke2image.conf",
        (Edit("/etc/sysctl.d/99-zzzz-x.conf", 2, "overrides", "kernel.panic"),),
        (),
    )
    files, skipped = _file_changes(RootFS(root), kept, "2026-12-04")
    assert files == ()
    assert skipped == (
        Stuck(
            "kernel.panic",
            "/etc/sysctl.d/99-zzzz-x.conf:2 is not the line the audit read",
            "run rke2image fix again: the file changed since the audit read it",
            "/etc/sysctl.d/99-zzzz-x.conf",
            2,
        ),
    )


def test_control_characters_in_a_file_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/99-zzzz-evil.conf", "kernel.panic = 0 \x1b[2J\x07\r\n")
    code, out, _ = fix(capsys, "--root", str(root))
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "-kernel.panic = 0 \\x1b[2J\\x07\\x0d" in out
