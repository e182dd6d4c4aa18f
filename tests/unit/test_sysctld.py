"""sysctl.d read as systemd-sysctl and procps `sysctl --system` read it (sysctl.d(5))."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from rke2image.rootfs import RootFS
from rke2image.sysctld import list_files, read_plan
from rke2image.sysctlparse import Assignment, procps3_parse, procps4_parse, systemd_parse
from rke2image.sysctltools import ToolVersion


def put(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def plan_value(root: Path, tool: str, key: str) -> tuple[str | None, str | None, int | None]:
    outcome = read_plan(RootFS(root), tool).resolve(key)  # type: ignore[arg-type]
    winner = outcome.winner
    return outcome.value, winner.file if winner else None, winner.line if winner else None


def test_one_order_by_file_name_across_folders(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/sysctl.d/10-a.conf", "kernel.panic = 1\n")
    put(tmp_path, "etc/sysctl.d/20-b.conf", "kernel.panic = 2\n")
    put(tmp_path, "run/sysctl.d/30-c.conf", "kernel.panic = 3\n")
    put(tmp_path, "usr/local/lib/sysctl.d/40-d.conf", "\n\nkernel.panic = 4\n")
    assert plan_value(tmp_path, "systemd", "kernel.panic") == (
        "4",
        "/usr/local/lib/sysctl.d/40-d.conf",
        3,
    )
    overridden = read_plan(RootFS(tmp_path), "systemd").resolve("kernel.panic").overridden
    assert [(a.file, a.value) for a in overridden] == [
        ("/usr/lib/sysctl.d/10-a.conf", "1"),
        ("/etc/sysctl.d/20-b.conf", "2"),
        ("/run/sysctl.d/30-c.conf", "3"),
    ]


def test_same_name_in_an_earlier_folder_masks_the_later_ones(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/sysctl.d/50-x.conf", "kernel.panic = 0\n")
    put(tmp_path, "run/sysctl.d/50-x.conf", "kernel.panic = 5\n")
    put(tmp_path, "etc/sysctl.d/50-x.conf", "kernel.panic = 10\n")
    files = list_files(RootFS(tmp_path), "systemd")
    assert [(f.path, f.shadows) for f in files] == [
        ("/etc/sysctl.d/50-x.conf", ("/run/sysctl.d/50-x.conf", "/usr/lib/sysctl.d/50-x.conf"))
    ]
    assert plan_value(tmp_path, "systemd", "kernel.panic") == ("10", "/etc/sysctl.d/50-x.conf", 1)


def test_a_link_to_dev_null_masks_even_when_the_root_has_no_dev(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/sysctl.d/50-x.conf", "kernel.panic = 0\n")
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    os.symlink("/dev/null", tmp_path / "etc/sysctl.d/50-x.conf")
    [conf] = list_files(RootFS(tmp_path), "systemd")
    assert conf.masked and conf.path == "/etc/sysctl.d/50-x.conf"
    assert plan_value(tmp_path, "systemd", "kernel.panic") == (None, None, None)


def test_dot_and_slash_forms_name_one_key(tmp_path: Path) -> None:
    put(
        tmp_path,
        "etc/sysctl.d/10-a.conf",
        "kernel/panic = 3\nkernel.panic=4\n  /kernel/panic  =  5  \n",
    )
    assert plan_value(tmp_path, "systemd", "kernel.panic") == ("5", "/etc/sysctl.d/10-a.conf", 3)


def test_slash_form_keeps_interface_dots(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "net/ipv4/conf/eth0.100/forwarding = 1\n")
    assert plan_value(tmp_path, "systemd", "net.ipv4.conf.eth0/100.forwarding")[0] == "1"


def test_dash_prefix_still_sets_the_value(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "-kernel.panic = 10\n")
    plan = read_plan(RootFS(tmp_path), "systemd")
    winner = plan.resolve("kernel.panic").winner
    assert winner is not None and winner.ignore_failure and winner.value == "10"


def test_an_explicit_key_beats_a_glob_whatever_the_order_under_systemd(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "kernel.panic = 10\n")
    put(tmp_path, "etc/sysctl.d/20-b.conf", "kernel.pani* = 0\n")
    assert plan_value(tmp_path, "systemd", "kernel.panic") == ("10", "/etc/sysctl.d/10-a.conf", 1)
    # procps 4 reads every file first and never lets a glob override a named key;
    # procps 3.3 expands no glob at all.
    fs = RootFS(tmp_path)
    for version in ("4.0.2", "3.3.17"):
        plan = read_plan(fs, "procps", ToolVersion("procps", version, None))
        assert plan.resolve("kernel.panic").value == "10"
    plan = read_plan(fs, "procps", ToolVersion("procps", "3.3.17", None))
    assert plan.resolve("kernel.panic_on_oops").value is None


def test_a_glob_sets_a_key_nothing_else_names(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "kernel.panic_on_* = 0\nkernel.* = 7\n")
    assert plan_value(tmp_path, "systemd", "kernel.panic_on_oops") == (
        "7",
        "/etc/sysctl.d/10-a.conf",
        2,
    )
    # one * matches one path segment: kernel.keys.root_maxkeys is two deep
    assert plan_value(tmp_path, "systemd", "kernel.keys.root_maxkeys")[0] is None


def test_bare_dash_key_keeps_globs_off_that_key(tmp_path: Path) -> None:
    put(
        tmp_path,
        "usr/lib/sysctl.d/50-default.conf",
        "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n",
    )
    assert plan_value(tmp_path, "systemd", "net.ipv4.conf.all.rp_filter")[0] is None
    assert plan_value(tmp_path, "systemd", "net.ipv4.conf.eth0.rp_filter")[0] == "2"


def test_procps_adds_lib_and_applies_etc_sysctl_conf_last(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/99-zz.conf", "vm.overcommit_memory = 1\n")
    put(tmp_path, "lib/sysctl.d/98-lib.conf", "vm.panic_on_oom = 1\n")
    put(tmp_path, "etc/sysctl.conf", "# stock\nvm.overcommit_memory = 0\n")
    assert plan_value(tmp_path, "systemd", "vm.overcommit_memory") == (
        "1",
        "/etc/sysctl.d/99-zz.conf",
        1,
    )
    assert plan_value(tmp_path, "procps", "vm.overcommit_memory") == ("0", "/etc/sysctl.conf", 2)
    assert [f.path for f in list_files(RootFS(tmp_path), "procps")][-1] == "/etc/sysctl.conf"
    assert plan_value(tmp_path, "procps", "vm.panic_on_oom")[0] == "1"


def test_99_sysctl_link_reads_etc_sysctl_conf_at_its_place_in_the_order(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.conf", "kernel.panic = 0\n")
    put(tmp_path, "etc/sysctl.d/99-zz.conf", "kernel.panic = 10\n")
    os.symlink("../sysctl.conf", tmp_path / "etc/sysctl.d/99-sysctl.conf")
    assert plan_value(tmp_path, "systemd", "kernel.panic") == ("10", "/etc/sysctl.d/99-zz.conf", 1)
    assert plan_value(tmp_path, "procps", "kernel.panic") == ("0", "/etc/sysctl.conf", 1)


def test_absolute_links_resolve_inside_the_root_never_on_the_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "etc/sysctl.conf", "kernel.panic = 42\n")
    (root / "etc/sysctl.d").mkdir()
    os.symlink("/etc/sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    os.symlink("/../../../../etc/../etc/sysctl.conf", root / "etc/sysctl.d/98-dots.conf")
    fs = RootFS(root)
    assert fs.resolve("/etc/sysctl.d/99-sysctl.conf").host_path == root / "etc/sysctl.conf"
    assert fs.resolve("/etc/sysctl.d/98-dots.conf").host_path == root / "etc/sysctl.conf"
    # the same value twice: systemd keeps the first line's entry (parse_file, streq_ptr)
    assert plan_value(root, "systemd", "kernel.panic") == ("42", "/etc/sysctl.d/98-dots.conf", 1)


def test_a_linked_folder_resolves_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    put(root, "usr/lib/sysctl.d/50-x.conf", "kernel.panic = 3\n")
    os.symlink("/usr/lib", root / "lib")
    fs = RootFS(root)
    # /lib -> /usr/lib is one folder on merged-usr: read once, no shadowing noise
    assert [(f.path, f.shadows) for f in list_files(fs, "procps")] == [
        ("/usr/lib/sysctl.d/50-x.conf", ())
    ]


def test_dangling_link_is_skipped_but_still_masks_by_name(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/sysctl.d/50-x.conf", "kernel.panic = 3\n")
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    os.symlink("/nowhere.conf", tmp_path / "etc/sysctl.d/50-x.conf")
    [conf] = list_files(RootFS(tmp_path), "systemd")
    assert conf.missing and conf.shadows == ("/usr/lib/sysctl.d/50-x.conf",)
    assert plan_value(tmp_path, "systemd", "kernel.panic")[0] is None


def test_a_link_loop_is_skipped_and_the_rest_applies(tmp_path: Path) -> None:
    """systemd-sysctl: "Failed to open file ..., ignoring: Too many levels of symbolic
    links"; the looping name still masks the same name in later folders."""
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    os.symlink("b.conf", tmp_path / "etc/sysctl.d/a.conf")
    os.symlink("a.conf", tmp_path / "etc/sysctl.d/b.conf")
    put(tmp_path, "usr/lib/sysctl.d/a.conf", "kernel.panic = 0\n")
    put(tmp_path, "etc/sysctl.d/c.conf", "kernel.panic = 10\n")
    for tool in ("systemd", "procps"):
        plan = read_plan(RootFS(tmp_path), tool)
        assert [f.kind for f in plan.files][:2] == ["loop", "loop"]
        assert plan.resolve("kernel.panic").value == "10"


