"""Facts about RKE2 itself that the validator encodes, each with its source.

Kernel values are in ``kernel.py``; this module holds what RKE2 accepts as a
profile in which release, and which config.yaml keys rke2image owns.

Profiles by release come from rancher/rke2 at its release tags (read with
``git show <tag>:<file>`` for every v1.x.y+rke2r1 tag from v1.20 to v1.35):

- ``pkg/cli/cmds/profile_linux.go`` (``pkg/cli/cmds/root.go`` before v1.25.15):
  ``validateProfile`` switches on the profile; any other value is fatal with
  "invalid value provided for --profile flag". ``setCISFlags`` makes an explicit
  ``protect-kernel-defaults: false`` fatal with a CIS profile.
- ``pkg/rke2/rke2.go``: the profile names, and the ``cis-1.23`` deprecation:
  a warning where ``cis`` arrived, ``logrus.Fatal`` from v1.30.0, until the
  releases that also added ``etcd`` removed the name from the switch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

PROFILES_SOURCE = (
    "rancher/rke2 release tags: pkg/cli/cmds/profile_linux.go (validateProfile, setCISFlags; "
    "pkg/cli/cmds/root.go before v1.25.15) and pkg/rke2/rke2.go (profile names, deprecation)"
)

Version = tuple[int, int, int]

# The two roles an RKE2 node runs as: the rke2-server and rke2-agent services.
Role = Literal["server", "agent"]
ROLES: tuple[Role, ...] = ("server", "agent")


# What a release does with a profile (``Profile.verdict``); not the audit's verdicts.
ProfileVerdict = Literal["ok", "deprecated", "fatal", "unknown"]


class Releases:
    """A set of RKE2 releases: per minor line of v1 its first patch, and every later minor.

    ``lines`` maps a minor (25 for v1.25) to the first patch in the set;
    ``every_minor_from`` puts whole minor lines in, from that minor on. A plain class,
    not a tuple: ``in`` asks whether a version is in the set.
    """

    __slots__ = ("every_minor_from", "lines")

    def __init__(
        self, lines: Mapping[int, int] = MappingProxyType({}), every_minor_from: int | None = None
    ) -> None:
        self.lines = lines
        self.every_minor_from = every_minor_from

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, tuple) or len(version) != 3:
            return False
        major, minor, patch = version
        if major != 1:
            return major > 1 and self.every_minor_from is not None
        if self.every_minor_from is not None and minor >= self.every_minor_from:
            return True
        first = self.lines.get(minor)
        return first is not None and patch >= first

    def describe(self) -> str:
        """``v1.25.15, v1.26.10 and every v1.29+`` for messages."""
        parts = [f"v1.{minor}.{patch}" for minor, patch in sorted(self.lines.items())]
        if self.every_minor_from is not None:
            parts.append(f"every v1.{self.every_minor_from}+")
        if not parts:
            return "no release"
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


# The table (one place): where each profile changes state, per minor line, read
# from every v1.x.y+rke2r1 tag (PROFILES_SOURCE). cis-1.23 left the switch in the
# same releases that added etcd, hence ETCD_FROM as its "removed" set below.
CIS_FROM = Releases({25: 15, 26: 10, 27: 7, 28: 2}, every_minor_from=29)
ETCD_FROM = Releases({30: 14, 31: 10, 32: 6, 33: 2}, every_minor_from=34)
CIS_1_23_FROM = Releases(every_minor_from=25)
CIS_1_23_FATAL_FROM = Releases(every_minor_from=30)
LEGACY_1_5_GONE_FROM = Releases(every_minor_from=25)


class Profile(NamedTuple):
    """A value of RKE2's ``profile`` option and the releases that treat it each way.

    ``accepted``: the releases whose switch knows the name (None: every release up
    to ``removed``); ``deprecated``: a start warning; ``fatal``: known but fatal;
    ``removed``: unknown again. ``cis`` turns on protect-kernel-defaults and RKE2's
    kernel check; every profile makes servers need the etcd user and group.
    """

    name: str
    accepted: Releases | None
    removed: Releases | None = None
    deprecated: Releases | None = None
    fatal: Releases | None = None
    fatal_words: str = ""
    cis: bool = True

    def verdict(self, version: Version) -> ProfileVerdict:
        """What RKE2 ``version`` does with this profile."""
        if (self.removed is not None and version in self.removed) or (
            self.accepted is not None and version not in self.accepted
        ):
            return "unknown"
        if self.fatal is not None and version in self.fatal:
            return "fatal"
        if self.deprecated is not None and version in self.deprecated:
            return "deprecated"
        return "ok"


PROFILES: dict[str, Profile] = {
    "cis": Profile("cis", accepted=CIS_FROM),
    "etcd": Profile("etcd", accepted=ETCD_FROM, cis=False),
    "cis-1.5": Profile("cis-1.5", accepted=None, removed=LEGACY_1_5_GONE_FROM),
    "cis-1.6": Profile("cis-1.6", accepted=None, removed=LEGACY_1_5_GONE_FROM),
    "cis-1.23": Profile(
        "cis-1.23",
        accepted=CIS_1_23_FROM,
        removed=ETCD_FROM,
        deprecated=CIS_FROM,
        fatal=CIS_1_23_FATAL_FROM,
        fatal_words="cis-1.23 profile is deprecated. Please use 'cis' instead.",
    ),
}
NO_PROFILE = "none"
# Every profile that makes RKE2 check for an etcd user and group on servers.
ETCD_USER_PROFILES = frozenset(PROFILES)
# The option that makes kubelet refuse wrong kernel values: a config.yaml key and a flag
# of RKE2's, and kubelet's flag of the same name (given through kubelet-arg).
PROTECT_KERNEL_DEFAULTS = "protect-kernel-defaults"
# kubelet's swap flag: RKE2 passes false (k3s defaultKubeletConfig), only a kubelet-arg
# turns it on.
FAIL_SWAP_ON = "fail-swap-on"
# The option whose items RKE2 passes to kubelet as flags (read as ``rke2image.goflags``).
KUBELET_ARG = "kubelet-arg"
# RKE2's words for a name its switch does not know.
UNKNOWN_PROFILE_WORDS = "invalid value provided for --profile flag"
# RKE2's words for profile: cis with protect-kernel-defaults: false (setCISFlags).
PROTECTION_OFF_WORDS = "--protect-kernel-defaults must be true when using --profile={profile}"


def is_cis(profile: object) -> bool:
    """True for ``cis`` and the legacy ``cis-1.x`` names: protection is on with all of them."""
    known = PROFILES.get(profile) if isinstance(profile, str) else None
    return known is not None and known.cis


def cis_profile_for(version: Version) -> str | None:
    """The CIS profile name ``version`` accepts without a warning, if any."""
    for name in ("cis", "cis-1.23", "cis-1.6"):
        if PROFILES[name].verdict(version) == "ok":
            return name
    return None


# Environment variables RKE2 reads from its unit's environment (Environment=,
# EnvironmentFile=): the profile flag's EnvVars (rke2 pkg/cli/cmds/root.go), the config
# file's (k3s pkg/configfilearg/defaultparser.go, ProgramUpper + "_CONFIG_FILE") and the
# node-name flag's (k3s pkg/cli/cmds/agent.go, ProgramUpper + "_NODE_NAME").
CIS_PROFILE_ENV = "RKE2_CIS_PROFILE"
CONFIG_FILE_ENV = "RKE2_CONFIG_FILE"
NODE_NAME_ENV = "RKE2_NODE_NAME"

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
