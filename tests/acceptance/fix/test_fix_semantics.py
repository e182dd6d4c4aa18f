"""`rke2image fix` plans with the audit's own boot semantics: systemd's bare `-key`, keys
as the tools normalise them, values as the kernel parses them, and the writers around
the sysctl files (the kernel command line before them, TuneD after them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acceptance.audit.roots import build_root, proc_sys, put
from acceptance.audit.test_boot_writers import tuned_node
from acceptance.fix.incident import snapshot
from acceptance.fix.support import audit_json, changed, fix, fix_json
from rke2image import paths
from rke2image.kernel import REQUIRED_PARAMETERS

REQUIRED = {p.key: p.value for p in REQUIRED_PARAMETERS}
OURS = paths.SYSCTL_FILE
OURS_REL = OURS.lstrip("/")  # below the root: never the host's /etc


def kubelet_file(**values: str) -> str:
    """The required values, some replaced (``kernel_panic="012"``)."""
    merged = {**REQUIRED, **{k.replace("_", ".", 1): v for k, v in values.items()}}
    return "".join(f"{k} = {v}\n" for k, v in merged.items())


def files(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in data["plan"]["files"]}


def stuck(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in data["plan"]["left"] if f["rule"] == "fix-cannot-persist"}


def verdicts(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, str]:
    _, report = audit_json(capsys, "--root", str(root))
    return {p["key"]: p["verdict"] for p in report["parameters"]}


def test_a_later_bare_minus_key_that_cancels_the_value_is_commented_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """systemd-sysctl: a later bare `-kernel.panic` replaces the key's entry and is never
    written, so the kernel keeps its default 0 however right rke2image's file is."""
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/90-kubelet.conf", kubelet_file())
    put(root, "etc/sysctl.d/99-zzzz-minus.conf", "# keep off\n-kernel.panic\n")
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    minus = files(data)["/etc/sysctl.d/99-zzzz-minus.conf"]
    assert minus["reasons"] == [
        "/etc/sysctl.d/99-zzzz-minus.conf:2 `-kernel.panic` cancels kernel.panic = 10 "
        "at the next boot (systemd-sysctl)"
    ]
    assert "-kernel.panic\n+# rke2image fix " in minus["diff"]
    assert stuck(data) == {}
    code, _, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 0
    assert set(verdicts(capsys, root).values()) == {"ok"}


def test_a_bare_minus_key_in_rke2images_own_file_is_rewritten_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_root(tmp_path, "debian-12")
    put(root, OURS_REL, kubelet_file() + "-kernel.panic\n")
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    assert list(files(data)) == [OURS]
    assert "--kernel.panic\n+kernel.panic = 10\n" in files(data)[OURS]["diff"]


def test_an_odd_spelling_of_the_key_that_wins_is_commented_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kernel//panic` names kernel.panic for both tools (systemd normalises it, the
    kernel's path walk folds it): a later line spelled so wins, and is commented out."""
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/90-kubelet.conf", kubelet_file())
    put(root, "etc/sysctl.d/99-zzzz-odd.conf", "kernel//panic = 0\n")
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    assert list(files(data)) == [OURS, "/etc/sysctl.d/99-zzzz-odd.conf"]
    odd = files(data)["/etc/sysctl.d/99-zzzz-odd.conf"]
    assert odd["reasons"] == [
        "/etc/sysctl.d/99-zzzz-odd.conf:1 `kernel.panic = 0` overrides 10 at the next boot "
        "(systemd-sysctl)"
    ]
    assert "-kernel//panic = 0\n+# rke2image fix " in odd["diff"]
    code, _, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 0
    assert set(verdicts(capsys, root).values()) == {"ok"}


