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
from rke2image.goflags import NotABool, parse_go_bool
from rke2image.kernel import (
    BRIDGE_MODULE,
    REQUIRED_BY_KEY,
    RKE2_SETS,
    key_path_parts,
    normalize_key,
    normalize_value,
)
from rke2image.spec import target_rules
from rke2image.spec.model import BOOL_OPTIONS, kubelet_arg, protection_on
from rke2image.spec.problems import ProblemSeverity, join_pointer


@dataclass(frozen=True)
class Violation:
    """A rule broken at a JSON pointer of the node document; ``spec.check`` places it at
    its file, line and column and makes it a ``Problem``."""

    pointer: str  # into the NodeSpec document
    severity: ProblemSeverity
    rule: str
    message: str


Rule = Callable[[dict[str, Any]], Iterator[Violation]]

# sysctl keys: dotted or slashed names of kernel tunables (interface names may hold '.', '@', ':').
_SAFE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@/-]*")
# values: integers, whitespace-separated integers, or a plain word such as "bbr".
_INTEGER = re.compile(r"-?[0-9]+")
_SAFE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:,@+-]*")
# A field that reads as a number to a person but is not a decimal integer to the
# kernel (proc_dointvec/proc_doulongvec): 1e3, 1.5, 0x10, +1, 1_000, .5, 08h.
_NUMBERISH = re.compile(r"[-+]?\.?[0-9][0-9A-Za-z_.+-]*")
# The widest sysctl the kernel has is an unsigned long (proc_doulongvec_minmax); int
# ones take a sign. Anything outside these bounds is EINVAL on write.
_MIN_VALUE, _MAX_VALUE = -(2**63), 2**64 - 1


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def required_sysctl(doc: dict[str, Any]) -> Iterator[Violation]:
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
            yield Violation(
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
            yield Violation(
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


def unsafe_sysctl(doc: dict[str, Any]) -> Iterator[Violation]:
    for key, value in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")).items():
        pointer = join_pointer("/spec/kernel/sysctl", key)
        text = str(key)
        reason = _key_problem(text)
        if reason:
            yield Violation(pointer, "error", "unsafe-sysctl-key", f"sysctl key {text!r} {reason}")
        if isinstance(value, bool) or not isinstance(value, (int, str, float)):
            continue  # a schema finding
        fields = value_fields(value)
        # JSON Schema's "integer" takes 1000.0 (YAML's 1.0e+3): floats are refused here.
        if isinstance(value, float) or (fields and all(_NUMBERISH.fullmatch(f) for f in fields)):
            wrong = [f for f in fields if isinstance(value, float) or not _integer_in_range(f)]
            if wrong:
                yield Violation(
                    pointer,
                    "error",
                    "bad-sysctl-value",
                    (
                        f"value {_short(wrong[0])} of {text} is not a decimal integer the kernel "
                        f"accepts (from {_MIN_VALUE} to {_MAX_VALUE}; no exponent, fraction, sign "
                        "'+', hex or '_'): the write fails with EINVAL, so write the integer out"
                    ),
                )
            continue
        if not _plain_value(fields) or ".." in str(value):
            yield Violation(
                pointer,
                "error",
                "unsafe-sysctl-value",
                (
                    f"value {_short(str(value))} of {text} could break the sysctl.d file, a shell "
                    f"or a "
                    "unit: use an integer, integers separated by spaces, or a plain word "
                    "(letters, digits, '_', '.', ':', ',', '@', '+', '-'; no paths or quotes)"
                ),
            )


def value_fields(value: float | str) -> list[str]:
    """The whitespace-separated fields of a sysctl value, as the kernel parses them."""
    return str(value).split() if isinstance(value, str) else [repr(value)]


def _plain_value(fields: list[str]) -> bool:
    """Integers separated by blanks, or one plain word."""
    if fields and all(_INTEGER.fullmatch(f) for f in fields):
        return True
    return len(fields) == 1 and _SAFE_WORD.fullmatch(fields[0]) is not None


def _integer_in_range(field: str) -> bool:
    if not _INTEGER.fullmatch(field) or len(field) > 21:  # never int() a 5,000-digit string
        return False
    return _MIN_VALUE <= int(field) <= _MAX_VALUE


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not one plain kernel parameter name, or None."""
    if not _SAFE_KEY.fullmatch(key):
        return (
            "is not a plain kernel parameter name: use letters, digits, '_', '-', and "
            "'.' or '/' between parts (no spaces, '=', leading '/' or '-')"
        )
    if key_path_parts(key) is None:
        return (
            "has an empty, '.' or '..' part or a trailing separator: tools disagree on "
            "which parameter it names (systemd-sysctl simplifies the path, others do "
            "not): write the parameter once, canonically (kernel.panic)"
        )
    normal = normalize_key(key)
    flat = normal.replace("/", ".")
    if normal not in REQUIRED_BY_KEY and flat in REQUIRED_BY_KEY:
        return (
            f"mixes '.' and '/' so that one tool reads it as {flat} and another as a "
            f"different path: write {flat}"
        )
    return None


def duplicate_sysctl(doc: dict[str, Any]) -> Iterator[Violation]:
    seen: dict[str, str] = {}
    for key in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")):
        normal = normalize_key(str(key))
        if normal in seen:
            yield Violation(
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


def bridge_module(doc: dict[str, Any]) -> Iterator[Violation]:
    kernel = _mapping(_spec(doc).get("kernel"))
    modules = kernel.get("modules")
    if not isinstance(modules, list) or BRIDGE_MODULE in modules:
        return
    for key in _mapping(kernel.get("sysctl")):
        if normalize_key(str(key)).startswith("net.bridge."):
            yield Violation(
                join_pointer("/spec/kernel/sysctl", key),
                "warning",
                "sysctl-needs-module",
                (
                    f"{key} exists only once the {BRIDGE_MODULE} module is loaded: "
                    f"add {BRIDGE_MODULE} to kernel.modules"
                ),
            )


def literal_secret(doc: dict[str, Any]) -> Iterator[Violation]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    if isinstance(rke2_spec.get("token"), (str, int)):
        yield Violation(
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
            yield Violation(
                join_pointer("/spec/rke2/config", key),
                "error",
                "secret-literal",
                (f"rke2.config.{key} is a literal secret: remove it and use {instead}"),
            )


def bool_options(doc: dict[str, Any]) -> Iterator[Violation]:
    config = _mapping(_mapping(_spec(doc).get("rke2")).get("config"))
    for name in BOOL_OPTIONS:
        found = [(join_pointer("/spec/rke2/config", name), f"rke2.config.{name}", config.get(name))]
        found.append(
            ("/spec/rke2/config/kubelet-arg", f"kubelet-arg {name}", kubelet_arg(config, name))
        )
        for pointer, where, value in found:
            if value is None:
                continue
            try:
                parse_go_bool(value)
            except NotABool:
                yield Violation(
                    pointer,
                    "error",
                    "bad-bool",
                    (
                        f"{where} is {_short(str(value))}, which Go's strconv.ParseBool rejects, "
                        f"so "
                        "RKE2 or kubelet refuses to start: write true or false (Go also reads "
                        "1, t, T, TRUE, True and 0, f, F, FALSE, False; not yes/no/on/off)"
                    ),
                )


def owned_config_keys(doc: dict[str, Any]) -> Iterator[Violation]:
    config = _mapping(_mapping(_spec(doc).get("rke2")).get("config"))
    for key, field in rke2.OWNED_CONFIG_KEYS.items():
        if key in config and key not in rke2.SECRET_CONFIG_KEYS:
            yield Violation(
                join_pointer("/spec/rke2/config", key),
                "error",
                "config-key-has-field",
                (f"rke2.config.{key} has its own field: set {field} instead"),
            )


def topology(doc: dict[str, Any]) -> Iterator[Violation]:
    spec = _spec(doc)
    if not isinstance(spec.get("clusterInit"), bool):
        return  # a schema finding
    init = spec["clusterInit"]
    if init and spec.get("role") == "agent":
        yield Violation(
            "/spec/clusterInit",
            "error",
            "cluster-init-agent",
            (
                "clusterInit is for the bootstrap server only: an agent cannot start a cluster; "
                "remove clusterInit or set role: server"
            ),
        )
    if init and spec.get("server") is not None:
        yield Violation(
            "/spec/server",
            "error",
            "cluster-init-with-server",
            (
                "the clusterInit server starts the cluster and must not have server: "
                "remove server, "
                "or clusterInit if this node joins an existing cluster"
            ),
        )
    if not init and spec.get("server") is None and spec.get("role") in rke2.ROLES:
        yield Violation(
            "/spec",
            "error",
            "server-missing",
            (
                f"a joining {spec.get('role')} needs server: https://<first-server>:9345 "
                "(or clusterInit: true on the one bootstrap server)"
            ),
        )


def server_port(doc: dict[str, Any]) -> Iterator[Violation]:
    server = _spec(doc).get("server")
    if isinstance(server, str) and server.rsplit(":", 1)[-1] == str(rke2.KUBE_API_PORT):
        yield Violation(
            "/spec/server",
            "warning",
            "server-port",
            (
                f"{server} is the Kubernetes API port; nodes join through RKE2's supervisor port "
                f"{rke2.SUPERVISOR_PORT}: use https://<address>:{rke2.SUPERVISOR_PORT}"
            ),
        )


def profile(doc: dict[str, Any]) -> Iterator[Violation]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    name = rke2_spec.get("profile")
    if not isinstance(name, str) or name == rke2.NO_PROFILE:
        return
    known = rke2.PROFILES.get(name)
    if known is None:
        yield Violation(
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
        yield Violation(
            "/spec/rke2/profile",
            "error",
            "profile-version",
            (
                f'RKE2 {text} refuses profile {name!r} at start ("{rke2.UNKNOWN_PROFILE_WORDS}")'
                f"{since}: {use}"
            ),
        )
    elif verdict == "fatal":
        yield Violation(
            "/spec/rke2/profile",
            "error",
            "profile-version",
            (f'RKE2 {text} refuses profile {name!r} at start ("{known.fatal_words}"): {use}'),
        )
    elif verdict == "deprecated":
        yield Violation(
            "/spec/rke2/profile",
            "warning",
            "profile-version",
            (
                f"profile {name!r} is deprecated in RKE2 {text} (it warns at start, and v1.30 and "
                f"later refuse it): {use}"
            ),
        )


def cis_protection_off(doc: dict[str, Any]) -> Iterator[Violation]:
    rke2_spec = _mapping(_spec(doc).get("rke2"))
    name = rke2_spec.get("profile")
    config = _mapping(rke2_spec.get("config"))
    if not rke2.is_cis(name) or rke2.PROTECT_KERNEL_DEFAULTS not in config:
        return
    try:
        off = parse_go_bool(config[rke2.PROTECT_KERNEL_DEFAULTS]) is False
    except NotABool:
        return  # the bad-bool rule reports it
    if off:
        words = rke2.PROTECTION_OFF_WORDS.format(profile=name)
        yield Violation(
            "/spec/rke2/config/protect-kernel-defaults",
            "error",
            "cis-protection-off",
            (
                f"RKE2 refuses to start with profile {name} and protect-kernel-defaults: false "
                f'("{words}"): remove protect-kernel-defaults (the profile turns it on)'
            ),
        )


def rke2_managed_sysctl(doc: dict[str, Any]) -> Iterator[Violation]:
    for key, value in _mapping(_mapping(_spec(doc).get("kernel")).get("sysctl")).items():
        managed = RKE2_SETS.get(normalize_key(str(key)))
        if managed is None or isinstance(value, (dict, list)):
            continue
        if normalize_value(value) != managed:
            yield Violation(
                join_pointer("/spec/kernel/sysctl", key),
                "warning",
                "rke2-managed-sysctl",
                (
                    f"{key} is {value!r} but RKE2 sets it to {managed} at every start, so this "
                    "value does not last, and a remediating preflight would fight RKE2 on each "
                    f"restart: remove the key or set it to {managed}"
                ),
            )


def target_os(doc: dict[str, Any]) -> Iterator[Violation]:
    for pointer, text in target_rules.target_os(doc):
        yield Violation(pointer, target_rules.SEVERITY, target_rules.RULE, text)


NODE_RULES: tuple[Rule, ...] = (
    required_sysctl,
    unsafe_sysctl,
    duplicate_sysctl,
    bridge_module,
    literal_secret,
    bool_options,
    owned_config_keys,
    topology,
    server_port,
    profile,
    cis_protection_off,
    rke2_managed_sysctl,
    target_os,
)


def node_violations(doc: dict[str, Any]) -> list[Violation]:
    return [finding for rule in NODE_RULES for finding in rule(doc)]
