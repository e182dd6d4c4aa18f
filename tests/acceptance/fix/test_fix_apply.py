"""`rke2image fix --apply` and `--undo`: what changes, what is kept, and the way back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from acceptance.fix.incident import LATER, incident_root, snapshot
from acceptance.fix.support import JOURNAL, audit_json, changed, fix, fix_json, live

ALLOWED = {
    "etc/sysctl.conf",
    "etc/sysctl.d/99-zz-rke2image.conf",
    LATER,
    *(f"etc/{db}{end}" for db in ("passwd", "group", "shadow", "gshadow") for end in ("", "-")),
    "etc/.pwd.lock",
}


def test_apply_fixes_the_incident_and_the_audit_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, proc = incident_root(tmp_path)
    code, data = fix_json(capsys, "--root", str(root), "--proc-sys", str(proc), "--apply")
    assert code == 0, data["after"]
    assert data["mode"] == "apply" and data["id"]
    # A node rke2image did not build is judged on its values alone: nothing is left.
    assert data["after"] == {"compliant": True, "fixed": True, "left": [], "wait_error": None}
    assert (live(proc, "kernel.panic"), live(proc, "vm.overcommit_memory")) == ("10", "1")
    _, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(proc))
    assert {p["verdict"] for p in report["parameters"]} == {"ok"}
    assert report["summary"]["compliant"] and report["managed"] is False
    passwd = (root / "etc/passwd").read_text()
    assert "etcd:x:" in passwd and ":etcd user:" in passwd and passwd.endswith(":/sbin/nologin\n")
    assert "\netcd:x:" in (root / "etc/group").read_text()


def test_a_commented_line_names_rke2image_the_date_and_the_old_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = incident_root(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764806400")  # 2025-12-04
    fix(capsys, "--root", str(root), "--apply")
    assert (root / LATER).read_text().splitlines()[1] == (
        "# rke2image fix 2025-12-04 commented out: kernel.panic = 0"
    )


def test_nothing_outside_the_sysctl_and_account_files_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, proc = incident_root(tmp_path)
    before = snapshot(root)
    fix(capsys, "--root", str(root), "--proc-sys", str(proc), "--apply")
    assert changed(before, snapshot(root)) <= ALLOWED
    journal = root / JOURNAL
    assert stat.S_IMODE(journal.stat().st_mode) == 0o700
    [fix_dir] = journal.iterdir()
    assert stat.S_IMODE(fix_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in fix_dir.iterdir())
    assert not [p for p in fix_dir.iterdir() if p.name.endswith(".conf")]


def test_a_second_apply_finds_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, proc = incident_root(tmp_path)
    fix(capsys, "--root", str(root), "--proc-sys", str(proc), "--apply")
    after = snapshot(root)
    code, out, _ = fix(capsys, "--root", str(root), "--proc-sys", str(proc))
    assert code == 0 and out.endswith("nothing to do\n")
    code, data = fix_json(capsys, "--root", str(root), "--proc-sys", str(proc), "--apply")
    assert code == 0
    assert data["plan"]["files"] == [] and data["plan"]["live"] == []
    assert data["id"] is None
    assert snapshot(root) == after  # not even a journal


def test_undo_restores_every_file_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, proc = incident_root(tmp_path)
    before = snapshot(root)
    modes = {p: (root / p).stat().st_mode for p in before if not (root / p).is_symlink()}
    fix(capsys, "--root", str(root), "--proc-sys", str(proc), "--apply")
    code, out, _ = fix(capsys, "--root", str(root), "--undo")
    assert code == 0
    assert "removed /etc/sysctl.d/99-zz-rke2image.conf" in out
    assert "kernel.panic = 10 (was 0)" in out  # live values are not put back
    assert changed(before, snapshot(root)) == set()
    assert {p: (root / p).stat().st_mode for p in modes} == modes
    code, _, err = fix(capsys, "--root", str(root), "--undo")
    assert code == 2 and "nothing to undo" in err


def test_undo_takes_an_id_and_refuses_a_file_edited_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = incident_root(tmp_path)
    _, data = fix_json(capsys, "--root", str(root), "--apply")
    (root / LATER).write_text("# edited by hand since\n")
    edited = snapshot(root)
    code, _, err = fix(capsys, "--root", str(root), "--undo", data["id"])
    assert code == 2 and f"/{LATER} changed since fix {data['id']}: nothing was restored" in err
    assert snapshot(root) == edited
    code, _, err = fix(capsys, "--root", str(root), "--undo", "19700101T000000Z")
    assert code == 2 and "no fix 19700101T000000Z" in err


def test_mode_owner_and_selinux_context_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = incident_root(tmp_path)
    later = root / LATER
    later.chmod(0o640)
    os.chown(later, 1234, 5678)
    context = b"system_u:object_r:system_conf_t:s0\0"
    os.setxattr(later, "security.selinux", context)
    fix(capsys, "--root", str(root), "--apply")
    info = later.stat()
    assert "commented out" in later.read_text()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 1234, 5678)
    assert os.getxattr(later, "security.selinux") == context
    fix(capsys, "--root", str(root), "--undo")
    info = later.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 1234, 5678)
    assert os.getxattr(later, "security.selinux") == context


# useradd --root chroots, then looks the group up through NSS: glibc before 2.34 (Debian 11)
# loads libnss_files.so from the root, which this minimal fake root lacks ("group 'etcd' does
# not exist"); a real node's root has it, and Debian 12's glibc has files built in.
@pytest.mark.host_tools
def test_only_the_group_or_only_the_user_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = incident_root(tmp_path)
    (root / "etc/group").write_text("root:x:0:\netcd:x:990:\n")
    _, data = fix_json(capsys, "--root", str(root))
    [step] = data["plan"]["accounts"]
    assert step["kind"] == "user" and step["argv"][-3:] == ["--gid", "etcd", "etcd"]
    fix(capsys, "--root", str(root), "--apply")
    assert "etcd:x:" in (root / "etc/passwd").read_text()
    assert ":990:etcd user:" in (root / "etc/passwd").read_text()

    other, _ = incident_root(tmp_path / "other")
    (other / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\netcd:x:990:990::/:/x\n")
    _, data = fix_json(capsys, "--root", str(other))
    [step] = data["plan"]["accounts"]
    assert step["kind"] == "group" and step["argv"][0] == "groupadd"
    fix(capsys, "--root", str(other), "--apply")
    assert "\netcd:x:" in (other / "etc/group").read_text()


def test_an_agent_gets_no_etcd_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = incident_root(tmp_path)
    _, data = fix_json(capsys, "--root", str(root), "--role", "agent")
    assert data["plan"]["accounts"] == []


def test_a_file_edited_between_plan_and_apply_stops_it_before_any_change(
    tmp_path: Path,
) -> None:
    from rke2image.audit import AuditOptions
    from rke2image.errors import InputError
    from rke2image.fix import FixOptions, apply_plan, make_plan
    from rke2image.fix.plan import audit

    root, proc = incident_root(tmp_path)
    options = FixOptions(AuditOptions(root=root, proc_sys=proc))
    plan = make_plan(options, audit(options))
    (root / LATER).write_text("kernel.panic = 1\n")
    before, live_before = snapshot(root), snapshot(proc)
    with pytest.raises(InputError, match=f"/{LATER} changed since the plan was made"):
        apply_plan(options, plan)
    assert snapshot(root) == before and snapshot(proc) == live_before
