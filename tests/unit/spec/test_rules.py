"""Each semantic rule: a spec that trips it and a near-identical spec that does not.

The failing cases live in examples/invalid/ (see test_examples.py); here each rule
also gets its passing twin, and the subtle cases get their own test.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from rke2image import rke2
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.spec.check import check_bytes

NODE: dict[str, Any] = {
    "apiVersion": "rke2image/v1",
    "kind": "NodeSpec",
    "metadata": {"name": "cp-1"},
    "spec": {
        "role": "server",
        "clusterInit": True,
        "rke2": {
            "version": "v1.31.4+rke2r1",
            "profile": "cis",
            "token": {"file": "/etc/rancher/rke2/token"},
        },
    },
}


def rules_for(doc: dict[str, Any]) -> list[tuple[str, str]]:
    report = check_bytes(yaml.safe_dump(doc).encode(), "spec.yaml")
    return [(p.rule, p.severity) for p in report.problems]


def node(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(NODE)
    change(doc["spec"])
    return doc


def sysctl(
    values: dict[str, Any], modules: list[str] | None = None
) -> Callable[[dict[str, Any]], None]:
    def apply(spec: dict[str, Any]) -> None:
        spec["kernel"] = {"sysctl": values}
        if modules is not None:
            spec["kernel"]["modules"] = modules

    return apply


def test_the_base_node_is_clean() -> None:
    assert rules_for(NODE) == []


PASSING: dict[str, Callable[[dict[str, Any]], None]] = {
    "required-sysctl": sysctl({p.key: p.value for p in REQUIRED_PARAMETERS}),
    "required-sysctl-slash-form": sysctl({"vm/overcommit_memory": 1}),
    "unsafe-sysctl-key": sysctl({"net.ipv4.conf.eth0/100.rp_filter": 1, "net/ipv4/ip_forward": 1}),
    "unsafe-sysctl-value": sysctl(
        {"net.ipv4.ip_local_port_range": "32768 60999", "net.ipv4.tcp_congestion_control": "bbr"}
    ),
    "sysctl-needs-module": sysctl({"net.bridge.bridge-nf-call-iptables": 1}, ["br_netfilter"]),
    "secret-literal": lambda s: s["rke2"].update(token={"env": "RKE2_TOKEN"}),
    "config-key-has-field": lambda s: s["rke2"].update(config={"tls-san": ["a.example"]}),
    "cluster-init-agent": lambda s: s.update(
        role="agent", clusterInit=False, server="https://cp.example.com:9345"
    ),
    "cluster-init-with-server": lambda s: s.update(
        clusterInit=False, server="https://cp.example.com:9345"
    ),
    "profile-version": lambda s: s["rke2"].update(profile="etcd", version="v1.31.10+rke2r1"),
    "profile-legacy-before-refusal": lambda s: s["rke2"].update(
        profile="cis-1.23", version="v1.26.9+rke2r1"
    ),
    "cis-protection-off": lambda s: s["rke2"].update(config={"protect-kernel-defaults": True}),
    "rke2-managed-sysctl": sysctl({"net.ipv4.conf.all.forwarding": 1}),
}


@pytest.mark.parametrize("case", sorted(PASSING))
def test_passing_twin_of_each_rule(case: str) -> None:
    assert rules_for(node(PASSING[case])) == []


def test_required_value_is_an_error_with_protection_and_a_warning_without() -> None:
    wrong = sysctl({"kernel.panic": 0})
    assert rules_for(node(wrong)) == [("required-sysctl", "error")]

    def unprotected(spec: dict[str, Any]) -> None:
        wrong(spec)
        spec["rke2"]["profile"] = "none"

    assert rules_for(node(unprotected)) == [("required-sysctl", "warning")]


@pytest.mark.parametrize(
    "config",
    [
        {"protect-kernel-defaults": True},
        {"protect-kernel-defaults": "true"},
        {"kubelet-arg": ["protect-kernel-defaults=true"]},
        {"kubelet-arg": ["--protect-kernel-defaults"]},
        {"kubelet-arg": "protect-kernel-defaults=true"},
    ],
)
def test_protection_comes_from_the_kubelet_option_too_not_only_the_profile(
    config: dict[str, Any],
) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["rke2"].update(profile="none", config=config)
        spec["kernel"] = {"sysctl": {"vm.overcommit_memory": 0}}

    assert rules_for(node(change)) == [("required-sysctl", "error")]


def test_protection_off_in_kubelet_arg_is_not_protection() -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["rke2"].update(
            profile="none", config={"kubelet-arg": ["protect-kernel-defaults=false"]}
        )
        spec["kernel"] = {"sysctl": {"vm.overcommit_memory": 0}}

    assert rules_for(node(change)) == [("required-sysctl", "warning")]


@pytest.mark.parametrize(
    "key", ["a b", "a=b", "a..b", "/proc/sys/vm", "-vm.swappiness", "a\nb", "a;b", "$(x)"]
)
def test_unsafe_sysctl_keys(key: str) -> None:
    assert ("unsafe-sysctl-key", "error") in rules_for(node(sysctl({key: 1})))


@pytest.mark.parametrize(
    "value", ["1; reboot", "$(id)", "`id`", "a b", "/etc/x", "x\n1", "'1'", "..", "1 2 x"]
)
def test_unsafe_sysctl_values(value: str) -> None:
    assert rules_for(node(sysctl({"kernel.x": value}))) == [("unsafe-sysctl-value", "error")]


def test_joining_node_needs_server() -> None:
    assert rules_for(node(lambda s: s.update(clusterInit=False))) == [("server-missing", "error")]


# RKE2's verdict per profile on each side of every boundary, read at the release tags
# of rancher/rke2 (pkg/cli/cmds/profile_linux.go, pkg/rke2/rke2.go): the last patch
# of a minor line that refuses a profile and the first that accepts it.
OK: list[tuple[str, str]] = []
WARN = [("profile-version", "warning")]
ERROR = [("profile-version", "error")]
BOUNDARIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    # cis: v1.25.15, v1.26.10, v1.27.7, v1.28.2 and every later minor.
    ("cis", "v1.24.17+rke2r1", ERROR),
    ("cis", "v1.25.14+rke2r1", ERROR),
    ("cis", "v1.25.15+rke2r1", OK),
    ("cis", "v1.26.9+rke2r1", ERROR),
    ("cis", "v1.26.10+rke2r1", OK),
    ("cis", "v1.27.6+rke2r1", ERROR),
    ("cis", "v1.27.7+rke2r1", OK),
    ("cis", "v1.28.1+rke2r1", ERROR),
    ("cis", "v1.28.2+rke2r1", OK),
    ("cis", "v1.29.0+rke2r1", OK),
    ("cis", "v1.35.0+rke2r1", OK),
    # etcd: v1.30.14, v1.31.10, v1.32.6, v1.33.2 and every v1.34+.
    ("etcd", "v1.29.15+rke2r1", ERROR),
    ("etcd", "v1.30.13+rke2r1", ERROR),
    ("etcd", "v1.30.14+rke2r1", OK),
    ("etcd", "v1.31.9+rke2r1", ERROR),
    ("etcd", "v1.31.10+rke2r1", OK),
    ("etcd", "v1.32.5+rke2r1", ERROR),
    ("etcd", "v1.32.6+rke2r1", OK),
    ("etcd", "v1.33.1+rke2r1", ERROR),
    ("etcd", "v1.33.2+rke2r1", OK),
    ("etcd", "v1.34.0+rke2r1", OK),
    # cis-1.5 and cis-1.6: only before v1.25.0.
    ("cis-1.5", "v1.24.17+rke2r1", OK),
    ("cis-1.5", "v1.25.0+rke2r1", ERROR),
    ("cis-1.6", "v1.24.17+rke2r1", OK),
    ("cis-1.6", "v1.25.0+rke2r1", ERROR),
    # cis-1.23: from v1.25.0; deprecated where cis arrived; fatal from v1.30.0;
    # unknown again where etcd arrived.
    ("cis-1.23", "v1.24.17+rke2r1", ERROR),
    ("cis-1.23", "v1.25.0+rke2r1", OK),
    ("cis-1.23", "v1.25.14+rke2r1", OK),
    ("cis-1.23", "v1.25.15+rke2r1", WARN),
    ("cis-1.23", "v1.26.9+rke2r1", OK),
    ("cis-1.23", "v1.26.10+rke2r1", WARN),
    ("cis-1.23", "v1.27.6+rke2r1", OK),
    ("cis-1.23", "v1.27.7+rke2r1", WARN),
    ("cis-1.23", "v1.28.1+rke2r1", OK),
    ("cis-1.23", "v1.28.2+rke2r1", WARN),
    ("cis-1.23", "v1.29.15+rke2r1", WARN),
    ("cis-1.23", "v1.30.0+rke2r1", ERROR),
    ("cis-1.23", "v1.30.13+rke2r1", ERROR),
    ("cis-1.23", "v1.30.14+rke2r1", ERROR),
    ("cis-1.23", "v1.33.2+rke2r1", ERROR),
    ("cis-1.23", "v1.34.0+rke2r1", ERROR),
    ("nope", "v1.31.4+rke2r1", [("profile-unknown", "error")]),
    ("none", "v1.31.4+rke2r1", OK),
]


@pytest.mark.parametrize(("profile", "version", "expected"), BOUNDARIES)
def test_profiles_against_versions(
    profile: str, version: str, expected: list[tuple[str, str]]
) -> None:
    assert rules_for(node(lambda s: s["rke2"].update(profile=profile, version=version))) == expected


@pytest.mark.parametrize(
    ("version", "words"),
    [
        ("v1.30.13+rke2r1", "cis-1.23 profile is deprecated. Please use 'cis' instead."),
        ("v1.30.14+rke2r1", "invalid value provided for --profile flag"),
    ],
)
def test_a_refused_profile_is_named_in_rke2_words(version: str, words: str) -> None:
    doc = node(lambda s: s["rke2"].update(profile="cis-1.23", version=version))
    (problem,) = check_bytes(yaml.safe_dump(doc).encode(), "n.yaml").problems
    assert words in problem.message and "use cis" in problem.message


def test_an_older_release_is_told_which_cis_name_it_knows() -> None:
    doc = node(lambda s: s["rke2"].update(profile="cis", version="v1.26.9+rke2r1"))
    (problem,) = check_bytes(yaml.safe_dump(doc).encode(), "n.yaml").problems
    assert "use cis-1.23" in problem.message


@pytest.mark.parametrize("profile", ["cis", "cis-1.23"])
@pytest.mark.parametrize("value", [False, "false", "FALSE", "0"])
def test_cis_with_protection_off_is_fatal_in_rke2(profile: str, value: object) -> None:
    doc = node(
        lambda s: s["rke2"].update(
            profile=profile, version="v1.26.9+rke2r1", config={"protect-kernel-defaults": value}
        )
    )
    problems = check_bytes(yaml.safe_dump(doc).encode(), "n.yaml").problems
    found = [p for p in problems if p.rule == "cis-protection-off"]
    assert [p.severity for p in found] == ["error"]
    assert rke2.PROTECTION_OFF_WORDS.format(profile=profile) in found[0].message


def test_protection_off_without_a_cis_profile_is_fine() -> None:
    doc = node(
        lambda s: s["rke2"].update(
            profile="etcd", config={"protect-kernel-defaults": False}, version="v1.34.1+rke2r1"
        )
    )
    assert rules_for(doc) == []


@pytest.mark.parametrize(
    "key",
    [
        "net.ipv4.conf.all.forwarding",
        "net/ipv4/conf/default/forwarding",
        "net.ipv6.conf.all.forwarding",
        "net.core.devconf_inherit_init_net",
    ],
)
def test_a_sysctl_rke2_sets_itself_warns_when_given_another_value(key: str) -> None:
    assert rules_for(node(sysctl({key: 0}))) == [("rke2-managed-sysctl", "warning")]


CLUSTER: dict[str, Any] = {
    "apiVersion": "rke2image/v1",
    "kind": "Cluster",
    "metadata": {"name": "prod"},
    "spec": {
        "server": "https://cp.example.com:9345",
        "defaults": {
            "rke2": {
                "version": "v1.31.4+rke2r1",
                "profile": "cis",
                "token": {"file": "/etc/rancher/rke2/token"},
            }
        },
        "nodes": [
            {"name": "cp-1", "role": "server", "clusterInit": True},
            {"name": "cp-2", "role": "server"},
            {"name": "w-1", "role": "agent", "kernel": {"sysctl": {"vm.swappiness": 10}}},
        ],
    },
}


def cluster(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(CLUSTER)
    change(doc["spec"])
    return doc


def test_a_consistent_cluster_is_clean_and_agents_may_differ() -> None:
    report = check_bytes(yaml.safe_dump(CLUSTER).encode(), "c.yaml")
    assert report.problems == []
    assert [n.name for n in report.nodes] == ["cp-1", "cp-2", "w-1"]
    assert report.nodes[0].server is None
    assert report.nodes[1].server == "https://cp.example.com:9345"
    assert report.nodes[2].sysctl == {"vm.swappiness": "10"}


def test_cluster_without_a_bootstrap_server() -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["nodes"][0]["clusterInit"] = False

    assert ("cluster-init-count", "error") in rules_for(cluster(change))


def test_the_first_master_must_not_be_the_odd_one() -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["nodes"][0]["rke2"] = {"profile": "none"}

    assert rules_for(cluster(change)) == [("cluster-server-mismatch", "error")]


def test_a_shared_mistake_in_defaults_is_reported_once() -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["defaults"]["kernel"] = {"sysctl": {"kernel.panic": 0}}

    assert rules_for(cluster(change)) == [("required-sysctl", "error")]


def test_node_override_errors_point_at_the_node_entry() -> None:
    doc = cluster(lambda s: s["nodes"][1].update(kernel={"sysctl": {"vm.panic_on_oom": 1}}))
    report = check_bytes(yaml.safe_dump(doc, sort_keys=False).encode(), "c.yaml")
    pointers = {p.pointer for p in report.problems if p.rule == "required-sysctl"}
    assert pointers == {"/spec/nodes/1/kernel/sysctl/vm.panic_on_oom"}


def test_missing_version_in_defaults_and_node_is_reported() -> None:
    def change(spec: dict[str, Any]) -> None:
        del spec["defaults"]["rke2"]["version"]

    problems = rules_for(cluster(change))
    assert problems and set(problems) == {("missing-key", "error")}


@pytest.mark.parametrize(
    ("legacy", "version"), [("cis-1.23", "v1.26.9+rke2r1"), ("cis-1.6", "v1.24.17+rke2r1")]
)
def test_legacy_cis_profiles_turn_protection_on(legacy: str, version: str) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["rke2"].update(profile=legacy, version=version)
        spec["kernel"] = {"sysctl": {"kernel.panic": 0}}

    assert rules_for(node(change)) == [("required-sysctl", "error")]
    report = check_bytes(
        yaml.safe_dump(node(lambda s: s["rke2"].update(profile=legacy, version=version))).encode(),
        "n.yaml",
    )
    assert report.nodes[0].protect_kernel_defaults and report.nodes[0].needs_etcd_user


def test_slash_keys_keep_the_dots_of_interface_names() -> None:
    doc = node(
        sysctl({"net/ipv4/conf/eth0.100/forwarding": 1, "net.ipv4.conf.eth0/200.rp_filter": 2})
    )
    report = check_bytes(yaml.safe_dump(doc).encode(), "n.yaml")
    assert report.nodes[0].sysctl == {
        "net.ipv4.conf.eth0/100.forwarding": "1",
        "net.ipv4.conf.eth0/200.rp_filter": "2",
    }


def test_one_parameter_written_with_both_separators_is_a_duplicate() -> None:
    doc = node(sysctl({"kernel.panic": 10, "kernel/panic": 10}))
    assert rules_for(doc) == [("duplicate-sysctl-key", "error")]


def test_a_node_may_switch_its_token_from_file_to_env() -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["nodes"][2]["rke2"] = {"token": {"env": "AGENT_TOKEN"}}

    report = check_bytes(yaml.safe_dump(cluster(change)).encode(), "c.yaml")
    assert report.problems == []
    assert report.nodes[2].token is not None and report.nodes[2].token.env == "AGENT_TOKEN"
