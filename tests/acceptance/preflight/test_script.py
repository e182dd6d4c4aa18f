"""The preflight script itself: lint, shipping, command line and exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import (
    PREFIX,
    REPO,
    SHELL_IDS,
    make_tree,
    require_tool,
    required_values,
    run_preflight,
    shell_argv,
    sysctl_text,
    write_script,
)
from rke2image import resources
from rke2image.kernel import REQUIRED_PARAMETERS

REPO_SCRIPT = REPO / "templates" / "preflight.sh"


@pytest.mark.host_tools  # Debian 11's shellcheck 0.7.1 flags `local` (SC2039)
def test_shellcheck_sh_clean() -> None:
    shellcheck = require_tool("shellcheck")
    done = subprocess.run(
        [shellcheck, "-s", "sh", str(REPO_SCRIPT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("shell", SHELL_IDS)
def test_parses_under_every_shell(shell: str) -> None:
    done = subprocess.run(
        [*shell_argv(shell), "-n", str(REPO_SCRIPT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_shipped_verbatim_through_resources() -> None:
    text = resources.read_text("templates", "preflight.sh")
    assert text == REPO_SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    # Not a template: nothing for Jinja to render.
    assert "{{" not in text and "{%" not in text


def test_the_sysctl_file_is_the_only_source_of_values() -> None:
    """The script must not carry its own copy of the kernel facts."""
    text = REPO_SCRIPT.read_text(encoding="utf-8")
    for p in REQUIRED_PARAMETERS:
        assert p.key not in text and p.kubelet_flag not in text


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, list[str]]:
    script = write_script(tmp_path)
    conf = tmp_path / "sysctl.conf"
    conf.write_text(sysctl_text(required_values()), encoding="utf-8")
    tree = make_tree(tmp_path / "proc-sys", required_values())
    return script, ["--sysctl-file", str(conf), "--proc-sys", str(tree.root)]


@pytest.mark.parametrize("shell", SHELL_IDS)
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "strict"], "--mode must be remediate, enforce or warn, not 'strict'"),
        (["--mode"], "--mode needs a value"),
        (["--require-user"], "--require-user needs a value"),
        (["--require-user="], "--require-user needs a non-empty value"),
        (["--bogus"], "unknown argument: --bogus"),
        (["extra"], "unknown argument: extra"),
    ],
)
def test_usage_errors_exit_2(
    shell: str, argv: list[str], message: str, setup: tuple[Path, list[str]]
) -> None:
    script, base = setup
    result = run_preflight(shell, script, ["--mode", "enforce", *base, *argv])
    assert result.returncode == 2
    assert result.err_lines[0] == PREFIX + message
    assert result.stdout == ""


@pytest.mark.parametrize("shell", SHELL_IDS)
def test_missing_or_directory_sysctl_file_exits_2(shell: str, tmp_path: Path) -> None:
    script = write_script(tmp_path)
    tree = make_tree(tmp_path / "proc-sys", required_values())
    for conf, message in (
        (tmp_path / "absent.conf", f"sysctl file {tmp_path / 'absent.conf'} does not exist"),
        (tmp_path, f"cannot read sysctl file {tmp_path}"),
    ):
        for mode in ("remediate", "enforce", "warn"):
            args = ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", str(tree.root)]
            result = run_preflight(shell, script, args)
            assert result.returncode == 2
            assert result.err_lines[0] == PREFIX + message


@pytest.mark.parametrize("shell", SHELL_IDS)
def test_help(shell: str, setup: tuple[Path, list[str]]) -> None:
    script, base = setup
    result = run_preflight(shell, script, [*base, "--help"])
    assert result.returncode == 0
    assert result.stderr == ""
    assert run_preflight(shell, script, [*base, "-h"]).stdout == result.stdout
    assert result.stdout.startswith("usage: preflight [--mode remediate|enforce|warn]")
    for name in (
        "--sysctl-file", "--proc-sys", "--modules-file", "--require-user", "--require-group",
        "--no-swap", "RKE2IMAGE_PROC_SYS", "RKE2IMAGE_MODPROBE", "RKE2IMAGE_PASSWD",
        "RKE2IMAGE_GROUP", "RKE2IMAGE_SWAPS",
    ):  # fmt: skip
        assert name in result.stdout


@pytest.mark.parametrize("shell", SHELL_IDS)
def test_without_head_it_exits_2(shell: str, tmp_path: Path, setup: tuple[Path, list[str]]) -> None:
    """head is the one outside tool it needs (the read builtin misreads /proc/sys)."""
    script, base = setup
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in shell_argv(shell)[:1]:
        (bindir / name).symlink_to(require_tool(name))
    result = run_preflight(shell, script, ["--mode", "enforce", *base], env={"PATH": str(bindir)})
    assert result.returncode == 2
    assert result.err_lines == [
        f"{PREFIX}head (coreutils) not found in PATH; cannot read {base[3]}"
    ]


@pytest.mark.parametrize("shell", SHELL_IDS)
def test_missing_sysctl_tree_exits_2(shell: str, tmp_path: Path) -> None:
    script = write_script(tmp_path)
    conf = tmp_path / "sysctl.conf"
    conf.write_text(sysctl_text(required_values()), encoding="utf-8")
    absent = tmp_path / "no-such-tree"
    for args, env in (
        (["--proc-sys", str(absent)], {}),
        ([], {"RKE2IMAGE_PROC_SYS": str(absent)}),
    ):
        result = run_preflight(shell, script, ["--sysctl-file", str(conf), *args], env=env)
        assert result.returncode == 2
        assert result.err_lines == [
            f"{PREFIX}no sysctl tree at {absent} (--proc-sys or RKE2IMAGE_PROC_SYS)"
        ]