def test_a_value_right_as_the_kernel_parses_it_needs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kernel.panic = 012` is 10 to the kernel (base 0): the node is compliant."""
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/sysctl.d/90-kubelet.conf", kubelet_file(kernel_panic="012"))
    live = proc_sys(tmp_path, REQUIRED)
    before = snapshot(root)
    code, out, _ = fix(capsys, "--root", str(root), "--proc-sys", str(live))
    assert (code, out.splitlines()[-1]) == (0, "nothing to do")
    code, _, _ = fix(capsys, "--root", str(root), "--proc-sys", str(live), "--apply")
    assert code == 0 and snapshot(root) == before


def test_a_right_value_in_rke2images_own_file_is_not_respelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rke2image's file says `kernel.panic = 0xa` (10): only the later zero is touched."""
    root = build_root(tmp_path, "debian-12")
    put(root, OURS_REL, kubelet_file(kernel_panic="0xa"))
    put(root, "etc/sysctl.d/99-zzzz-later.conf", "kernel.panic = 0\n")
    _, data = fix_json(capsys, "--root", str(root))
    assert list(files(data)) == ["/etc/sysctl.d/99-zzzz-later.conf"]


def test_the_kernel_command_line_is_overridden_by_rke2images_file_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sysctl.kernel.panic=0` on the command line is written before systemd-sysctl runs:
    rke2image's file wins over it, and the plan says which setting it leaves in GRUB."""
    root = build_root(tmp_path, "debian-12")
    put(root, "etc/default/grub", 'GRUB_CMDLINE_LINUX="console=ttyS0 sysctl.kernel.panic=0"\n')
    before = snapshot(root)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1 and stuck(data) == {}
    assert (
        "kernel.panic = 0 from the kernel command line (/etc/default/grub:1) is overridden "
        "by this file at the next boot, and left as it is"
    ) in files(data)[OURS]["reasons"]
    code, _, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 0
    assert changed(before, snapshot(root)) == {OURS_REL}


def tuned_root(base: Path, reapply: str, etc_line: bool) -> Path:
    """The audit's TuneD node (RHEL 9, its profile zeroing vm.overcommit_memory and, by
    an included profile, kernel.panic after the sysctl files), with the team's kubelet
    values moved to /usr/lib/sysctl.d, which TuneD never re-applies."""
    root = tuned_node(base, reapply)
    (root / "etc/sysctl.d/90-kubelet.conf").rename(root / "usr/lib/sysctl.d/90-kubelet.conf")
    if etc_line:
        put(root, "etc/sysctl.d/50-team.conf", "vm.swappiness = 10\n")
    return root


def test_a_tuned_profile_that_wins_is_left_and_named_with_the_audits_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without reapply_sysctl, TuneD writes its profile after every sysctl file: no
    sysctl line fix may comment out helps, so the plan says so, and --apply fails."""
    root = tuned_root(tmp_path, reapply="0", etc_line=True)
    before = snapshot(root)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    assert list(files(data)) == [OURS]
    left = stuck(data)
    assert {k: (f["file"], f["line"]) for k, f in left.items()} == {
        "vm.overcommit_memory": ("/etc/tuned/rke2-node/tuned.conf", 6),
        "kernel.panic": ("/usr/lib/tuned/throughput-performance/tuned.conf", 5),
    }
    assert left["kernel.panic"]["message"].startswith(
        "kernel.panic: TuneD sets kernel.panic = 0 "
        "(/usr/lib/tuned/throughput-performance/tuned.conf:5) "
        "after every sysctl file, and fix edits only sysctl files"
    )
    _, report = audit_json(capsys, "--root", str(root))
    for param in report["parameters"]:
        if param["key"] in left:
            assert left[param["key"]]["fix"] in param["fix"]
            assert "TuneD profile rke2-node" in param["fix"]
    code, after = fix_json(capsys, "--root", str(root), "--apply")
    assert (code, after["ok"], after["after"]["compliant"]) == (1, False, False)
    assert {f["key"] for f in after["after"]["left"]} == set(left)
    assert changed(before, snapshot(root)) == {OURS_REL}


def test_tuned_reapplying_etc_sysctl_d_lets_rke2images_file_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With reapply_sysctl on, TuneD writes /etc/sysctl.d again after its profile:
    rke2image's new file is among them, so the key is fixed, and the plan says so."""
    root = tuned_root(tmp_path, reapply="1", etc_line=True)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1 and stuck(data) == {}
    assert any(
        "kernel.panic = 0 from TuneD (/usr/lib/tuned/throughput-performance/tuned.conf:5)" in r
        for r in files(data)[OURS]["reasons"]
    )
    code, after = fix_json(capsys, "--root", str(root), "--apply")
    assert (code, after["after"]["compliant"]) == (0, True)


