"""Expand a ``kind: Cluster`` document into one NodeSpec document per node.

Each expanded node remembers where its values came from (the node's own entry,
``spec.defaults`` or ``spec.server``), so a problem found in the expanded node
is reported at the line that set the value.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

NODE_ENTRY_ONLY = ("name",)


@dataclass(frozen=True)
class ExpandedNode:
    """One node of a Cluster as a NodeSpec document, plus its origin in the Cluster."""

    index: int
    document: dict[str, Any]
    entry: dict[str, Any]
    defaults: dict[str, Any]
    server_from_cluster: bool

    def origin(self, pointer: str) -> str:
        """Map a pointer into ``document`` to the Cluster document line that set it."""
        if pointer == "/metadata/name" or pointer.startswith("/metadata"):
            return f"/spec/nodes/{self.index}/name"
        if not pointer.startswith("/spec"):
            return f"/spec/nodes/{self.index}"
        tokens = pointer.split("/")[2:]
        if tokens[:1] == ["server"] and self.server_from_cluster:
            return "/spec/server"
        # The source holding the longest part of the path set the value; the node's own
        # entry wins a tie, since it overrides the defaults.
        candidates = [
            (_longest_prefix(self.entry, tokens), 1, f"/spec/nodes/{self.index}"),
            (_longest_prefix(self.defaults, tokens), 0, "/spec/defaults"),
        ]
        depth, _, base = max(candidates)
        if not depth:
            return f"/spec/nodes/{self.index}"
        return base + "".join("/" + t for t in tokens[:depth])


def _longest_prefix(data: Any, tokens: list[str]) -> int:
    depth = 0
    for token in tokens:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            break
        depth += 1
    return depth


# Mappings that are one choice among alternatives ({file} or {env}): a node's value
# replaces the default whole instead of merging into it.
REPLACED_WHOLE = frozenset({"token"})


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key in REPLACED_WHOLE:
            merged[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def expand_cluster(document: dict[str, Any]) -> list[ExpandedNode]:
    """One ExpandedNode per well-formed entry of ``spec.nodes`` (others are schema errors)."""
    spec = document.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("nodes"), list):
        return []
    defaults: dict[str, Any] = spec["defaults"] if isinstance(spec.get("defaults"), dict) else {}
    server = spec.get("server")
    nodes = []
    for index, entry in enumerate(spec["nodes"]):
        if not isinstance(entry, dict):
            continue
        own = {k: v for k, v in entry.items() if k not in NODE_ENTRY_ONLY}
        merged = deep_merge(defaults, own)
        from_cluster = "server" not in entry and server is not None and not entry.get("clusterInit")
        if from_cluster:
            merged["server"] = server
        node_doc = {
            "apiVersion": document.get("apiVersion"),
            "kind": "NodeSpec",
            "metadata": {"name": entry.get("name")},
            "spec": merged,
        }
        nodes.append(ExpandedNode(index, node_doc, entry, defaults, from_cluster))
    return nodes
