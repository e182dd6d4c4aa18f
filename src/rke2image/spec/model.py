"""The typed node spec that every later stage (render, build, audit) consumes.

A ``NodeSpec`` is built only from a document that passed validation, with the
schema's defaults filled in, so its fields need no further checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rke2image import rke2
from rke2image.kernel import REQUIRED_PARAMETERS, normalize_key, normalize_value

Role = Literal["server", "agent"]
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

    @property
    def protect_kernel_defaults(self) -> bool:
        """True when kubelet will refuse to start on a wrong kernel value."""
        return protection_on(self.profile, self.rke2_config)

    @property
    def needs_etcd_user(self) -> bool:
        """RKE2 servers with the cis or etcd profile need an etcd user and group."""
        return self.role == "server" and self.profile in rke2.ETCD_USER_PROFILES

    @property
    def fail_swap_on(self) -> bool:
        """True when kubelet refuses to run with swap on (the preflight's --no-swap)."""
        return fail_swap_on(self.rke2_config)

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


def protection_on(profile: object, config: object) -> bool:
    """Whether kubelet runs with protect-kernel-defaults.

    Derived from a CIS profile *or* the kubelet option itself, never from the
    profile alone: the outage this tool exists for had protection without cis.
    """
    if rke2.is_cis(profile):
        return True
    if not isinstance(config, dict):
        return False
    if _truthy(config.get("protect-kernel-defaults")):
        return True
    value = kubelet_arg(config, "protect-kernel-defaults")
    return value is not None and (value == "" or _truthy(value))


def kubelet_arg(config: object, name: str) -> str | None:
    """The value of kubelet flag ``name`` in rke2.config ``kubelet-arg`` ("" when given
    bare), or None when absent; the last occurrence wins, as on kubelet's command line."""
    args = config.get("kubelet-arg") if isinstance(config, dict) else None
    if isinstance(args, str):
        args = [args]
    found = None
    for arg in args if isinstance(args, list) else []:
        flag, _, value = str(arg).lstrip("-").partition("=")
        if flag == name:
            found = value.strip()
    return found


def fail_swap_on(config: object) -> bool:
    """kubelet refuses to run with swap on unless a kubelet-arg sets fail-swap-on=false."""
    value = kubelet_arg(config, "fail-swap-on")
    return value is None or value.lower() != "false"


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


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
    )
