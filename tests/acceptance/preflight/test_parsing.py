"""The preflight reads its sysctl.d file the way sysctl.d(5) does, under every shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    PREFIX,
    SHELL_IDS,
    FakeTree,
    Result,
    kubelet_line,
    make_tree,
    run_preflight,
    write_script,
)

pytestmark = pytest.mark.parametrize("shell", SHELL_IDS)


def check(
    shell: str, tmp_path: Path, conf_text: str, tree_values: dict[str, str], mode: str = "enforce"
) -> tuple[FakeTree, Path, Result]:
    """Write the file and the tree, run the preflight, return (tree, conf, result)."""
    script = write_script(tmp_path)
    conf = tmp_path / "test.conf"
    conf.write_text(conf_text, encoding="utf-8")
    tree = make_tree(tmp_path / "proc-sys", tree_values)
    result = run_preflight(
        shell, script, ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", str(tree.root)]
    )
    return tree, conf, result


ODD_FILE = (
    "# a comment\n"
    "; another comment\n"
    "\n"
    "   # an indented comment = with an equals sign\n"
    "vm.swappiness=10\n"
    "\t fs.inotify.max_user_instances \t=\t 8192 \t\n"
    "fs/file-max = 100000\n"
    "net.ipv4.conf.eth0/200.forwarding = 1\n"
    "net/ipv4/conf/eth0.100/forwarding = 1\n"
    "kernel.hostname = a=b\n"
    "vm.max_map_count = 1\n"
    "vm.max_map_count = 262144\r\n"
)
ODD_TREE = {
    "vm.swappiness": "10",
    "fs.inotify.max_user_instances": "8192",
    "fs.file-max": "100000",
    "net/ipv4/conf/eth0.200/forwarding": "1",
    "net/ipv4/conf/eth0.100/forwarding": "1",
    "kernel.hostname": "a=b",
    "vm.max_map_count": "262144",
}


def test_comments_spacing_separators_and_overrides(shell: str, tmp_path: Path) -> None:
    """Comments, blank lines, tabs, both separators, '=' in a value, CRLF, a later override."""
    _, conf, result = check(shell, tmp_path, ODD_FILE, ODD_TREE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == f"{PREFIX}ok: 7 kernel parameters match {conf} (mode enforce)\n"


def test_first_separator_decides_the_path(shell: str, tmp_path: Path) -> None:
    """With '.' first, '/' inside the key is a literal dot in the path (sysctl.d(5))."""
    tree_values = {**ODD_TREE, "net/ipv4/conf/eth0.200/forwarding": "0"}
    tree, _, result = check(shell, tmp_path, ODD_FILE, tree_values, mode="remediate")
    assert result.returncode == 0, result.stderr
    assert tree.get("net/ipv4/conf/eth0.200/forwarding") == "1"
    assert not (tree.root / "net/ipv4/conf/eth0/200").exists()
    assert result.out_lines[0] == f"{PREFIX}set net/ipv4/conf/eth0.200/forwarding to 1 (was 0)"


def test_mismatch_line_names_the_line_that_set_it(shell: str, tmp_path: Path) -> None:
    tree_values = {**ODD_TREE, "vm.max_map_count": "65530"}
    _, conf, result = check(shell, tmp_path, ODD_FILE, tree_values)
    assert result.returncode == 1
    index = result.err_lines.index(kubelet_line("vm/max_map_count", "262144", "65530"))
    assert f"{conf}:12" in result.err_lines[index + 1]


def test_multi_field_values_compare_like_the_kernel_prints_them(shell: str, tmp_path: Path) -> None:
    conf_text = "net.ipv4.ip_local_port_range =   32768    60999  \nnet.ipv4.tcp_rmem=4096 131072\t6291456\n"
    tree_values = {
        "net.ipv4.ip_local_port_range": "32768\t60999",
        "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
    }
    _, _, result = check(shell, tmp_path, conf_text, tree_values)
    assert result.returncode == 0, result.stderr


def test_multi_field_mismatch_and_remediation(shell: str, tmp_path: Path) -> None:
    conf_text = "net.ipv4.ip_local_port_range = 1024  65535\n"
    tree_values = {"net.ipv4.ip_local_port_range": "32768\t60999"}
    _, _, result = check(shell, tmp_path, conf_text, tree_values)
    assert result.returncode == 1
    assert result.mismatches() == {"net/ipv4/ip_local_port_range": ("1024 65535", "32768 60999")}
    tree, _, fixed = check(shell, tmp_path, conf_text, tree_values, mode="remediate")
    assert fixed.returncode == 0, fixed.stderr
    assert tree.get("net.ipv4.ip_local_port_range").split() == ["1024", "65535"]


def test_non_integer_values(shell: str, tmp_path: Path) -> None:
    conf_text = "kernel.core_pattern = |/usr/lib/systemd/systemd-coredump %P %u %g\n"
    tree_values = {"kernel.core_pattern": "core"}
    _, _, result = check(shell, tmp_path, conf_text, tree_values)
    assert result.returncode == 1
    assert (
        kubelet_line("kernel/core_pattern", "|/usr/lib/systemd/systemd-coredump %P %u %g", "core")
        in result.err_lines
    )
    tree, _, fixed = check(shell, tmp_path, conf_text, tree_values, mode="remediate")
    assert fixed.returncode == 0, fixed.stderr
    assert tree.get("kernel.core_pattern") == "|/usr/lib/systemd/systemd-coredump %P %u %g"


def test_glob_characters_in_a_value_are_not_expanded(shell: str, tmp_path: Path) -> None:
    (tmp_path / "decoy").write_text("x", encoding="utf-8")
    conf_text = "kernel.core_pattern = *\n"
    _, _, result = check(shell, tmp_path, conf_text, {"kernel.core_pattern": "core"})
    assert result.mismatches() == {"kernel/core_pattern": ("*", "core")}


def test_missing_key_is_reported_by_name(shell: str, tmp_path: Path) -> None:
    conf_text = "net.bridge.bridge-nf-call-iptables = 1\nvm.swappiness = 10\n"
    for mode in ("enforce", "remediate"):
        tree, _, result = check(shell, tmp_path, conf_text, {"vm.swappiness": "10"}, mode=mode)
        assert result.returncode == 1
        assert result.err_lines[0].startswith(
            f"{PREFIX}missing kernel key: net/bridge/bridge-nf-call-iptables"
        )
        assert "br_netfilter" in result.err_lines[1]
        assert not (tree.root / "net").exists(), "remediate must not create a missing key"


def test_dash_prefixed_key_may_be_missing_or_differ(shell: str, tmp_path: Path) -> None:
    conf_text = "-net.bridge.bridge-nf-call-iptables = 1\n- vm.swappiness = 10\nkernel.panic = 10\n"
    tree_values = {"vm.swappiness": "60", "kernel.panic": "10"}
    _, _, result = check(shell, tmp_path, conf_text, tree_values)
    assert result.returncode == 0, result.stderr
    assert any(
        "missing kernel key: net/bridge/bridge-nf-call-iptables" in line and "ignored" in line
        for line in result.err_lines
    )
    assert result.mismatches() == {"vm/swappiness": ("10", "60")}
    assert "ok: 3 kernel parameters" in result.stdout


def test_dash_prefixed_key_is_still_applied(shell: str, tmp_path: Path) -> None:
    conf_text = "-vm.swappiness = 10\n"
    tree, _, result = check(shell, tmp_path, conf_text, {"vm.swappiness": "60"}, mode="remediate")
    assert result.returncode == 0, result.stderr
    assert tree.get("vm.swappiness") == "10"


def test_lines_that_are_not_assignments_are_reported_and_ignored(
    shell: str, tmp_path: Path
) -> None:
    conf_text = "vm.swappiness = 10\nthis is not an assignment\n = 3\n"
    _, conf, result = check(shell, tmp_path, conf_text, {"vm.swappiness": "10"})
    assert result.returncode == 0
    assert result.err_lines == [
        f"{PREFIX}{conf}:2: not an assignment, ignored",
        f"{PREFIX}{conf}:3: empty key, ignored",
    ]


def test_keys_that_leave_the_tree_are_refused(shell: str, tmp_path: Path) -> None:
    conf_text = "/../escape = 1\nvm/../../../escape = 1\n"
    _, conf, result = check(shell, tmp_path, conf_text, {}, mode="remediate")
    assert not (tmp_path / "escape").exists()
    assert [line for line in result.err_lines if "unsafe key" in line] == [
        f"{PREFIX}{conf}:1: unsafe key '/../escape', ignored",
        f"{PREFIX}{conf}:2: unsafe key 'vm/../../../escape', ignored",
    ]


def test_glob_keys_are_skipped_with_a_warning(shell: str, tmp_path: Path) -> None:
    conf_text = "net.ipv4.conf.*.rp_filter = 2\n"
    _, _, result = check(shell, tmp_path, conf_text, {"net/ipv4/conf/all/rp_filter": "1"})
    assert result.returncode == 0
    assert "glob key 'net.ipv4.conf.*.rp_filter' is not checked" in result.stderr


def test_empty_file_passes_with_a_warning(shell: str, tmp_path: Path) -> None:
    _, conf, result = check(shell, tmp_path, "# nothing\n", {})
    assert result.returncode == 0
    assert result.err_lines == [f"{PREFIX}no kernel parameters in {conf}"]


def test_last_line_without_newline_counts(shell: str, tmp_path: Path) -> None:
    _, _, result = check(shell, tmp_path, "vm.swappiness = 10\nkernel.panic = 10", {
        "vm.swappiness": "10", "kernel.panic": "0"})  # fmt: skip
    assert result.mismatches() == {"kernel/panic": ("10", "0")}
