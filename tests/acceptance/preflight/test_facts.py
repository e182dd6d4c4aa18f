"""What the preflight does with RKE2's facts: missing keys, hints, swap, paths.

- A key kubelet needs (``--required``) missing from /proc/sys fails; a spec's own
  key missing is a warning in every mode, as systemd-sysctl treats it.
- Hints never advise restarting systemd-sysctl (it resets sysctls the CNI set on
  a running node): ``sysctl -w KEY=VALUE`` for the differing key, or remediate
  mode, and the file that overrides ours when one can be found.
- The script knows no node path: the sysctl file is an argument.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import (
    PREFIX,
    SHELL_IDS,
    FakeTree,
    Result,
    make_tree,
    required_values,
    run_preflight,
    sysctl_text,
    write_script,
)
from rke2image.kernel import REQUIRED_PARAMETERS

pytestmark = pytest.mark.parametrize("shell", SHELL_IDS)

REQUIRED = ",".join(p.key for p in REQUIRED_PARAMETERS)
OWN_KEY = "net.ipv6.conf.all.disable_ipv6"


def run(
    shell: str,
    tmp_path: Path,
    tree_values: dict[str, str],
    mode: str,
    extra: tuple[str, ...] = ("--required", REQUIRED),
    env: dict[str, str] | None = None,
) -> tuple[FakeTree, Result]:
    """The six required values and OWN_KEY = 0 in the file; the tree as given."""
    script = write_script(tmp_path)
    conf = tmp_path / "99-zz-rke2image.conf"
    conf.write_text(sysctl_text({**required_values(), OWN_KEY: "0"}), encoding="utf-8")
    tree = make_tree(tmp_path / "proc-sys", tree_values)
    args = ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", str(tree.root), *extra]
    return tree, run_preflight(shell, script, args, env=env)


@pytest.mark.parametrize("mode", ["remediate", "enforce", "warn"])
def test_a_missing_own_key_is_a_warning_in_every_mode(
    shell: str, mode: str, tmp_path: Path
) -> None:
    tree, result = run(shell, tmp_path, required_values(), mode)
    assert result.returncode == 0, result.stderr
    assert result.err_lines == [
        (
            f"{PREFIX}warning: missing kernel key: net/ipv6/conf/all/disable_ipv6 "
            f"(from {tmp_path / '99-zz-rke2image.conf'}:7); kubelet does not need it and "
            "systemd-sysctl skips it too: not failing"
        )
    ]
    assert not (tree.root / "net").exists(), "remediate must not create a missing key"


@pytest.mark.parametrize("mode", ["remediate", "enforce", "warn"])
def test_a_missing_required_key_still_fails(shell: str, mode: str, tmp_path: Path) -> None:
    values = {**required_values(), OWN_KEY: "0"}
    del values["kernel.keys.root_maxkeys"]
    _, result = run(shell, tmp_path, values, mode)
    assert result.returncode == (0 if mode == "warn" else 1)
    assert result.err_lines[0].startswith(
        f"{PREFIX}missing kernel key: kernel/keys/root_maxkeys (expected value: 1000000"
    )


def test_without_a_required_list_every_key_is_required(shell: str, tmp_path: Path) -> None:
    _, result = run(shell, tmp_path, required_values(), "enforce", extra=())
    assert result.returncode == 1
    assert result.err_lines[0].startswith(f"{PREFIX}missing kernel key: net/ipv6/conf/all")


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_the_hint_is_sysctl_w_for_that_key_and_never_a_systemd_sysctl_restart(
    shell: str, mode: str, tmp_path: Path
) -> None:
    tree_values = {**required_values(), OWN_KEY: "0", "kernel.panic": "0"}
    _, result = run(shell, tmp_path, tree_values, mode)
    (hint,) = [line for line in result.err_lines if line.startswith(PREFIX + "hint: ")]
    assert "'sysctl -w kernel.panic=10'" in hint and "--mode remediate" in hint
    assert "sysctl -w" in hint and hint.count("sysctl -w") == 1  # the differing key only
    assert "systemctl" not in result.stderr and "systemd-sysctl " not in hint


def test_the_hint_names_the_file_that_overrides_ours(shell: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/sysctl.d").mkdir(parents=True)
    (root / "usr/lib/sysctl.d").mkdir(parents=True)
    (root / "etc/sysctl.d/99-zzz-local.conf").write_text("# late\n kernel/panic = 0\n")
    # Masked by the same name in /etc: systemd-sysctl never reads it.
    (root / "usr/lib/sysctl.d/99-zzz-local.conf").write_text("kernel.panic = 0\n")
    (root / "usr/lib/sysctl.d/50-default.conf").write_text("kernel.panic = 5\n")
    (root / "etc/sysctl.conf").write_text("-kernel.panic=0\n")
    tree_values = {**required_values(), OWN_KEY: "0", "kernel.panic": "0"}
    env = {"RKE2IMAGE_SYSCTL_ROOT": str(root)}
    _, result = run(shell, tmp_path, tree_values, "enforce", env=env)
    (hint,) = [line for line in result.err_lines if line.startswith(PREFIX + "hint: ")]
    assert (
        f"but {root}/etc/sysctl.d/99-zzz-local.conf:2, {root}/etc/sysctl.conf:1 sets 0: "
        "fix that file, then 'sysctl -w kernel.panic=10'"
    ) in hint


def test_a_multi_field_value_is_quoted_in_the_hint(shell: str, tmp_path: Path) -> None:
    script = write_script(tmp_path)
    conf = tmp_path / "x.conf"
    conf.write_text("net.ipv4.ip_local_port_range = 32768 60999\n", encoding="utf-8")
    tree = make_tree(tmp_path / "t", {"net.ipv4.ip_local_port_range": "1024\t65000"})
    args = ["--mode", "enforce", "--sysctl-file", str(conf), "--proc-sys", str(tree.root)]
    result = run_preflight(shell, script, args)
    assert "'sysctl -w \"net.ipv4.ip_local_port_range=32768 60999\"'" in result.stderr


def test_the_sysctl_file_is_an_argument_not_a_default(shell: str, tmp_path: Path) -> None:
    script = write_script(tmp_path)
    tree = make_tree(tmp_path / "t", required_values())
    result = run_preflight(shell, script, ["--mode", "enforce", "--proc-sys", str(tree.root)])
    assert result.returncode == 2
    assert result.err_lines[0] == f"{PREFIX}--sysctl-file is required (the drop-in passes it)"
