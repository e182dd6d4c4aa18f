"""deploy/kubernetes/daemonset.yaml: valid for every Kubernetes line RKE2 ships, offline
(the kubernetes-validate package's schemas, strict: an unknown field fails), and as little
privilege as reading the host needs, on every node, the masters first."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO

MANIFESTS = sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
# The Kubernetes minors of RKE2's current release lines (rancher/rke2 tags v1.33.13+rke2r2,
# v1.34.10+rke2r1, v1.35.7+rke2r1, v1.36.3+rke2r1).
RKE2_KUBERNETES = ("1.33.0", "1.34.0", "1.35.0", "1.36.0")
# Taints RKE2 servers carry when told to (`node-taint`): RKE2's docs for dedicated servers,
# and split etcd / control-plane servers (rancher/rke2 tests/docker/splitserver).
RKE2_SERVER_TAINTS = (
    {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoExecute"},
    {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/etcd", "effect": "NoExecute"},
    {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
)


def _kubernetes_validate() -> Any:
    """Imported by the tests that use it: it has no release for Python 3.9 (marker host_tools)."""
    import kubernetes_validate  # type: ignore[import-untyped]  # ships no py.typed

    return kubernetes_validate


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _daemonset() -> dict[str, Any]:
    (daemonset,) = [d for p in MANIFESTS for d in _documents(p) if d["kind"] == "DaemonSet"]
    return daemonset


def _containers() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in _daemonset()["spec"]["template"]["spec"]["containers"]}


@pytest.mark.host_tools
@pytest.mark.parametrize("version", RKE2_KUBERNETES)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_for_rke2s_kubernetes(manifest: Path, version: str) -> None:
    kubernetes_validate = _kubernetes_validate()
    documents = _documents(manifest)
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.host_tools
def test_the_validation_catches_a_misspelt_field() -> None:
    kubernetes_validate = _kubernetes_validate()
    daemonset = _daemonset()
    daemonset["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFileSystem"
    ] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, RKE2_KUBERNETES[-1], strict=True)


def test_no_container_is_privileged_and_none_writes_its_image() -> None:
    for name, container in _containers().items():
        context = container["securityContext"]
        assert context["privileged"] is False, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert "add" not in context["capabilities"], name
    # node_exporter needs nothing of the host's: it runs as nobody
    assert _containers()["node-exporter"]["securityContext"]["runAsNonRoot"] is True


def _host_mounts() -> dict[str, str]:
    """The audit container's host mounts: host path -> path in the container."""
    pod = _daemonset()["spec"]["template"]["spec"]
    sources = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    mounts = _containers()["audit"]["volumeMounts"]
    return {sources[m["name"]]: m["mountPath"] for m in mounts if m["name"] in sources}


def test_the_host_is_mounted_read_only_everywhere() -> None:
    pod = _daemonset()["spec"]["template"]["spec"]
    host_volumes = {v["name"]: v["hostPath"] for v in pod["volumes"] if "hostPath" in v}
    for name, source in host_volumes.items():
        # a missing path fails the pod's start; with no type containerd would create it
        assert source["type"] in {"Directory", "File"}, name
        assert source["path"] != "/", name
    for container in pod["containers"]:
        for mount in container["volumeMounts"]:
            if mount["name"] in host_volumes:
                assert container["name"] == "audit"
                assert mount["readOnly"] is True
                if host_volumes[mount["name"]]["type"] == "Directory":
                    assert mount["recursiveReadOnly"] == "IfPossible"
    # each host path at the same path under the audit's --root
    assert all(inside == "/host" + path for path, inside in _host_mounts().items())
    assert not pod.get("hostPID") and not pod.get("hostIPC")
    assert pod["automountServiceAccountToken"] is False


def _audit_reads() -> set[str]:
    """Every node path the audit reads, from the constants the audit's code reads them by."""
    from rke2image import paths, sysctld, sysctltools
    from rke2image.audit import cmdline, tuned

    units = [paths.service_name(role) for role in ("server", "agent")]
    return {
        *sysctld.SYSCTL_DIRS,
        sysctld.SYSCTL_CONF,
        paths.RKE2_CONFIG,
        paths.RKE2_CONFIG_DIR,
        *paths.UNIT_DIRS,
        *(
            f.format(unit=unit.removesuffix(".service"))
            for f in paths.RKE2_ENV_FILES
            for unit in units
        ),
        *(paths.dropin_path(role) for role in ("server", "agent")),
        paths.KUBELET_CONF_DIR,
        paths.KUBELET_LOG,
        *paths.PREFLIGHTS,
        paths.MODULES_FILE,
        paths.SYSCTL_FILE,
        cmdline.PROC_CMDLINE,
        cmdline.GRUB_DEFAULT,
        cmdline.GRUB_DEFAULT_D,
        cmdline.KERNEL_CMDLINE,
        *cmdline.GRUB_CFGS,
        cmdline.BLS_ENTRIES,
        tuned.ACTIVE_PROFILE,
        tuned.MAIN_CONF,
        *tuned.PROFILE_DIRS,
        tuned.ENABLED,
        *sysctltools.PROCPS_BINARIES,
        *sysctltools.SYSTEMD_BINARIES,
        sysctltools.DPKG_STATUS,
        "/etc/passwd",
        "/etc/group",
        "/etc/hostname",
        "/proc/sys",
        "/proc/swaps",
    }


