"""The container image of deploy/image/build.sh runs the audit as the DaemonSet does: built
from Debian packages (mmdebstrap), imported by podman (rootful), run with no network, a
read-only image, no capabilities and a fixture root mounted read-only at /host.

The tarball is cached by key under the work folder ($RKE2IMAGE_E2E_WORK/image, like the e2e
base image, else deploy/image/.work); the first build needs Debian's mirror and PyPI.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from acceptance.deploy.image import BUILD, podman, root_tarball
from acceptance.deploy.roots import break_live, compliant_root
from helpers import REPO

ENTRYPOINT = 'ENTRYPOINT ["/usr/local/bin/rke2image"]'
# rootful podman and mmdebstrap: the host's, not an interpreter lane's (tests/lanes)
pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def image() -> str:
    tarball = root_tarball()
    tag = f"localhost/rke2image-test:{tarball.stem.removeprefix('rke2image-')}"
    exists = subprocess.run(["podman", "image", "exists", tag], check=False)
    if exists.returncode != 0:
        subprocess.run(
            ["podman", "import", "--quiet", "--change", ENTRYPOINT, str(tarball), tag],
            check=True,
            capture_output=True,
            timeout=300,
        )
    _remove_older_images(tag)
    return tag


def _remove_older_images(keep: str) -> None:
    """Images of earlier keys are superseded, like their tarballs (build.sh deletes those)."""
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/rke2image-test"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    older = [name for name in listed.stdout.split() if name != keep]
    if older:
        subprocess.run(["podman", "rmi", *older], capture_output=True, check=False, timeout=120)


def _run_options(root: Path, out: Path) -> list[str]:
    """The DaemonSet's confinement: no network, read-only image, no capabilities, uid 0."""
    return [
        "--network=none",
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--user=0:0",
        "--ulimit=nofile=1024:1024",
        "--ulimit=nproc=1024:1024",
        f"--volume={root}:/host:ro",
        f"--volume={out}:/run/rke2image",
    ]


def _podman_run(image: str, root: Path, out: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        podman("run", "--rm", *_run_options(root, out), image, *argv),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


DAEMONSET_AUDIT = [
    "audit",
    "--root",
    "/host",
    "--proc-sys",
    "/host/proc/sys",
    "--node-name",
    "cp-1",
    "--format",
    "json",
    "--textfile",
    "/run/rke2image/textfile/rke2image.prom",
]


@pytest.mark.parametrize(("broken", "code"), [(False, 0), (True, 1)])
def test_the_image_audits_a_read_only_root_as_the_daemonset_does(
    image: str, tmp_path: Path, broken: bool, code: int, require_tool: Callable[[str], str]
) -> None:
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
    check = subprocess.run(
        [promtool, "check", "metrics"], input=metrics, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _audit_container() -> dict[str, Any]:
    manifest = REPO / "deploy" / "kubernetes" / "daemonset.yaml"
    (daemonset,) = [
        d
        for d in yaml.safe_load_all(manifest.read_text(encoding="utf-8"))
        if d and d["kind"] == "DaemonSet"
    ]
    (audit,) = [
        c for c in daemonset["spec"]["template"]["spec"]["containers"] if c["name"] == "audit"
    ]
    return dict(audit)


def test_the_daemonsets_container_command_runs_in_the_image_and_stops_on_sigterm(
    image: str, tmp_path: Path
) -> None:
    """The audit container's command and args, word for word, on an empty output folder
    (an emptyDir): it writes audit.json and the textfile, then SIGTERM ends it at once."""
    container = _audit_container()
    root = compliant_root(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    name = f"rke2image-test-{uuid.uuid4().hex[:12]}"
    command = [str(word) for word in container["command"]]
    args = [str(word) for word in container["args"]]
    started = subprocess.run(
        podman(
            "run",
            "--detach",
            "--name",
            name,
            *_run_options(root, out),
            "--env=NODE_NAME=cp-1",
            f"--entrypoint={command[0]}",
            image,
            *command[1:],
            *args,
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        report = out / "audit.json"
        for _ in range(600):  # the first audit runs at once; ~60 s at most on a busy machine
            if report.exists():
                break
            time.sleep(0.1)
        assert report.exists(), subprocess.run(
            podman("logs", name), capture_output=True, text=True, check=False
        ).stderr
        assert json.loads(report.read_text(encoding="utf-8"))["node"]["name"] == "cp-1"
        assert (out / "textfile" / "rke2image.prom").is_file()
        assert not (out / "audit.json.tmp").exists()
        # podman stop sends SIGTERM and waits 10 s before SIGKILL: the trap must end it first
        stopped = subprocess.run(
            podman("stop", "--time", "10", name),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert stopped.returncode == 0, stopped.stderr
        state = subprocess.run(
            podman("inspect", "--format", "{{.State.ExitCode}}", name),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert state.stdout.strip() == "0"  # 137 would mean it had to be killed
    finally:
        subprocess.run(podman("rm", "--force", name), capture_output=True, timeout=120, check=False)


def test_the_image_recipe_passes_shellcheck(require_tool: Callable[[str], str]) -> None:
    result = subprocess.run(
        [require_tool("shellcheck"), str(BUILD)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
