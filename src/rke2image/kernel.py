"""The kernel facts: which sysctl values kubelet and RKE2 demand, and who says so.

This table is the only place these values are written down. Everything else —
the validator, the rendered sysctl.d file, the preflight's tests, the audit —
reads them from here.
"""

from __future__ import annotations

from typing import NamedTuple

KUBELET_SOURCE = (
    "kubelet setupKernelTunables, pkg/kubelet/cm/container_manager_linux.go "
    "(values from k8s.io/component-helpers/node/util/sysctl)"
)
RKE2_CIS_SOURCE = (
    "RKE2 CIS start check, rancher/rke2 pkg/cli/cmds/profile_linux.go "
    "(kernelRuntimeParameters, validateKernelReqs; runs only with profile: cis)"
)


class KernelParameter(NamedTuple):
    """One sysctl that kubelet with protect-kernel-defaults refuses to start without."""

    key: str
    value: str
    sources: tuple[str, ...]
    rke2_cis_checked: bool
    # The kernel's own value when nothing sets it at boot (the audit's ``unpersisted``).
    kernel_default: str

    @property
    def kubelet_flag(self) -> str:
        """The key as kubelet names it in its error: slashes, not dots."""
        return self.key.replace(".", "/")


# Kernel defaults are upstream Linux's (a distro kernel may build others):
# vm.overcommit_memory 0 (mm/util.c OVERCOMMIT_GUESS), vm.panic_on_oom 0 (mm/oom_kill.c),
# kernel.panic 0 (kernel/panic.c CONFIG_PANIC_TIMEOUT), kernel.panic_on_oops 0
# (CONFIG_PANIC_ON_OOPS_VALUE), kernel.keys.root_max{keys,bytes} 1000000 / 25000000
# (security/keys/key.c since Linux 5.3; 200 / 20000 before).
_BOTH = (KUBELET_SOURCE, RKE2_CIS_SOURCE)
REQUIRED_PARAMETERS: tuple[KernelParameter, ...] = (
    KernelParameter("vm.overcommit_memory", "1", _BOTH, True, kernel_default="0"),
    KernelParameter("vm.panic_on_oom", "0", _BOTH, True, kernel_default="0"),
    KernelParameter("kernel.panic", "10", _BOTH, True, kernel_default="0"),
    KernelParameter("kernel.panic_on_oops", "1", _BOTH, True, kernel_default="0"),
    KernelParameter("kernel.keys.root_maxkeys", "1000000", (KUBELET_SOURCE,), False, "1000000"),
    # 25 bytes per key: kubelet derives it as 25 * root_maxkeys.
    KernelParameter("kernel.keys.root_maxbytes", "25000000", (KUBELET_SOURCE,), False, "25000000"),
)

REQUIRED_BY_KEY: dict[str, KernelParameter] = {p.key: p for p in REQUIRED_PARAMETERS}
KERNEL_DEFAULTS: dict[str, str] = {p.key: p.kernel_default for p in REQUIRED_PARAMETERS}

# The message kubelet prints for a mismatch; the preflight and the audit use the
# same words so that a search for the kubelet error finds them.
KUBELET_MISMATCH = "invalid kernel flag: {flag}, expected value: {expected}, actual value: {actual}"
# The message RKE2's own CIS check prints.
RKE2_MISMATCH = "invalid kernel parameter value {key}={actual} - expected {expected}"

# Sysctls RKE2 sets itself at every start (k3s pkg/agent/syssetup/setup.go,
# kernelSysctls, through RKE2's k3s agent): a spec giving one of them another
# value loses it at the next start. The IPv6 keys are set on IPv6 nodes, the
# bridge keys where k3s manages bridge filtering; all of them to 1. (Conntrack
# limits, set from kube-proxy's config, have no fixed value and are not listed.)
RKE2_SETS: dict[str, str] = {
    "net.ipv4.conf.all.forwarding": "1",
    "net.ipv4.conf.default.forwarding": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv6.conf.default.forwarding": "1",
    "net.core.devconf_inherit_init_net": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}

# net.bridge.* keys appear under /proc/sys only once this module is loaded.
BRIDGE_MODULE = "br_netfilter"
DEFAULT_MODULES: tuple[str, ...] = ("overlay", "br_netfilter")


def normalize_key(key: str) -> str:
    """Return the dotted form of a sysctl key, as sysctl.d(5) reads it.

    When the first separator is '/', the key is a path and its dots belong to a
    name (``net/ipv4/conf/eth0.100/forwarding``): the dotted form swaps the two,
    ``net.ipv4.conf.eth0/100.forwarding``, which sysctl.d maps back to that path.
    Only keys that pass ``key_path_parts`` name one parameter; others are refused.
    """
    key = key.strip()
    first = next((c for c in key if c in "./"), ".")
    if first == "/":
        key = key.translate(str.maketrans("./", "/."))
    return key


def key_path_parts(key: str) -> list[str] | None:
    """The /proc/sys path components of ``key``, or None when it is not canonical.

    Tools read a key differently: systemd-sysctl swaps '.' and '/' by the first
    separator and then simplifies the path (``kernel//panic``, ``kernel/./panic`` and
    ``kernel.panic.`` all write ``kernel/panic``); procps turns every '.' into '/'
    (``vm./overcommit_memory`` becomes ``vm//overcommit_memory``, which the kernel
    resolves to ``vm/overcommit_memory``). A key is canonical only when no reading
    finds an empty part: no separator of either kind first, last or next to another.
    """
    if key != key.strip() or not key:
        return None
    if any(not part for part in key.replace("/", ".").split(".")):
        return None
    return normalize_key(key).translate(str.maketrans("./", "/.")).split("/")


def normalize_value(value: object) -> str:
    """Return a value as the kernel prints it: fields separated by single tabs."""
    if isinstance(value, bool):
        value = int(value)
    return "\t".join(str(value).split())
