"""Safe by construction: a kill at any step leaves each file old or new and --undo still
works; a read-only root is an error that changes nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from acceptance.fix.incident import incident_root, snapshot
from acceptance.fix.support import changed, fix
from helpers import REPO

KILLER = Path(__file__).with_name("killer.py")
STEPS = 7  # 3 files, the accounts, 3 live values
RENAMES = 3  # the 3 files (useradd renames its own)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO / 'tests'}"}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The incident root's files before the fix, and after a whole one."""
    base = tmp_path_factory.mktemp("whole")
    root, proc = incident_root(base)
    before = snapshot(root)
    result = _run("-m", "rke2image", "fix", "--root", str(root), "--proc-sys", str(proc), "--apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return before, snapshot(root)


POINTS = [
    *((event, n) for event in ("begin", "done") for n in range(1, STEPS + 1)),
    *(("rename", n) for n in range(1, RENAMES + 1)),
]


@pytest.mark.parametrize(("event", "number"), POINTS, ids=[f"{e}-{n}" for e, n in POINTS])
def test_a_kill_leaves_each_file_old_or_new_and_undo_restores(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    states: tuple[dict[str, bytes], dict[str, bytes]],
    event: str,
    number: int,
) -> None:
    before, whole = states
    root, proc = incident_root(tmp_path)
    assert snapshot(root) == before
    result = _run(str(KILLER), str(root), str(proc), event, str(number))
    assert result.returncode == -signal.SIGKILL, result.stderr
    now = snapshot(root)
    for path in changed(before, now):
        if path.endswith(".rke2image-tmp"):
            assert Path(path).name.startswith(".")  # a temporary name no tool reads
            continue
        assert now.get(path) == whole.get(path), f"{path} is neither old nor new"
    code, out, err = fix(capsys, "--root", str(root), "--undo")
    assert code == 0, err
    assert changed(before, snapshot(root)) == set(), out


def _unshare_available() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        reason = "a read-only bind mount needs root and unshare(1)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: this test must run)")
        pytest.skip(reason)


@pytest.mark.parametrize("readonly", ["", "etc"])
@pytest.mark.host  # a private mount namespace: not inside a lane's chroot
def test_a_read_only_root_is_an_error_that_changes_nothing(tmp_path: Path, readonly: str) -> None:
    """The whole root read-only (a mounted disk image), or only /etc of it: exit 2 before
    any write, and no journal either."""
    _unshare_available()
    root, proc = incident_root(tmp_path)
    before = snapshot(root)
    target = root / readonly
    script = (
        f'mount --bind "{target}" "{target}" && mount -o remount,bind,ro "{target}" && '
        f'exec "{sys.executable}" -m rke2image fix --root "{root}" --proc-sys "{proc}" --apply'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is a read-only filesystem: nothing was changed" in result.stderr
    assert result.stdout == ""
    assert snapshot(root) == before
