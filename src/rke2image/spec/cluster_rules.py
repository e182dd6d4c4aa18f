"""Rules across the nodes of a Cluster: one bootstrap server, unique names, servers alike.

The first master must not be the odd one: every server shares kernel
parameters, RKE2 version and profile, so a cluster cannot pass validation with
a bootstrap server that kubelet would refuse.
"""

from __future__ import annotations

from typing import Any

from rke2image.spec.cluster import ExpandedNode
from rke2image.spec.model import effective_sysctl, normalized_sysctl
from rke2image.spec.rules import Violation


def _server_traits(spec: dict[str, Any]) -> dict[str, tuple[str, object]]:
    rke2: dict[str, Any] = spec["rke2"] if isinstance(spec.get("rke2"), dict) else {}
    kernel: dict[str, Any] = spec["kernel"] if isinstance(spec.get("kernel"), dict) else {}
    sysctl: dict[str, Any] = kernel["sysctl"] if isinstance(kernel.get("sysctl"), dict) else {}
    return {
        "kernel parameters": ("/spec/kernel/sysctl", effective_sysctl(normalized_sysctl(sysctl))),
        "RKE2 version": ("/spec/rke2/version", rke2.get("version")),
        "profile": ("/spec/rke2/profile", rke2.get("profile")),
    }


def cluster_violations(
    nodes: list[tuple[ExpandedNode, dict[str, Any]]],
) -> list[tuple[ExpandedNode | None, Violation]]:
    """Findings for the whole cluster; each tied to the node whose origin locates it."""
    findings: list[tuple[ExpandedNode | None, Violation]] = []
    seen: dict[str, str] = {}
    for node, _ in nodes:
        name = str(node.document["metadata"]["name"])
        if name in seen:
            findings.append(
                (
                    node,
                    Violation(
                        "/metadata/name",
                        "error",
                        "duplicate-node-name",
                        (
                            f"node name {name!r} is used twice (first at {seen[name]}): names "
                            f"become host "
                            "names and output folders, so each must be unique"
                        ),
                    ),
                )
            )
        else:
            seen[name] = f"spec.nodes[{node.index}]"

    servers = [(n, s) for n, s in nodes if s.get("role") == "server"]
    inits = [(n, s) for n, s in servers if s.get("clusterInit") is True]
    if not inits:
        findings.append(
            (
                None,
                Violation(
                    "/spec/nodes",
                    "error",
                    "cluster-init-count",
                    (
                        "no server has clusterInit: true; mark exactly one server as the bootstrap "
                        "server"
                    ),
                ),
            )
        )
    for node, _ in inits[1:]:
        first = inits[0][0].document["metadata"]["name"]
        findings.append(
            (
                node,
                Violation(
                    "/spec/clusterInit",
                    "error",
                    "cluster-init-count",
                    (
                        f"a second clusterInit server ({first!r} is the first): a cluster has "
                        f"exactly one "
                        "bootstrap server; the others join it with server:"
                    ),
                ),
            )
        )

    if not (inits or servers):
        return findings
    ref_node, ref_spec = (inits or servers)[0]
    ref_name = ref_node.document["metadata"]["name"]
    ref_traits = _server_traits(ref_spec)
    for node, spec in servers:
        if node is ref_node:
            continue
        for trait, (pointer, value) in _server_traits(spec).items():
            if value != ref_traits[trait][1]:
                findings.append(
                    (
                        node,
                        Violation(
                            pointer,
                            "error",
                            "cluster-server-mismatch",
                            (
                                f"server {node.document['metadata']['name']!r} differs from "
                                f"{ref_name!r} in "
                                f"{trait}{_difference(value, ref_traits[trait][1])}: every server "
                                f"must share "
                                "them; set them in spec.defaults"
                            ),
                        ),
                    )
                )
    return findings


def _difference(value: object, reference: object) -> str:
    if isinstance(value, dict) and isinstance(reference, dict):
        keys = sorted(k for k in set(value) | set(reference) if value.get(k) != reference.get(k))
        return (
            " ("
            + ", ".join(
                f"{k}: {value.get(k, 'unset')} vs {reference.get(k, 'unset')}" for k in keys
            )
            + ")"
        )
    return f" ({value} vs {reference})"
