"""Where files live on a node: rke2image's own (docs/design.md, "What lands on a node") and
those RKE2, systemd and the boot read, each with its source."""

from __future__ import annotations

SYSCTL_FILE = "/etc/sysctl.d/99-zz-rke2image.conf"
MODULES_FILE = "/etc/modules-load.d/rke2image.conf"
PREFLIGHT = "/usr/local/libexec/rke2image/preflight"
# Where /usr/local is read-only (Flatcar: rke2image.targets), /opt is writable.
PREFLIGHT_OPT = "/opt/rke2image/bin/preflight"
# Every place a rendered drop-in may run the preflight from, for the audit.
PREFLIGHTS = (PREFLIGHT, PREFLIGHT_OPT)
# The files only a rendered node holds (with its drop-in): a root holding none was built by
# other means. Not SYSCTL_FILE: `rke2image fix` writes it on any node (docs/design.md, "Fix"),
# and a node fixed that way must not start failing for a drop-in it never had.
RENDERED_ONLY_FILES = (MODULES_FILE, PREFLIGHT, PREFLIGHT_OPT)

# RKE2 reads this, or the file named by RKE2_CONFIG_FILE (rke2.CONFIG_FILE_ENV; k3s
# pkg/configfilearg defaultparser.go DefaultConfig /etc/rancher/<program>/config.yaml),
# then merges ``<that file>.d/`` (parser.go dotDFiles: names ending in .yaml or .yml in
# any case, not folders, in name order).
RKE2_CONFIG = "/etc/rancher/rke2/config.yaml"
RKE2_CONFIG_DIR = RKE2_CONFIG + ".d"
RKE2_CONFIG_SUFFIXES = (".yaml", ".yml")

# systemd's unit search path for the system manager (systemd.unit(5), "Unit File Load
# Path"), the places RKE2's units land first: /etc/systemd/system for the /opt/rke2
# tarball (install.sh moves its units there), /usr/local/lib/systemd/system for the
# tarball, /usr/lib/systemd/system for the RPM; /lib/systemd/system on split-usr Debian.
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
# The EnvironmentFile= lines of RKE2's units in their order (%N is the unit name), used
# when the root holds no unit to read them from: rancher/rke2
# bundle/lib/systemd/system/rke2-server.service (v1.33.13+rke2r1) has /etc/default/%N,
# /etc/sysconfig/%N and /usr/local/lib/systemd/system/%N.env; install.sh rewrites
# /usr/local to /opt/rke2 for INSTALL_RKE2_TAR_PREFIX=/opt/rke2, and the RPM
# (rancher/rke2-packaging rpm/*/server/rke2-server.spec) rewrites
# /usr/local/lib/systemd/system to %{_unitdir}, /usr/lib/systemd/system.
RKE2_ENV_FILES = (
    "/etc/default/{unit}",
    "/etc/sysconfig/{unit}",
    "/usr/local/lib/systemd/system/{unit}.env",
    "/opt/rke2/lib/systemd/system/{unit}.env",
    "/usr/lib/systemd/system/{unit}.env",
)
# The kubelet configuration RKE2 writes at every start (k3s pkg/daemons/agent/agent.go
# writeKubeletConfig: 00-rke2-defaults.conf, mode 0600, with protectKernelDefaults;
# 10-cli-config.conf and 20-cli-config-dir/ copy a kubelet-arg config/config-dir), read
# by kubelet --config-dir: every *.conf, walked in lexical order, a later one overriding
# (kubernetes cmd/kubelet/app/server.go mergeKubeletConfigurations). RKE2 releases
# since January 2025 (rancher/rke2#4043, validated on v1.32.1).
KUBELET_CONF_DIR = "/var/lib/rancher/rke2/agent/etc/kubelet.conf.d"
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
