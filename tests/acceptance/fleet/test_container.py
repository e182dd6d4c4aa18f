"""The container image of deploy/image/build.sh runs the audit as the DaemonSet does: built
from Debian packages (mmdebstrap), imported by podman (rootful), run with no network, a
read-only image, no capabilities and a fixture root mounted read-only at /host.

The tarball is cached by key under the work folder ($RKE2IMAGE_E2E_WORK/image, like the e2e
base image, else deploy/image/.work); the first build needs Debian's mirror and PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from acceptance.fleet.roots import break_live, compliant_root
from helpers import REPO

BUILD = REPO / "deploy" / "image" / "build.sh"
BUILD_TIMEOUT = 1200  # seconds: mmdebstrap from the mirror on 2 cores, the first time
ENTRYPOINT = 'ENTRYPOINT ["/usr/local/bin/rke2image"]'


def _work() -> Path:
    shared = os.environ.get("RKE2IMAGE_E2E_WORK")
    return Path(shared) / "image" if shared else REPO / "deploy" / "image" / ".work"


@pytest.fixture(scope="module")
def image() -> str:
    for tool in ("podman", "mmdebstrap"):
        if shutil.which(tool) is None or os.geteuid() != 0:
            message = f"{tool} is not installed, or not root (rootful podman, mmdebstrap)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{message} (CI=true: a missing tool is a failure)")
            pytest.skip(message)
    env = {**os.environ, "PYTHON": sys.executable}
    built = subprocess.run([str(BUILD), str(_work())], capture_output=True, text=True,
                           env=env, timeout=BUILD_TIMEOUT, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    tarball = Path(built.stdout.strip())
    tag = f"localhost/rke2image-test:{tarball.stem.removeprefix('rke2image-')}"
    exists = subprocess.run(["podman", "image", "exists", tag], check=False)
    if exists.returncode != 0:
        subprocess.run(["podman", "import", "--quiet", "--change", ENTRYPOINT, str(tarball), tag],
                       check=True, capture_output=True, timeout=300)
    _remove_older_images(tag)
    return tag


def _remove_older_images(keep: str) -> None:
    """Images of earlier keys are superseded, like their tarballs (build.sh deletes those)."""
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}",
                             "localhost/rke2image-test"], capture_output=True, text=True,
                            check=True, timeout=60)
    older = [name for name in listed.stdout.split() if name != keep]
    if older:
        subprocess.run(["podman", "rmi", *older], capture_output=True, check=False, timeout=120)


def _podman_run(image: str, root: Path, out: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    # runc: crun refuses hosts whose cgroup v2 hierarchy holds a controller in hybrid mode
    # (this machine's); low ulimits: podman's defaults exceed the sandbox's hard limits.
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return subprocess.run(
        ["podman", *runtime, "run", "--rm", "--network=none", "--read-only",
         "--cap-drop=ALL", "--security-opt=no-new-privileges", "--user=0:0",
         "--ulimit=nofile=1024:1024", "--ulimit=nproc=1024:1024",
         f"--volume={root}:/host:ro", f"--volume={out}:/run/rke2image", image, *argv],
        capture_output=True, text=True, timeout=300, check=False)


DAEMONSET_AUDIT = ["audit", "--root", "/host", "--proc-sys", "/host/proc/sys",
                   "--node-name", "cp-1", "--format", "json",
                   "--textfile", "/run/rke2image/textfile/rke2image.prom"]


@pytest.mark.parametrize(("broken", "code"), [(False, 0), (True, 1)])
def test_the_image_audits_a_read_only_root_as_the_daemonset_does(
        image: str, tmp_path: Path, broken: bool, code: int,
        require_tool: Callable[[str], str]) -> None:
    root = compliant_root(tmp_path)
    if broken:
        break_live(root)
    out = tmp_path / "out"
    (out / "textfile").mkdir(parents=True)
    result = _podman_run(image, root, out, *DAEMONSET_AUDIT)
    assert result.returncode == code, result.stderr
    report = json.loads(result.stdout)
    assert report["root"] == "/host" and report["live"] is True
    assert report["node"] == {"name": "cp-1", "role": "server"}
    verdicts = {p["key"]: p["verdict"] for p in report["parameters"]}
    assert verdicts["kernel.panic"] == ("wrong" if broken else "ok")
    metrics = (out / "textfile" / "rke2image.prom").read_text(encoding="utf-8")
    panic = verdicts["kernel.panic"]
    assert f'rke2image_sysctl_compliant{{key="kernel.panic",verdict="{panic}"}}' in metrics
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
