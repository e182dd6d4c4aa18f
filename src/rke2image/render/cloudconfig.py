"""The #cloud-config mapping for a node: full (stock cloud image) or baked.

First-boot ordering is the point of this module. systemd-sysctl has run before
cloud-init writes the sysctl.d file, and runcmd runs after multi-user.target, so
the kernel values are not in force by themselves. Two things make sure they are
before RKE2 starts: runcmd runs the preflight (remediate) before it enables RKE2,
and the drop-in runs the preflight before every start, whoever starts the unit.
RKE2 is installed only when absent, so an image that already ships it is kept.
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from typing import Any

from rke2image import accounts, paths
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.render.escape import shell_quote
from rke2image.render.files import RenderedFile
from rke2image.spec.model import NodeSpec

INSTALL_SCRIPT_URL = "https://get.rke2.io"
# Where the official install script puts the binary: tarball (/usr/local, or /opt
# when /usr/local is read-only) and RPM (/usr).
RKE2_BINARIES = ("/usr/local/bin/rke2", "/opt/rke2/bin/rke2", "/usr/bin/rke2")


def full_cloud_config(node: NodeSpec, files: tuple[RenderedFile, ...]) -> dict[str, Any]:
    """Everything a node booting a stock cloud image needs."""
    config: dict[str, Any] = {
        "hostname": node.name,
        "write_files": [_write_file(f) for f in files],
        "runcmd": [
            install_command(node),
            [node.preflight_path, "--mode", "remediate", *preflight_file_args()],
            ["systemctl", "daemon-reload"],
            _enable(node),
        ],
    }
    if node.needs_etcd_user:
        # cloud-init creates groups before users.
        config.update(accounts.ETCD.cloud_config())
    return config


def baked_cloud_config(node: NodeSpec, files: tuple[RenderedFile, ...]) -> dict[str, Any]:
    """Only what differs per node, for an image made by ``rke2image build``."""
    return {
        "hostname": node.name,
        "write_files": [_write_file(f) for f in files],
        "runcmd": [_enable(node)],
    }


def preflight_file_args() -> list[str]:
    """The preflight's inputs: it has no default paths, and it learns from ``--required``
    which keys kubelet reads (missing, they fail; a spec's own missing key only warns)."""
    return [
        "--sysctl-file", paths.SYSCTL_FILE,
        "--modules-file", paths.MODULES_FILE,
        "--required", required_keys(),
    ]  # fmt: skip


def required_keys() -> str:
    """The preflight's ``--required`` value: the keys kubelet reads, comma-separated."""
    return ",".join(p.key for p in REQUIRED_PARAMETERS)


def install_command(node: NodeSpec) -> str:
    """Run the official install script unless RKE2 is already installed."""
    absent = " && ".join(f"[ ! -x {shell_quote(path)} ]" for path in RKE2_BINARIES)
    script = "/run/rke2image-install-rke2.sh"
    install = (
        f"curl -sfL {shell_quote(INSTALL_SCRIPT_URL)} -o {shell_quote(script)}"
        f" && INSTALL_RKE2_VERSION={shell_quote(node.rke2_version)}"
        f" INSTALL_RKE2_TYPE={shell_quote(node.role)} sh {shell_quote(script)}"
    )
    return f"if {absent}; then {install}; fi"


def _enable(node: NodeSpec) -> list[str]:
    return ["systemctl", "enable", "--now", paths.service_name(node.role)]


def _write_file(file: RenderedFile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": file.path,
        "permissions": f"{file.mode:04o}",
        "owner": "root:root",
    }
    packed = gzip_b64(file.content)
    if len(packed) < len(file.content):
        entry.update(encoding="gz+b64", content=packed)
    else:
        entry["content"] = file.content.decode("utf-8")
    return entry


# EC2 accepts at most 16 KiB of user-data, and the preflight alone is ~25 KB:
# cloud-init's write_files decodes ``encoding: gz+b64``. A file is packed only
# when that makes it shorter, so short files stay readable in the user-data
# (rootfs/ always holds every file plain, for review).
GZIP_LEVEL = 9


# Cached: every node of a Cluster packs the same preflight, and gzip at level 9 was
# two thirds of `render`'s phase for 1,000 nodes (2.8 s uncached, 0.9 s cached; bench_render.py).
@functools.lru_cache(maxsize=256)
def gzip_b64(content: bytes) -> str:
    """gzip (no name, mtime 0, a fixed level: the same bytes on every render), base64."""
    return base64.b64encode(gzip_member(content)).decode()


# The gzip header zlib writes on Unix (RFC 1952: no name, mtime 0, XFL 2 for the best
# compression, OS 3 Unix). Written here rather than by gzip.compress, whose header says
# OS 255 before Python 3.11 and 3 since: the same spec must render the same bytes on
# every supported Python.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"


def gzip_member(content: bytes) -> bytes:
    """One gzip member of ``content``: the fixed header, raw deflate, CRC-32 and size."""
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(content) + deflate.flush()
    trailer = struct.pack("<II", zlib.crc32(content), len(content) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer
