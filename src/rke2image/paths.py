"""Where rke2image's files land on a node (DESIGN.md, "What lands on a node")."""

from __future__ import annotations

SYSCTL_FILE = "/etc/sysctl.d/99-zz-rke2image.conf"
MODULES_FILE = "/etc/modules-load.d/rke2image.conf"
PREFLIGHT = "/usr/local/libexec/rke2image/preflight"
RKE2_CONFIG = "/etc/rancher/rke2/config.yaml"
KUBELET_LOG = "/var/lib/rancher/rke2/agent/logs/kubelet.log"


def service_name(role: str) -> str:
    """The RKE2 systemd unit for a node role."""
    return "rke2-server.service" if role == "server" else "rke2-agent.service"


def dropin_path(role: str) -> str:
    """The drop-in that runs the preflight before the RKE2 unit starts."""
    return f"/etc/systemd/system/{service_name(role)}.d/10-rke2image-preflight.conf"
