"""Where rke2image's files land on a node (DESIGN.md, "What lands on a node")."""

from __future__ import annotations

SYSCTL_FILE = "/etc/sysctl.d/99-zz-rke2image.conf"
MODULES_FILE = "/etc/modules-load.d/rke2image.conf"
PREFLIGHT = "/usr/local/libexec/rke2image/preflight"
# Where /usr/local is read-only (Flatcar: rke2image.targets), /opt is writable.
PREFLIGHT_OPT = "/opt/rke2image/bin/preflight"
RKE2_CONFIG = "/etc/rancher/rke2/config.yaml"
# RKE2 merges these after config.yaml, in name order (k3s pkg/configfilearg).
RKE2_CONFIG_DIR = RKE2_CONFIG + ".d"
# The EnvironmentFile= lines of RKE2's units (%N is the unit name): RKE2_CIS_PROFILE.
RKE2_ENV_FILES = (
    "/etc/default/{unit}",
    "/etc/sysconfig/{unit}",
    "/usr/local/lib/systemd/system/{unit}.env",
)
KUBELET_LOG = "/var/lib/rancher/rke2/agent/logs/kubelet.log"


def preflight_path(usr_local_readonly: bool) -> str:
    """Where the preflight lands: /usr/local, or /opt on an OS where that is read-only."""
    return PREFLIGHT_OPT if usr_local_readonly else PREFLIGHT


def service_name(role: str) -> str:
    """The RKE2 systemd unit for a node role."""
    return "rke2-server.service" if role == "server" else "rke2-agent.service"


def dropin_path(role: str) -> str:
    """The drop-in that runs the preflight before the RKE2 unit starts."""
    return f"/etc/systemd/system/{service_name(role)}.d/10-rke2image-preflight.conf"
