"""Facts about RKE2 itself that the validator encodes, each with its source.

Kernel values are in ``kernel.py``; this module holds what RKE2 accepts as a
profile in which release, and which config.yaml keys rke2image owns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROFILES_SOURCE = "RKE2 docs, security/hardening_guide and reference/server_config (profile)"

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Profile:
    """A value of RKE2's ``profile`` option and the releases that accept it."""

    name: str
    since: Version | None  # first release that accepts it
    refused_from: Version | None  # first release that refuses it (fatal)
    replacement: str | None = None
    cis: bool = True  # turns on protect-kernel-defaults and RKE2's CIS start check


PROFILES: dict[str, Profile] = {
    "cis": Profile("cis", since=(1, 27, 0), refused_from=None),
    "etcd": Profile("etcd", since=(1, 34, 0), refused_from=None, cis=False),
    "cis-1.5": Profile("cis-1.5", since=None, refused_from=(1, 25, 0), replacement="cis"),
    "cis-1.6": Profile("cis-1.6", since=None, refused_from=(1, 30, 0), replacement="cis"),
    "cis-1.23": Profile("cis-1.23", since=None, refused_from=(1, 30, 0), replacement="cis"),
}
NO_PROFILE = "none"
# Every profile that makes RKE2 check for an etcd user and group on servers.
ETCD_USER_PROFILES = frozenset(PROFILES)


def is_cis(profile: object) -> bool:
    """True for ``cis`` and the legacy ``cis-1.x`` names: protection is on with all of them."""
    known = PROFILES.get(profile) if isinstance(profile, str) else None
    return known is not None and known.cis
# Legacy names still start releases before ``refused_from`` but are deprecated from
# this release, when ``cis`` became the only CIS value.
LEGACY_DEPRECATED_FROM: Version = (1, 27, 0)

# Nodes join through the supervisor port; 6443 is the Kubernetes API (RKE2 docs,
# install/requirements "Inbound Network Rules").
SUPERVISOR_PORT = 9345
KUBE_API_PORT = 6443

# Keys of config.yaml that a spec field renders; setting them in rke2.config too
# would make two sources for one value.
OWNED_CONFIG_KEYS = {
    "token": "rke2.token",
    "token-file": "rke2.token",
    "server": "server",
    "cluster-init": "clusterInit",
    "profile": "rke2.profile",
}
# Keys whose value is a secret: never a literal in a spec.
SECRET_CONFIG_KEYS = {
    "token": "token-file (or rke2.token: {file: ...} / {env: ...})",
    "agent-token": "agent-token-file",
    "etcd-s3-secret-key": "an environment variable read by RKE2 (AWS_SECRET_ACCESS_KEY)",
}

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+rke2r\d+$")


def parse_version(text: str) -> Version | None:
    """``v1.31.4+rke2r1`` → (1, 31, 4); None when it is not an RKE2 version."""
    match = _VERSION.fullmatch(text)  # not match: "$" allows a final newline
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def format_version(version: Version) -> str:
    return "v{}.{}".format(*version[:2])
