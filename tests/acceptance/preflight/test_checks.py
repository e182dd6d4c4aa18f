"""Module loading, the etcd user and group, swap, and unreadable inputs, under every shell."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    PREFIX,
    SHELL_IDS,
    kubelet_line,
    make_tree,
    required_values,
    run_preflight,
    sysctl_text,
    unprivileged_prefix,
    write_script,
)

from rke2image.kernel import REQUIRED_PARAMETERS

pytestmark = pytest.mark.parametrize("shell", SHELL_IDS)

PASSWD = "root:x:0:0:root:/root:/bin/bash\netcdx:x:998:998::/:/sbin/nologin\n"
GROUP = "root:x:0:\netcdx:x:998:\n"
SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


@pytest.fixture
def node(tmp_path: Path) -> dict[str, Path]:
    """A compliant fake node: script, sysctl file, tree, passwd, group, swaps, modules."""
    files = {
        "script": write_script(tmp_path),
        "conf": tmp_path / "sysctl.conf",
        "passwd": tmp_path / "passwd",
        "group": tmp_path / "group",
        "swaps": tmp_path / "swaps",
        "modules": tmp_path / "modules.conf",
        "log": tmp_path / "modprobe.log",
        "tree": make_tree(tmp_path / "proc-sys", required_values()).root,
    }
    files["conf"].write_text(sysctl_text(required_values()), encoding="utf-8")
    files["passwd"].write_text(PASSWD + "etcd:x:999:999::/:/sbin/nologin\n", encoding="utf-8")
    files["group"].write_text(GROUP + "etcd:x:999:\n", encoding="utf-8")
    files["swaps"].write_text(SWAPS_HEADER, encoding="utf-8")
    files["modules"].write_text(
        "# kernel modules for RKE2\noverlay\n\n  ; not this\n br_netfilter \n", encoding="utf-8"
    )
    recorder = tmp_path / "record-modprobe"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>{files["log"]}\n', encoding="utf-8")
    recorder.chmod(0o755)
    files["recorder"] = recorder
    return files


def env_of(node: dict[str, Path]) -> dict[str, str]:
    return {
        "RKE2IMAGE_PASSWD": str(node["passwd"]),
        "RKE2IMAGE_GROUP": str(node["group"]),
        "RKE2IMAGE_SWAPS": str(node["swaps"]),
    }


def full_args(node: dict[str, Path], mode: str) -> list[str]:
    return [
        "--mode", mode, "--sysctl-file", str(node["conf"]), "--proc-sys", str(node["tree"]),
        "--modules-file", str(node["modules"]),
        "--require-user", "etcd", "--require-group", "etcd", "--no-swap",
    ]  # fmt: skip


def test_compliant_node_with_every_check(shell: str, node: dict[str, Path]) -> None:
    for mode in ("remediate", "enforce", "warn"):
        result = run_preflight(shell, node["script"], full_args(node, mode), env=env_of(node))
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""


def test_remediate_loads_listed_modules_through_the_named_command(
    shell: str, node: dict[str, Path]
) -> None:
    env = {**env_of(node), "RKE2IMAGE_MODPROBE": str(node["recorder"])}
    result = run_preflight(shell, node["script"], full_args(node, "remediate"), env=env)
    assert result.returncode == 0, result.stderr
    assert node["log"].read_text(encoding="utf-8").splitlines() == ["overlay", "br_netfilter"]


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_only_remediate_loads_modules(shell: str, mode: str, node: dict[str, Path]) -> None:
    env = {**env_of(node), "RKE2IMAGE_MODPROBE": str(node["recorder"])}
    result = run_preflight(shell, node["script"], full_args(node, mode), env=env)
    assert result.returncode == 0, result.stderr
    assert not node["log"].exists()


def test_no_modprobe_on_a_fake_tree_by_default(shell: str, node: dict[str, Path]) -> None:
    """A `modprobe` first on PATH must not run when the tree is not /proc/sys."""
    bindir = node["recorder"].parent / "bin"
    bindir.mkdir()
    shutil.copy(node["recorder"], bindir / "modprobe")
    # Keep the shells reachable, put the trap first.
    env = {**env_of(node), "PATH": f"{bindir}:{os.environ['PATH']}"}
    result = run_preflight(shell, node["script"], full_args(node, "remediate"), env=env)
    assert result.returncode == 0, result.stderr
    assert not node["log"].exists()


def test_a_failing_module_load_is_reported(shell: str, node: dict[str, Path]) -> None:
    failing = node["recorder"].parent / "failing-modprobe"
    failing.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    failing.chmod(0o755)
    env = {**env_of(node), "RKE2IMAGE_MODPROBE": str(failing)}
    result = run_preflight(shell, node["script"], full_args(node, "remediate"), env=env)
    assert f"{PREFIX}could not load kernel module overlay ({failing} exited 1)" in result.err_lines
    assert result.returncode == 0  # every value matches: exit 1 only if one still differs


def test_missing_etcd_user_and_group_in_rke2_words(shell: str, node: dict[str, Path]) -> None:
    node["passwd"].write_text(PASSWD, encoding="utf-8")
    node["group"].write_text(GROUP, encoding="utf-8")
    for mode, code in (("enforce", 1), ("remediate", 1), ("warn", 0)):
        result = run_preflight(shell, node["script"], full_args(node, mode), env=env_of(node))
        assert result.returncode == code
        lines = result.err_lines
        assert lines[0] == f"{PREFIX}missing required: user: unknown user etcd"
        assert lines[1].startswith(f"{PREFIX}hint: ") and "useradd" in lines[1]
        assert lines[2] == f"{PREFIX}missing required: group: unknown group etcd"
        assert lines[3].startswith(f"{PREFIX}hint: ") and "groupadd" in lines[3]


def test_user_without_checks_is_not_looked_up(shell: str, node: dict[str, Path]) -> None:
    node["passwd"].unlink()
    args = full_args(node, "enforce")[:-5]  # no --require-user/--require-group/--no-swap
    result = run_preflight(shell, node["script"], args, env=env_of(node))
    assert result.returncode == 0, result.stderr


def test_active_swap_is_a_finding(shell: str, node: dict[str, Path]) -> None:
    node["swaps"].write_text(
        SWAPS_HEADER + "/dev/vda2                               partition\t1048572\t\t0\t\t-2\n",
        encoding="utf-8",
    )
    result = run_preflight(shell, node["script"], full_args(node, "enforce"), env=env_of(node))
    assert result.returncode == 1
    assert result.err_lines[0] == (
        f"{PREFIX}running with swap on is not supported, please disable swap: "
        "/dev/vda2 (partition) is active"
    )
    assert "swapoff /dev/vda2" in result.err_lines[1]
    without = run_preflight(
        shell, node["script"], full_args(node, "enforce")[:-1], env=env_of(node)
    )
    assert without.returncode == 0, without.stderr


def test_kernel_without_swap_support_has_no_swap(shell: str, node: dict[str, Path]) -> None:
    node["swaps"].unlink()
    result = run_preflight(shell, node["script"], full_args(node, "enforce"), env=env_of(node))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder that the unprivileged user can traverse (pytest's tmp is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="rke2image-preflight-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def unprivileged_node(folder: Path) -> dict[str, Path]:
    """A compliant node whose files the unprivileged user can read."""
    script = write_script(folder)
    conf = folder / "sysctl.conf"
    conf.write_text(sysctl_text(required_values()), encoding="utf-8")
    tree = make_tree(folder / "proc-sys", required_values())
    for path in [folder, *tree.root.rglob("*"), tree.root]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    conf.chmod(0o644)
    return {"script": script, "conf": conf, "tree": tree.root}


def test_read_only_value_is_not_fixed_and_fails(shell: str, open_dir: Path) -> None:
    """Like a read-only /proc/sys in a container: the write fails, the re-read still differs."""
    node = unprivileged_node(open_dir)
    key = REQUIRED_PARAMETERS[0]
    value_file = node["tree"] / key.kubelet_flag
    value_file.write_text("0\n", encoding="utf-8")
    value_file.chmod(0o444)
    args = ["--mode", "remediate", "--sysctl-file", str(node["conf"])]
    args += ["--proc-sys", str(node["tree"])]
    result = run_preflight(shell, node["script"], args, prefix=unprivileged_prefix())
    assert result.returncode == 1
    assert any(line.startswith(f"{PREFIX}could not write") for line in result.err_lines)
    assert kubelet_line(key.kubelet_flag, key.value, "0") in result.err_lines
    assert value_file.read_text(encoding="utf-8") == "0\n"


def test_unreadable_value_and_account_files(shell: str, open_dir: Path) -> None:
    node = unprivileged_node(open_dir)
    key = REQUIRED_PARAMETERS[1]
    (node["tree"] / key.kubelet_flag).chmod(0o000)
    passwd = open_dir / "passwd"
    passwd.write_text(PASSWD, encoding="utf-8")
    passwd.chmod(0o000)
    args = ["--mode", "enforce", "--sysctl-file", str(node["conf"])]
    args += ["--proc-sys", str(node["tree"]), "--require-user", "etcd"]
    result = run_preflight(
        shell, node["script"], args, env={"RKE2IMAGE_PASSWD": str(passwd)},
        prefix=unprivileged_prefix(),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.err_lines == [
        f"{PREFIX}cannot read kernel key: {key.kubelet_flag} ({node['tree']}/{key.kubelet_flag})",
        f"{PREFIX}cannot read {passwd} to look for user etcd",
    ]


def test_unreadable_sysctl_file_exits_2(shell: str, open_dir: Path) -> None:
    node = unprivileged_node(open_dir)
    node["conf"].chmod(0o000)
    args = ["--mode", "enforce", "--sysctl-file", str(node["conf"])]
    args += ["--proc-sys", str(node["tree"])]
    result = run_preflight(shell, node["script"], args, prefix=unprivileged_prefix())
    assert result.returncode == 2
    assert result.err_lines[0] == f"{PREFIX}cannot read sysctl file {node['conf']}"


def test_names_match_only_the_first_field_of_a_whole_line(
    shell: str, node: dict[str, Path]
) -> None:
    """etcd as a comment, a home or a prefix is not the etcd user; a last line without newline is."""
    node["passwd"].write_text(
        PASSWD + "svc:x:5:5:etcd:/etcd:/bin/sh\n  etcd:x:7:7::/:/bin/sh\n", encoding="utf-8"
    )
    node["group"].write_text(GROUP + "etcd:x:999:", encoding="utf-8")
    result = run_preflight(shell, node["script"], full_args(node, "enforce"), env=env_of(node))
    assert result.returncode == 1
    assert result.err_lines[0] == f"{PREFIX}missing required: user: unknown user etcd"
    assert not any("unknown group" in line for line in result.err_lines)


def test_every_active_swap_is_named(shell: str, node: dict[str, Path]) -> None:
    node["swaps"].write_text(
        SWAPS_HEADER + "/dev/vda2\tpartition\t1048572\t0\t-2\n\n/swap.img\tfile\t4096\t0\t-3\n",
        encoding="utf-8",
    )
    result = run_preflight(shell, node["script"], full_args(node, "warn"), env=env_of(node))
    assert result.returncode == 0
    swap_lines = [line for line in result.err_lines if "swap on is not supported" in line]
    assert [line.split(": ")[-1] for line in swap_lines] == [
        "/dev/vda2 (partition) is active",
        "/swap.img (file) is active",
    ]
    assert "2 problems found (mode warn" in result.stdout
