"""Write the image root of build.sh as an RKE2 air-gap image archive.

RKE2's containerd imports every ``*.tar`` of ``/var/lib/rancher/rke2/agent/images/`` when
it starts, so a node that holds this file holds the audit's image, registry or not, and
RKE2's own ``ctr`` can run it when kubelet is down (README, "Diagnose a node"). The
archive is what ``docker save`` writes since Docker 25: an OCI image layout
(``oci-layout``, ``index.json``, ``blobs/sha256/``) and Docker's ``manifest.json`` over the
same blobs, so containerd (``ctr images import``), ``podman load`` and skopeo read it.
One uncompressed layer: build.sh's root tarball as it is.

Usage: python3 deploy/image/airgap.py ROOTFS.tar OUT.tar --tag rke2image:0.1.0

The same root tarball and tag give the same bytes (every time stamp is
``SOURCE_DATE_EPOCH``, default 0). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

ENTRYPOINT = ["/usr/local/bin/rke2image"]
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def full_name(tag: str) -> str:
    """The name containerd gives the image: ``rke2image:0.1.0`` is
    ``docker.io/library/rke2image:0.1.0``, as Docker's reference rules normalise it."""
    first, slash, _ = tag.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return tag
    return f"docker.io/{tag}" if slash else f"docker.io/library/{tag}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def image_config(layer_digest: str, created: str) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": ENTRYPOINT, "Env": [PATH], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
        "history": [{"created": created, "created_by": "deploy/image/build.sh"}],
    }


def write_archive(rootfs: Path, out: Path, tag: str, epoch: int) -> None:
    """The archive, written to a temporary name and renamed: never half a file."""
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    layer = sha256_of(rootfs)
    config = canonical(image_config(layer, created))
    config_digest = hashlib.sha256(config).hexdigest()
    name = full_name(tag)
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": f"sha256:{config_digest}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER,
                    "digest": f"sha256:{layer}",
                    "size": rootfs.stat().st_size,
                }
            ],
        }
    )
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    index = canonical(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": f"sha256:{manifest_digest}",
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rpartition(":")[2],
                    },
                }
            ],
        }
    )
    docker_manifest = canonical(
        [
            {
                "Config": f"blobs/sha256/{config_digest}",
                "RepoTags": [tag],
                "Layers": [f"blobs/sha256/{layer}"],
            }
        ]
    )
    small = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": index,
        "manifest.json": docker_manifest,
        f"blobs/sha256/{config_digest}": config,
        f"blobs/sha256/{manifest_digest}": manifest,
    }
    partial = out.with_name(f".{out.name}.partial")
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            for folder in ("blobs", "blobs/sha256"):
                archive.addfile(_entry(folder, 0, epoch, tarfile.DIRTYPE))
            members = {**small, f"blobs/sha256/{layer}": None}
            for member in sorted(members):
                data = members[member]
                if data is None:
                    with rootfs.open("rb") as stream:
                        size = rootfs.stat().st_size
                        archive.addfile(_entry(member, size, epoch), stream)
                else:
                    archive.addfile(_entry(member, len(data), epoch), io.BytesIO(data))
        partial.chmod(0o644)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def _entry(name: str, size: int, epoch: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size if kind == tarfile.REGTYPE else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rootfs", type=Path, help="the root tarball build.sh printed")
    parser.add_argument("out", type=Path, help="the archive to write (*.tar)")
    parser.add_argument("--tag", required=True, help="the image's name, e.g. rke2image:0.1.0")
    args = parser.parse_args(argv)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    write_archive(args.rootfs, args.out, args.tag, epoch)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