def test_tuned_whose_reapplication_is_unknown_is_named_and_apply_tells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reapply_sysctl on, but /etc/sysctl.d and /etc/sysctl.conf set nothing yet: the
    audit's writers do not say whether TuneD re-applies them, so the plan does not count
    on it and says so; the audit after --apply finds rke2image's file re-applied."""
    root = tuned_root(tmp_path, reapply="1", etc_line=False)
    _, data = fix_json(capsys, "--root", str(root))
    left = stuck(data)
    assert set(left) == {"vm.overcommit_memory", "kernel.panic"}
    assert all("unless TuneD re-applies /etc/sysctl.d" in f["message"] for f in left.values())
    code, after = fix_json(capsys, "--root", str(root), "--apply")
    assert (code, after["after"]["compliant"]) == (0, True)


def test_rke2images_own_checks_stay_on_a_node_it_manages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A root holding rke2image's modules file is judged as rke2image built it: fix does
    not install the drop-in, so --apply fixes the values and still exits 1, naming it."""
    root = build_root(tmp_path, "debian-12")
    put(root, paths.MODULES_FILE.lstrip("/"), "overlay\nbr_netfilter\n")
    put(root, "etc/sysctl.d/99-zzzz-later.conf", "kernel.panic = 0\n")
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1
    assert {f["rule"] for f in data["plan"]["left"]} == {"dropin-missing"}
    code, out, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 1
    assert "[dropin-missing]" in out and out.endswith("NOT compliant after the fix\n")
    assert set(verdicts(capsys, root).values()) == {"ok"}


@pytest.mark.parametrize(
    ("systemd", "tool"), [("252", "sysctl --system"), ("247", "systemd-sysctl")]
)
def test_a_dot_dot_key_is_judged_by_the_roots_own_systemd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], systemd: str, tool: str
) -> None:
    """`kernel/../kernel/panic`: systemd 252+ refuses a `..` part, 247 lets the kernel
    walk it, procps always does. The plan names the first tool it wins under, for the
    systemd-sysctl this root holds."""
    root = build_root(tmp_path, "debian-12")
    put(root, "usr/lib/systemd/systemd-sysctl", f"\0libsystemd-shared-{systemd}.so\0")
    put(root, "etc/sysctl.d/90-kubelet.conf", kubelet_file())
    put(root, "etc/sysctl.d/99-zzzz-dots.conf", "kernel/../kernel/panic = 0\n")
    _, data = fix_json(capsys, "--root", str(root))
    dots = files(data)["/etc/sysctl.d/99-zzzz-dots.conf"]
    assert dots["reasons"] == [
        f"/etc/sysctl.d/99-zzzz-dots.conf:1 `kernel.panic = 0` overrides 10 at the next boot "
        f"({tool})"
    ]


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("/dev/null", "masked (a link to /dev/null)"),
        ("/opt/tuning/x.conf", "a link to /opt/tuning/x.conf, outside the sysctl folders"),
    ],
)
def test_rke2images_file_as_a_link_is_named_and_never_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str, why: str
) -> None:
    """A mask, or a link out of the sysctl folders: writing through it would write outside
    them, replacing it would undo someone's choice. fix names it and changes no file."""
    root = build_root(tmp_path, "debian-12")
    put(root, "opt/tuning/x.conf", "kernel.panic = 0\n")
    (root / OURS_REL).symlink_to(link)
    before = snapshot(root)
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1 and data["plan"]["files"] == []
    left = stuck(data)
    assert {"kernel.panic", "vm.overcommit_memory", "kernel.panic_on_oops"} <= set(left)
    assert left["kernel.panic"]["message"] == (
        f"kernel.panic: rke2image's sysctl file {OURS} is {why}: fix does not replace it"
    )
    code, out, _ = fix(capsys, "--root", str(root), "--apply")
    assert code == 1 and "[fix-cannot-persist]" in out
    assert changed(before, snapshot(root)) == set()


def test_a_managed_node_missing_only_rke2images_file_gets_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every value right, but the audit of a node rke2image manages misses its sysctl file
    (sysctl-file-missing): that file is the fix's to write, the drop-in is not."""
    root = build_root(tmp_path, "debian-12")
    put(root, paths.MODULES_FILE.lstrip("/"), "overlay\nbr_netfilter\n")
    put(root, "etc/sysctl.d/90-kubelet.conf", kubelet_file())
    _, report = audit_json(capsys, "--root", str(root))
    assert {f["rule"] for f in report["findings"]} == {"dropin-missing", "sysctl-file-missing"}
    code, data = fix_json(capsys, "--root", str(root))
    assert code == 1 and [f["action"] for f in data["plan"]["files"]] == ["create"]
    assert {f["rule"] for f in data["plan"]["left"]} == {"dropin-missing"}
