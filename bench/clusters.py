"""The generated Cluster the benchmarks share: servers alike, the rest agents."""

from __future__ import annotations

from typing import Any


def cluster_document(servers: int, agents: int) -> dict[str, Any]:
    """A Cluster whose servers share everything; the first is the clusterInit one."""
    nodes: list[dict[str, Any]] = [
        {"name": f"cp-{i}", "role": "server", **({"clusterInit": True} if i == 1 else {})}
        for i in range(1, servers + 1)
    ]
    nodes += [{"name": f"worker-{i:04d}", "role": "agent"} for i in range(1, agents + 1)]
    return {
        "apiVersion": "rke2image/v1",
        "kind": "Cluster",
        "metadata": {"name": "bench"},
        "spec": {
            "server": "https://cp.example.com:9345",
            "defaults": {
                "os": "ubuntu-22.04",
                "rke2": {
                    "version": "v1.31.4+rke2r1",
                    "profile": "cis",
                    "token": {"file": "/etc/rancher/rke2/token"},
                    "config": {"tls-san": ["cp.example.com"]},
                },
                "kernel": {
                    "sysctl": {"fs.inotify.max_user_instances": 8192},
                    "modules": ["overlay", "br_netfilter"],
                },
                "preflight": {"mode": "remediate"},
            },
            "nodes": nodes,
        },
    }