def test_hidden_and_other_files_are_not_read_by_systemd(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/.hidden.conf", "kernel.panic = 1\n")
    put(tmp_path, "etc/sysctl.d/README.sysctl", "kernel.panic = 2\n")
    put(tmp_path, "etc/sysctl.d/x.conf.dpkg-old", "kernel.panic = 3\n")
    (tmp_path / "etc/sysctl.d/dir.conf").mkdir()
    # a folder named *.conf is listed (it masks the same name in later folders), not read
    assert [(f.path, f.kind) for f in list_files(RootFS(tmp_path), "systemd")] == [
        ("/etc/sysctl.d/dir.conf", "dir")
    ]
    # procps (PreloadSystem) checks only the .conf suffix
    assert [f.path for f in list_files(RootFS(tmp_path), "procps")] == [
        "/etc/sysctl.d/.hidden.conf",
        "/etc/sysctl.d/dir.conf",
    ]


def test_comments_blank_lines_and_bad_lines() -> None:
    data = b"# c\n; c\n\n\tkernel.panic\n= 3\nkernel.panic = \na=b\n"
    systemd = list(systemd_parse(data, "/f.conf"))
    assert [(type(i).__name__, i.line) for i in systemd] == [
        ("SyntaxProblem", 4),
        ("Assignment", 5),  # an empty key: written nowhere
        ("Assignment", 6),
        ("Assignment", 7),
    ]
    # procps 4 writes an empty value too; procps 3.3 refuses it
    assert [i.value for i in procps4_parse(data, "/f.conf") if isinstance(i, Assignment)] == [
        "3",
        "",
        "b",
    ]
    assert [(type(i).__name__, i.line) for i in procps3_parse(data, "/f.conf")] == [
        ("SyntaxProblem", 4),
        ("SyntaxProblem", 5),  # strtok() skips the "=", and " 3" has no value
        ("SyntaxProblem", 6),
        ("Assignment", 7),
    ]


def test_values_compare_as_the_kernel_parses_them() -> None:
    from rke2image.audit.kvalues import kernel_int, kernel_ints, same_value
    from rke2image.audit.params import verdict

    assert [kernel_int(v) for v in ("10", "012", "0xa", " 10\t", "10 20", "-1")] == [
        10,
        10,
        10,
        10,
        10,
        -1,
    ]
    # the kernel refuses these writes (EINVAL): no sign '+', no Unicode space, no '='
    assert [kernel_int(v) for v in ("+1", "10\u00a0", "=", "08", "0x", "")] == [None] * 6
    assert same_value("012", "10") and not same_value("11", "10")
    # a vector compares field by field; a single value ignores what follows its number
    assert kernel_ints("0\t2147483647", 2) == (0, 2147483647)
    assert same_value("0  0x7fffffff", "0 2147483647") and not same_value("0 1", "0 2147483647")
    assert same_value("10 20", "10")
    # a right value in base 8 is ok; a refused boot value leaves the kernel default (0)
    assert verdict("10", "10", "012", "0", is_live=True) == "ok"
    assert verdict("10", "10", "10\u00a0", "0", is_live=True) == "unpersisted"
    assert verdict("1", None, "0x1", "0", is_live=False) == "ok"


def test_which_tools_a_root_holds(tmp_path: Path) -> None:
    from rke2image.sysctltools import procps_version, systemd_version

    (tmp_path / "usr/sbin").mkdir(parents=True)
    (tmp_path / "usr/sbin/sysctl").write_bytes(b"\x7fELF...sysctl from procps-ng 3.3.17\x00")
    (tmp_path / "lib/systemd").mkdir(parents=True)
    (tmp_path / "lib/systemd/systemd-sysctl").write_bytes(b"\x00libsystemd-shared-247.so\x00")
    fs = RootFS(tmp_path)
    assert procps_version(fs).version == "3.3.17" and procps_version(fs).major == 3
    assert systemd_version(fs).as_dict() == {
        "version": "247",
        "source": "/lib/systemd/systemd-sysctl",
    }
    empty = RootFS(tmp_path / "nothing")
    assert procps_version(empty).version is None


def test_a_fifo_and_a_huge_file_are_findings_not_hangs(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "kernel.panic = 10\n")
    os.mkfifo(tmp_path / "etc/sysctl.d/50-fifo.conf")
    with open(tmp_path / "etc/sysctl.d/60-big.conf", "wb") as big:
        big.truncate(1 << 30)  # 1 GiB sparse: read at most 8 MiB
    plan = read_plan(RootFS(tmp_path), "systemd")
    assert plan.blocked_at is not None and plan.resolve("kernel.panic").value is None
    assert any("FIFO" in p.message for p in plan.problems)
    os.unlink(tmp_path / "etc/sysctl.d/50-fifo.conf")
    plan = read_plan(RootFS(tmp_path), "systemd")
    assert plan.resolve("kernel.panic").value == "10"
    assert any("read only the start" in p.message for p in plan.problems)


def test_systemd_line_ends_and_whitespace(tmp_path: Path) -> None:
    put(tmp_path, "etc/sysctl.d/10-a.conf", "")
    (tmp_path / "etc/sysctl.d/10-a.conf").write_bytes(
        b"kernel.panic = 10\x00vm.overcommit_memory = 1\rkernel.sysrq = 1\xc2\xa0\n"
        b"-kernel.panic_on_oops = 1\n-kernel.panic_on_oops\n/vm.panic_on_oom = 1\n"
    )
    plan = read_plan(RootFS(tmp_path), "systemd")
    assert plan.resolve("kernel.panic").value == "10"
    assert plan.resolve("vm.overcommit_memory").value == "1"
    assert plan.resolve("kernel.sysrq").value == "1\u00a0"  # not stripped: the kernel refuses it
    assert plan.resolve("kernel.panic_on_oops").value is None  # a later bare -key cancels
    assert plan.resolve("vm.panic_on_oom").value is None  # a leading slash names nothing


def test_a_folder_named_like_a_conf_file_masks_the_same_name(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/sysctl.d/60-x.conf", "kernel.panic = 0\n")
    (tmp_path / "etc/sysctl.d/60-x.conf").mkdir(parents=True)
    for tool in ("systemd", "procps"):
        plan = read_plan(RootFS(tmp_path), tool)
        assert [(f.path, f.kind) for f in plan.files] == [("/etc/sysctl.d/60-x.conf", "dir")]
        assert plan.resolve("kernel.panic").value is None


def test_procps_4_reads_everything_before_writing(tmp_path: Path) -> None:
    """A bare -key anywhere keeps globs off it; a key named anywhere beats any glob; a
    later glob still overrides what only an earlier glob set."""
    put(tmp_path, "etc/sysctl.d/10-a.conf", "kernel.pan* = 1\nkernel.sysrq = 5\n")
    put(tmp_path, "etc/sysctl.d/20-b.conf", "kernel.* = 2\n-kernel.panic_on_oops\n")
    fs = RootFS(tmp_path)
    four = read_plan(fs, "procps", ToolVersion("procps", "4.0.4", None))
    assert four.resolve("kernel.panic").value == "2"
    assert four.resolve("kernel.panic_on_oops").value is None
    assert four.resolve("kernel.sysrq").value == "5"
    three = read_plan(fs, "procps", ToolVersion("procps", "3.3.17", None))
    assert [three.resolve(k).value for k in ("kernel.panic", "kernel.sysrq")] == [None, "5"]
    # systemd: the same, as its map keeps the -key entry and the explicit one
    systemd = read_plan(fs, "systemd")
    assert [systemd.resolve(k).value for k in ("kernel.panic", "kernel.panic_on_oops")] == [
        "2",
        None,
    ]


def test_procps_3_writes_an_equals_sign_for_a_bare_name(tmp_path: Path) -> None:
    """procps 3.3 does not reject ``kernel.panic`` alone (see procps3_parse): it writes
    ``=`` and garbage, which the kernel refuses for a number."""
    put(tmp_path, "etc/sysctl.d/10-a.conf", "kernel.panic = 10\n-kernel.panic\n  vm.swappiness\n")
    plan = read_plan(RootFS(tmp_path), "procps", ToolVersion("procps", "3.3.17", None))
    assert plan.resolve("kernel.panic").value == "="
    assert plan.resolve("vm.swappiness").value is None  # leading blanks: rejected


_FRAGMENTS = st.sampled_from(
    [b"kernel.panic", b"kernel//pan*", b"-", b"=", b" ", b"\t", b"\n", b"\r", b"\x00", b"#",
     b"\xc2\xa0", b"\xff", b"10", b"0x", b"..", b"/", b".", b"*", b"[", b"\v"]
)  # fmt: skip


@given(st.lists(_FRAGMENTS, max_size=40).map(b"".join))
def test_every_parser_takes_any_bytes(data: bytes) -> None:
    """No input makes a parser raise; every key and value is text (surrogates for bad
    UTF-8), every line number positive."""
    for parse in (systemd_parse, procps4_parse, procps3_parse):
        for item in parse(data, "/f.conf"):
            assert item.line is None or item.line >= 1
            if isinstance(item, Assignment):
                assert isinstance(item.key, str)
                assert item.value is None or isinstance(item.value, str)


@given(st.lists(_FRAGMENTS, max_size=40).map(b"".join))
def test_every_tool_gives_a_value_or_none_for_any_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "etc/sysctl.d").mkdir(parents=True)
        (root / "etc/sysctl.d/10-a.conf").write_bytes(data)
        fs = RootFS(root)
        for tool, version in (("systemd", "252"), ("procps", "4.0.4"), ("procps", "3.3.17")):
            plan = read_plan(fs, tool, ToolVersion(tool, version, None))  # type: ignore[arg-type]
            value = plan.resolve("kernel.panic").value
            assert value is None or isinstance(value, str)
