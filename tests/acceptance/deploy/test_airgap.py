"""The offline kit: the audit's image as an RKE2 air-gap image archive (deploy/image/airgap.py),
the file RKE2's containerd imports from /var/lib/rancher/rke2/agent/images/ at start.

Its format is checked with the readers this machine has: tar (the members of an OCI image
layout plus Docker's manifest.json, each blob named by its digest), skopeo (both layouts),
and podman load, then the loaded image runs the audit confined as the DaemonSet's is.
Not run here: RKE2's own containerd import and `ctr run` (no RKE2 on this machine); the
README's `ctr` command follows containerd's documented flags.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from acceptance.deploy.image import podman, root_tarball
from acceptance.deploy.roots import break_live, compliant_root
from helpers import REPO, require_tool
from rke2image import __version__

pytestmark = pytest.mark.host  # rootful podman and build.sh's mmdebstrap

AIRGAP = REPO / "deploy" / "image" / "airgap.py"
TAG = f"rke2image-airgap-test:{__version__}"
NAME = f"docker.io/library/{TAG}"  # what containerd and podman call it


class Kit:
    def __init__(self, rootfs: Path, archive: Path) -> None:
        self.rootfs, self.archive = rootfs, archive


def write_archive(rootfs: Path, out: Path) -> Path:
    result = subprocess.run(
        [sys.executable, str(AIRGAP), str(rootfs), str(out), "--tag", TAG],
        capture_output=True,
        text=True,
        check=False,
        env={"SOURCE_DATE_EPOCH": "1700000000", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    rootfs = root_tarball()
    out = tmp_path_factory.mktemp("airgap") / "rke2image-images.linux-amd64.tar"
    yield Kit(rootfs, write_archive(rootfs, out))
    subprocess.run(podman("rmi", "--force", NAME), capture_output=True, check=False, timeout=120)


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {m.name: m for m in tar.getmembers()}


def read(archive: Path, name: str) -> Any:
    with tarfile.open(archive) as tar:
        stream = tar.extractfile(name)
        assert stream is not None
        return json.loads(stream.read())


def test_the_archive_is_an_oci_layout_and_a_docker_archive_over_the_same_blobs(kit: Kit) -> None:
    found = members(kit.archive)
    blobs = sorted(n for n in found if n.startswith("blobs/sha256/") and found[n].isfile())
    assert sorted(set(found) - set(blobs)) == [
        "blobs",
        "blobs/sha256",
        "index.json",
        "manifest.json",
        "oci-layout",
    ]
    assert read(kit.archive, "oci-layout") == {"imageLayoutVersion": "1.0.0"}
    (docker,) = read(kit.archive, "manifest.json")
    assert docker["RepoTags"] == [TAG]
    (entry,) = read(kit.archive, "index.json")["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == NAME
    manifest = read(kit.archive, f"blobs/sha256/{entry['digest'].split(':')[1]}")
    layer = manifest["layers"][0]["digest"].split(":")[1]
    config = manifest["config"]["digest"].split(":")[1]
    assert docker["Config"] == f"blobs/sha256/{config}"
    assert docker["Layers"] == [f"blobs/sha256/{layer}"]
    assert sorted(blobs) == sorted(
        f"blobs/sha256/{d}" for d in (layer, config, entry["digest"][7:])
    )
    assert read(kit.archive, docker["Config"])["config"]["Entrypoint"] == [
        "/usr/local/bin/rke2image"
    ]
    with tarfile.open(kit.archive) as tar:
        for blob in blobs:
            stream = tar.extractfile(blob)
            assert stream is not None
            assert digest(stream) == blob.rsplit("/", 1)[1], blob


def test_the_same_root_gives_the_same_archive(kit: Kit, tmp_path: Path) -> None:
    again = write_archive(kit.rootfs, tmp_path / "again.tar")
    with again.open("rb") as first, kit.archive.open("rb") as second:
        assert digest(first) == digest(second)


def digest(stream: IO[bytes]) -> str:
    """The sha256 of a stream, read 1 MiB at a time (the layer is about 250 MiB)."""
    sha = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        sha.update(block)
    return sha.hexdigest()


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_skopeo_reads_both_layouts(kit: Kit, transport: str) -> None:
    skopeo = require_tool("skopeo")
    result = subprocess.run(
        [skopeo, "inspect", "--config", f"{transport}:{kit.archive}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/rke2image"]
    assert config["os"] == "linux" and config["architecture"] == "amd64"


def test_podman_loads_it_and_it_audits_as_the_daemonset_does(kit: Kit, tmp_path: Path) -> None:
    loaded = subprocess.run(
        podman("load", "--input", str(kit.archive)),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert NAME in loaded.stdout, loaded.stdout
    root = compliant_root(tmp_path)
    break_live(root)
    result = subprocess.run(
        podman(
            "run",
            "--rm",
            "--network=none",
            "--read-only",
            "--cap-drop=ALL",
            "--ulimit=nofile=1024:1024",
            "--ulimit=nproc=1024:1024",
            f"--volume={root}:/host:ro",
            NAME,
            "audit",
            "--root",
            "/host",
            "--proc-sys",
            "/host/proc/sys",
            "--format",
            "json",
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    verdicts = {p["key"]: p["verdict"] for p in json.loads(result.stdout)["parameters"]}
    assert verdicts["kernel.panic"] == "wrong"