# Read by the audit but not mounted, each for its reason (README "Monitor a fleet").
NOT_MOUNTED = {
    "/run/sysctl.d": "/run holds containerd's socket, which a read-only mount still connects to",
    "/run/systemd/system": "the same /run; it holds runtime units, not RKE2's",
    "/var/lib/dpkg/status": "absent from RPM hosts; procps' own binary names its version",
}
# Secrets no mount may reach: etcd's data and the join token, the agent's keys, the
# kubelet's pod volumes (Secrets), and containerd's socket (root on the host).
SECRETS = (
    "/var/lib/rancher/rke2/server/token",
    "/var/lib/rancher/rke2/server/db/etcd",
    "/var/lib/rancher/rke2/server/tls/server-ca.key",
    "/var/lib/rancher/rke2/agent/client-kubelet.key",
    "/var/lib/kubelet/pods",
    "/run/k3s/containerd/containerd.sock",
    "/root/.ssh",
)


def _covered(path: str) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in _host_mounts())


@pytest.mark.parametrize("path", sorted(_audit_reads()))
def test_every_path_the_audit_reads_is_mounted(path: str) -> None:
    assert _covered(path) != (path in NOT_MOUNTED), path


@pytest.mark.parametrize("path", SECRETS)
def test_no_mount_reaches_rke2s_secrets(path: str) -> None:
    assert not _covered(path)


def test_net_keys_are_read_in_the_hosts_network_namespace() -> None:
    """/proc/sys/net/* answers with the reader's network namespace's values: the pod's
    unless it runs in the host's (a spec's net.* keys, RKE2's forwarding)."""
    pod = _daemonset()["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    # so node_exporter listens on the host: not on node_exporter's own 9100
    (port,) = _containers()["node-exporter"]["ports"]
    assert port["containerPort"] != 9100
    assert (
        f"--web.listen-address=:{port['containerPort']}" in _containers()["node-exporter"]["args"]
    )


def _tolerates(toleration: dict[str, str], taint: dict[str, str]) -> bool:
    """Kubernetes' rule (core/v1 Toleration.ToleratesTaint)."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if not toleration.get("key"):
        return toleration.get("operator") == "Exists"
    if toleration["key"] != taint["key"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return toleration.get("value", "") == taint.get("value", "")


@pytest.mark.parametrize("taint", RKE2_SERVER_TAINTS, ids=lambda t: f"{t['key']}:{t['effect']}")
def test_it_runs_on_tainted_rke2_servers(taint: dict[str, str]) -> None:
    tolerations = _daemonset()["spec"]["template"]["spec"]["tolerations"]
    named = [t for t in tolerations if t.get("key")]  # without the catch-all
    assert any(_tolerates(t, taint) for t in named)
    assert any(_tolerates(t, taint) for t in tolerations)


def _script() -> str:
    (script,) = _containers()["audit"]["args"]
    return str(script)


def test_the_audit_reads_the_host_root_and_writes_the_textfile_node_exporter_reads() -> None:
    words = shlex.split(_script().replace("\\\n", " "), comments=True)
    start = words.index("rke2image")
    assert words[start : start + 6] == [
        "rke2image",
        "audit",
        "--root",
        "/host",
        "--proc-sys",
        "/host/proc/sys",
    ]
    textfile = Path(words[words.index("--textfile") + 1])
    assert textfile.suffix == ".prom"  # node_exporter reads only *.prom
    exporter = _containers()["node-exporter"]["args"]
    assert f"--collector.textfile.directory={textfile.parent}" in exporter
    assert "--collector.disable-defaults" in exporter


def test_the_loop_script_passes_shellcheck(
    require_tool: Callable[[str], str], tmp_path: Path
) -> None:
    script = tmp_path / "loop.sh"
    script.write_text("#!/bin/sh\n" + _script(), encoding="utf-8")
    result = subprocess.run(
        [require_tool("shellcheck"), "--shell=sh", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_prometheus_finds_the_pods() -> None:
    template = _daemonset()["spec"]["template"]
    (port,) = _containers()["node-exporter"]["ports"]
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port["containerPort"])
    (service,) = [d for p in MANIFESTS for d in _documents(p) if d["kind"] == "Service"]
    assert service["spec"]["selector"] == template["metadata"]["labels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
