"""Semantic rules: what the schema cannot say. Each finding carries a stable rule id.

Rules read a NodeSpec document whose ``spec`` has the schema defaults filled in.
They are defensive about types: a value of the wrong type is the schema's
finding, not theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rke2image import rke2
from rke2image.kernel import (
    BRIDGE_MODULE,
    REQUIRED_BY_KEY,
    RKE2_SETS,
    normalize_key,
    normalize_value,
)
from rke2image.spec.model import protection_on
from rke2image.spec.problems import Severity, join_pointer


@dataclass(frozen=True)
class Finding:
    pointer: str  # into the NodeSpec document
    severity: Severity
    rule: str
    message: str


Rule = Callable[[dict[str, Any]], Iterator[Finding]]

# sysctl keys: dotted or slashed names of kernel tunables (interface names may hold '.', '@', ':').
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@/-]*$")
# values: integers, whitespace-separated integers, or a plain word such as "bbr".
_INTEGERS = re.compile(r"^-?[0-9]+([ \t]+-?[0-9]+)*$")
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:,@+-]*$")


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def required_sysctl(doc: dict[str, Any]) -> Iterator[Finding]:
    spec = _spec(doc)
    rke2_spec = _mapping(spec.get("rke2"))
    protected = protection_on(rke2_spec.get("profile"), rke2_spec.get("config"))
    for key, value in _mapping(_mapping(spec.get("kernel")).get("sysctl")).items():
        required = REQUIRED_BY_KEY.get(normalize_key(str(key)))
        if (
            required is None
            or isinstance(value, (dict, list))
            or normalize_value(value) == required.value
        ):
            continue
        pointer = join_pointer("/spec/kernel/sysctl", key)
        if protected:
            yield Finding(
                pointer,
                "error",
                "required-sysctl",
                (
                    f"{key} is {value!r} but kubelet with protect-kernel-defaults requires "
                    f"{required.value} and refuses to start ('invalid kernel flag: "
                    f"{required.kubelet_flag}, expected value: {required.value}'): "
                    f"remove the key (rke2image sets {required.value}) "
                    f"or set it to {required.value}"
                ),
            )
        else:
            yield Finding(
                pointer,
                "warning",
                "required-sysctl",
                (
                    f"{key} is {value!r} but kubelet requires {required.value}; "
                    "with protection off kubelet silently overwrites it, "
                    "and turning on profile: cis later makes the node "
                    f"refuse to start: remove the key or set it to {required.value}"
                ),
            )


def unsafe_sysctl(doc: dict[str, Any]) -> Iterator[Finding]:
    for key, value in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")).items():
        pointer = join_pointer("/spec/kernel/sysctl", key)
        text = str(key)
        if not _SAFE_KEY.match(text) or ".." in text or "//" in text:
            yield Finding(
                pointer,
                "error",
                "unsafe-sysctl-key",
                (
                    f"sysctl key {text!r} is not a plain kernel parameter name: "
                    "use letters, digits, '_', '-', and '.' or '/' between parts "
                    "(no spaces, '=', '..', leading '/' or '-')"
                ),
            )
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            continue  # a schema finding
        rendered = str(value)
        if not (_INTEGERS.match(rendered) or (_SAFE_WORD.match(rendered) and ".." not in rendered)):
            yield Finding(
                pointer,
                "error",
                "unsafe-sysctl-value",
                (
                    f"value {rendered!r} of {text} could break the sysctl.d file, "
                    "a shell or a unit: "
                    "use an integer, integers separated by spaces, or a plain word "
                    "(letters, digits, '_', '.', ':', ',', '@', '+', '-'; no paths or quotes)"
                ),
            )


def duplicate_sysctl(doc: dict[str, Any]) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for key in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")):
        normal = normalize_key(str(key))
        if normal in seen:
            yield Finding(
                join_pointer("/spec/kernel/sysctl", key),
                "error",
                "duplicate-sysctl-key",
                (
                    f"{key} is the same kernel parameter as {seen[normal]} (written with other "
                    "separators): keep one, or the last silently wins"
                ),
            )
        else:
            seen[normal] = str(key)


def bridge_module(doc: dict[str, Any]) -> Iterator[Finding]:
    kernel = _mapping(_spec(doc).get("kernel"))
    modules = kernel.get("modules")
    if not isinstance(modules, list) or BRIDGE_MODULE in modules:
        return
    for key in _mapping(kernel.get("sysctl")):
        if normalize_key(str(key)).startswith("net.bridge."):
            yield Finding(
                join_pointer("/spec/kernel/sysctl", key),
                "warning",
                "sysctl-needs-module",
                (
                    f"{key} exists only once the {BRIDGE_MODULE} module is loaded: "
                    f"add {BRIDGE_MODULE} to kernel.modules"
                ),
            )


def literal_secret(doc: dict[str, Any]) -> Iterator[Finding]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    if isinstance(rke2_spec.get("token"), (str, int)):
        yield Finding(
            "/spec/rke2/token",
            "error",
            "secret-literal",
            (
                "rke2.token holds a literal secret, which would land in the repository and in "
                "logs: use token: {file: /etc/rancher/rke2/token} or token: {env: RKE2_TOKEN}"
            ),
        )
    for key, instead in rke2.SECRET_CONFIG_KEYS.items():
        if key in _mapping(rke2_spec.get("config")):
            yield Finding(
                join_pointer("/spec/rke2/config", key),
                "error",
                "secret-literal",
                (f"rke2.config.{key} is a literal secret: remove it and use {instead}"),
            )


def owned_config_keys(doc: dict[str, Any]) -> Iterator[Finding]:
    config = _mapping(_mapping(_spec(doc).get("rke2")).get("config"))
    for key, field in rke2.OWNED_CONFIG_KEYS.items():
        if key in config and key not in rke2.SECRET_CONFIG_KEYS:
            yield Finding(
                join_pointer("/spec/rke2/config", key),
                "error",
                "config-key-has-field",
                (f"rke2.config.{key} has its own field: set {field} instead"),
            )


def topology(doc: dict[str, Any]) -> Iterator[Finding]:
    spec = _spec(doc)
    if not isinstance(spec.get("clusterInit"), bool):
        return  # a schema finding
    init = spec["clusterInit"]
    if init and spec.get("role") == "agent":
        yield Finding(
            "/spec/clusterInit",
            "error",
            "cluster-init-agent",
            (
                "clusterInit is for the bootstrap server only: an agent cannot start a cluster; "
                "remove clusterInit or set role: server"
            ),
        )
    if init and spec.get("server") is not None:
        yield Finding(
            "/spec/server",
            "error",
            "cluster-init-with-server",
            (
                "the clusterInit server starts the cluster and must not have server: "
                "remove server, "
                "or clusterInit if this node joins an existing cluster"
            ),
        )
    if not init and spec.get("server") is None and spec.get("role") in ("server", "agent"):
        yield Finding(
            "/spec",
            "error",
            "server-missing",
            (
                f"a joining {spec.get('role')} needs server: https://<first-server>:9345 "
                "(or clusterInit: true on the one bootstrap server)"
            ),
        )


def server_port(doc: dict[str, Any]) -> Iterator[Finding]:
    server = _spec(doc).get("server")
    if isinstance(server, str) and server.rsplit(":", 1)[-1] == str(rke2.KUBE_API_PORT):
        yield Finding(
            "/spec/server",
            "warning",
            "server-port",
            (
                f"{server} is the Kubernetes API port; nodes join through RKE2's supervisor port "
                f"{rke2.SUPERVISOR_PORT}: use https://<address>:{rke2.SUPERVISOR_PORT}"
            ),
        )


def profile(doc: dict[str, Any]) -> Iterator[Finding]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    name = rke2_spec.get("profile")
    if not isinstance(name, str) or name == rke2.NO_PROFILE:
        return
    known = rke2.PROFILES.get(name)
    if known is None:
        yield Finding(
            "/spec/rke2/profile",
            "error",
            "profile-unknown",
            (f"profile {name!r} is not an RKE2 profile: use none, cis or etcd"),
        )
        return
    text = str(rke2_spec.get("version", ""))
    version = rke2.parse_version(text)
    if version is None:
        return
    verdict = known.verdict(version)
    instead = rke2.cis_profile_for(version) if known.cis else None
    use = f"use {instead}" if instead and instead != name else "use an RKE2 release that accepts it"
    if verdict == "unknown":
        since = f" (it is accepted in {known.accepted.describe()})" if known.accepted else ""
        yield Finding(
            "/spec/rke2/profile",
            "error",
            "profile-version",
            (
                f'RKE2 {text} refuses profile {name!r} at start ("{rke2.UNKNOWN_PROFILE_WORDS}")'
                f"{since}: {use}"
            ),
        )
    elif verdict == "fatal":
        yield Finding(
            "/spec/rke2/profile",
            "error",
            "profile-version",
            (f'RKE2 {text} refuses profile {name!r} at start ("{known.fatal_words}"): {use}'),
        )
    elif verdict == "deprecated":
        yield Finding(
            "/spec/rke2/profile",
            "warning",
            "profile-version",
            (
                f"profile {name!r} is deprecated in RKE2 {text} (it warns at start, and v1.30 and "
                f"later refuse it): {use}"
            ),
        )


def cis_protection_off(doc: dict[str, Any]) -> Iterator[Finding]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    name = rke2_spec.get("profile")
    config = _mapping(rke2_spec.get("config"))
    if not rke2.is_cis(name) or "protect-kernel-defaults" not in config:
        return
    value = config["protect-kernel-defaults"]
    if value is False or (isinstance(value, str) and value.strip().lower() in _GO_FALSE):
        words = rke2.PROTECTION_OFF_WORDS.format(profile=name)
        yield Finding(
            "/spec/rke2/config/protect-kernel-defaults",
            "error",
            "cis-protection-off",
            (
                f"RKE2 refuses to start with profile {name} and protect-kernel-defaults: false "
                f'("{words}"): remove protect-kernel-defaults (the profile turns it on)'
            ),
        )


# strconv.ParseBool's false words: how RKE2's CLI reads a boolean option.
_GO_FALSE = frozenset({"0", "f", "false"})


def rke2_managed_sysctl(doc: dict[str, Any]) -> Iterator[Finding]:
    for key, value in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")).items():
        managed = RKE2_SETS.get(normalize_key(str(key)))
        if managed is None or isinstance(value, (dict, list)):
            continue
        if normalize_value(value) != managed:
            yield Finding(
                join_pointer("/spec/kernel/sysctl", key),
                "warning",
                "rke2-managed-sysctl",
                (
                    f"{key} is {value!r} but RKE2 sets it to {managed} at every start, so this "
                    "value does not last, and a remediating preflight would fight RKE2 on each "
                    f"restart: remove the key or set it to {managed}"
                ),
            )


NODE_RULES: tuple[Rule, ...] = (
    required_sysctl,
    unsafe_sysctl,
    duplicate_sysctl,
    bridge_module,
    literal_secret,
    owned_config_keys,
    topology,
    server_port,
    profile,
    cis_protection_off,
    rke2_managed_sysctl,
)


def node_findings(doc: dict[str, Any]) -> list[Finding]:
    return [finding for rule in NODE_RULES for finding in rule(doc)]
