"""The typed node spec that every later stage (render, build, audit) consumes.

A ``NodeSpec`` is built only from a document that passed validation, with the
schema's defaults filled in, so its fields need no further checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rke2image import paths, rke2, targets
from rke2image.goflags import (
    NotABool,
    arg_list,
    on_or_invalid,
    parse_go_bool,
    winning_arg,
)
from rke2image.kernel import REQUIRED_PARAMETERS, normalize_key, normalize_value

Role = rke2.Role
PreflightMode = Literal["remediate", "enforce", "warn"]


@dataclass(frozen=True)
class TokenRef:
    """Where the cluster token comes from; a literal token is never allowed."""

    file: str | None = None
    env: str | None = None


@dataclass(frozen=True)
class NodeSpec:
    """One node, fully resolved (a Cluster expands into one of these per node)."""

    name: str
    role: Role
    cluster_init: bool
    server: str | None
    os: str
    rke2_version: str
    profile: str
    token: TokenRef | None
    rke2_config: dict[str, Any]
    sysctl: dict[str, str]
    modules: tuple[str, ...]
    preflight_mode: PreflightMode
    image_name: str | None = None
    builders: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<memory>"
    targets: tuple[str, ...] = ()  # as the spec lists them; empty: the os's default

    @property
    def render_targets(self) -> tuple[str, ...]:
        """The spec's targets, or the one its os defaults to."""
        return self.targets or (targets.default_target(self.os),)

    @property
    def preflight_path(self) -> str:
        """Where this node's preflight lands: its os decides (a read-only /usr/local or not)."""
        return paths.preflight_path(targets.family(self.os).usr_local_readonly)

    @property
    def protect_kernel_defaults(self) -> bool:
        """True when kubelet will refuse to start on a wrong kernel value."""
        return protection_on(self.profile, self.rke2_config)

    @property
    def fail_swap_on(self) -> bool:
        """True when kubelet refuses to run with swap on: RKE2 passes fail-swap-on=false
        (k3s pkg/daemons/agent, agent_linux.go), so only a kubelet-arg turns it on."""
        return flag_value(self.rke2_config, rke2.FAIL_SWAP_ON) is True

    @property
    def needs_etcd_user(self) -> bool:
        """RKE2 servers with the cis or etcd profile need an etcd user and group."""
        return self.role == "server" and self.profile in rke2.ETCD_USER_PROFILES

    def effective_sysctl(self) -> dict[str, str]:
        """The required parameters merged with the spec's own, sorted by key."""
        return effective_sysctl(self.sysctl)


def effective_sysctl(sysctl: Mapping[str, str]) -> dict[str, str]:
    """The required parameters merged with a normalised ``sysctl``, sorted by key.

    A function too, so the cluster rules can compare servers whose documents
    are not yet known to be valid.
    """
    merged = {p.key: p.value for p in REQUIRED_PARAMETERS}
    merged.update(sysctl)
    return dict(sorted(merged.items()))


def normalized_sysctl(sysctl: Mapping[Any, object]) -> dict[str, str]:
    """The spec's ``kernel.sysctl`` with keys and values as sysctl.d and the kernel write them."""
    return {normalize_key(str(k)): normalize_value(v) for k, v in sysctl.items()}


# Boolean options rke2image reads from rke2.config and kubelet-arg.
BOOL_OPTIONS = (rke2.PROTECT_KERNEL_DEFAULTS, rke2.FAIL_SWAP_ON)


def protection_on(profile: object, config: object) -> bool:
    """Whether a wrong kernel value stops the node: a CIS profile (RKE2's own start
    check, and protect-kernel-defaults), the rke2.config option or a kubelet-arg.

    Never from the profile alone: the outage this tool exists for had protection
    without cis. A value Go rejects counts as on (the ``bad-bool`` rule reports it).
    """
    if rke2.is_cis(profile):
        return True
    if isinstance(config, dict) and on_or_invalid(config.get(rke2.PROTECT_KERNEL_DEFAULTS)):
        return True
    return on_or_invalid(kubelet_arg(config, rke2.PROTECT_KERNEL_DEFAULTS))


def flag_value(config: object, name: str) -> bool | None:
    """kubelet flag ``name`` from kubelet-arg as a bool; None when absent or invalid."""
    value = kubelet_arg(config, name)
    try:
        return None if value is None else parse_go_bool(value)
    except NotABool:
        return None


def kubelet_arg(config: object, name: str) -> str | None:
    """The value kubelet ends up with for flag ``name`` from rke2.config ``kubelet-arg``
    ("true" when given bare), or None when no arg names it.

    How RKE2 and kubelet read the list: ``rke2image.goflags``.
    """
    args = arg_list(config.get(rke2.KUBELET_ARG) if isinstance(config, dict) else None)
    found = winning_arg(args, name)
    return None if found is None else found[1]


def node_from_document(doc: dict[str, Any], source: str = "<memory>") -> NodeSpec:
    """Build a NodeSpec from a validated NodeSpec document with defaults applied."""
    spec = doc["spec"]
    rke2 = spec["rke2"]
    kernel = spec.get("kernel", {})
    token = rke2.get("token")
    image = spec.get("image") or {}
    return NodeSpec(
        name=doc["metadata"]["name"],
        role=spec["role"],
        cluster_init=bool(spec.get("clusterInit", False)),
        server=spec.get("server"),
        os=spec["os"],
        rke2_version=rke2["version"],
        profile=rke2.get("profile", "none"),
        token=TokenRef(**token) if isinstance(token, dict) else None,
        rke2_config=dict(rke2.get("config") or {}),
        sysctl=normalized_sysctl(kernel.get("sysctl") or {}),
        modules=tuple(kernel.get("modules", ())),
        preflight_mode=spec.get("preflight", {}).get("mode", "remediate"),
        image_name=image.get("name"),
        builders={k: dict(v or {}) for k, v in (image.get("builders") or {}).items()},
        source=source,
        targets=tuple(spec.get("targets") or ()),
    )
