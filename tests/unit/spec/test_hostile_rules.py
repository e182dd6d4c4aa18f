"""Hostile specs against the rules: Go's booleans, one spelling per kernel parameter,
whole-string patterns and values the kernel refuses. Each class is generated, not
listed: a variant the rules miss is a node that ships the outage.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import REPO
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.spec.check import check_bytes
from rke2image.spec.model import protection_on

ROOT = REPO
SETTINGS = settings(max_examples=80, deadline=None)
NODE: dict[str, Any] = {
    "apiVersion": "rke2image/v1",
    "kind": "NodeSpec",
    "metadata": {"name": "cp-1"},
    "spec": {
        "role": "server",
        "clusterInit": True,
        "rke2": {
            "version": "v1.31.4+rke2r1",
            "profile": "none",
            "token": {"file": "/etc/rancher/rke2/token"},
        },
    },
}
# https://go.dev/src/strconv/atob.go: the only spellings ParseBool accepts.
GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]
GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"]
NOT_GO = ["yes", "no", "on", "off", "y", "n", " true", "true ", "tRUE", "2", "-1", "", "enabled"]


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    report = check_bytes(yaml.safe_dump(doc).encode(), "spec.yaml")
    return [(p.rule, p.severity) for p in report.problems]


def with_spec(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(NODE)
    for path, value in changes.items():
        target = doc["spec"]
        *parents, last = path.split("__")
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    return doc


# --- 1. Go's strconv.ParseBool, k3s GetArgs and pflag's '_' for '-' -------------

flag_spellings = st.builds(
    lambda dashes, words: dashes + "".join(words),
    st.sampled_from(["", "--"]),
    st.tuples(
        st.just("protect"),
        st.sampled_from(["-", "_"]),
        st.just("kernel"),
        st.sampled_from(["-", "_"]),
        st.just("defaults"),
    ),
)


@SETTINGS
@given(flag_spellings, st.sampled_from(GO_TRUE + GO_FALSE + NOT_GO + [None]))
def test_kubelet_arg_protection_reads_as_go_does(flag: str, value: str | None) -> None:
    arg = flag if value is None else f"{flag}={value}"
    doc = with_spec(rke2__config={"kubelet-arg": [arg]}, kernel={"sysctl": {"kernel.panic": 0}})
    found = problems(doc)
    if value is None or value in GO_TRUE:  # a bare flag is "true" (k3s GetArgs)
        assert found == [("required-sysctl", "error")]
    elif value in GO_FALSE:
        assert found == [("required-sysctl", "warning")]
    else:  # kubelet would not start: the value is an error, and protection is assumed
        assert sorted(found) == [("bad-bool", "error"), ("required-sysctl", "error")]


@SETTINGS
@given(st.one_of(st.sampled_from(GO_TRUE + GO_FALSE + NOT_GO), st.booleans(), st.integers(-3, 3)))
def test_rke2_config_protection_reads_as_go_does(value: Any) -> None:
    doc = with_spec(
        rke2__config={"protect-kernel-defaults": value},
        kernel={"sysctl": {"vm.overcommit_memory": 0}},
    )
    found = problems(doc)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text in GO_TRUE:
        assert found == [("required-sysctl", "error")]
    elif text in GO_FALSE:
        assert found == [("required-sysctl", "warning")]
    else:
        assert sorted(found) == [("bad-bool", "error"), ("required-sysctl", "error")]


def test_protect_kernel_defaults_1_makes_a_wrong_panic_an_error() -> None:
    """The issue's own case: `protect-kernel-defaults=1` left kernel.panic a warning."""
    doc = with_spec(
        rke2__config={"kubelet-arg": ["protect-kernel-defaults=1"]},
        kernel={"sysctl": {"kernel.panic": 0}},
    )
    assert problems(doc) == [("required-sysctl", "error")]


@SETTINGS
@given(
    st.lists(st.tuples(flag_spellings, st.sampled_from(GO_TRUE + GO_FALSE)), min_size=1, max_size=4)
)
def test_repeated_kubelet_args_follow_k3s_order(args: list[tuple[str, str]]) -> None:
    """k3s emits kubelet's flags sorted by spelling (repeats in order) and pflag keeps
    the last: the lexically greatest spelling's last value decides."""
    by_spelling: dict[str, str] = {}
    for flag, value in args:
        by_spelling[flag.removeprefix("--")] = value
    expected = by_spelling[max(by_spelling)] in GO_TRUE
    config = {"kubelet-arg": [f"{flag}={value}" for flag, value in args]}
    assert protection_on("none", config) is expected


@given(st.sampled_from(NOT_GO[:-1]), st.sampled_from(["fail-swap-on", "--fail_swap_on"]))
@settings(max_examples=20, deadline=None)
def test_fail_swap_on_that_go_rejects_is_an_error(value: str, flag: str) -> None:
    doc = with_spec(rke2__config={"kubelet-arg": [f"{flag}={value}"]})
    assert problems(doc) == [("bad-bool", "error")]


# --- 2. One spelling per kernel parameter ------------------------------------------


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A required parameter and a non-canonical spelling of it: doubled, '.'/'..'
    parts, leading or trailing separators, and mixed '.' and '/'."""
    key = draw(st.sampled_from([p.key for p in REQUIRED_PARAMETERS]))
    parts = key.split(".")
    sep = draw(st.sampled_from([".", "/"]))
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i:
            pieces.append(
                draw(
                    st.sampled_from(
                        [
                            sep,
                            sep * 2,
                            f"{sep}.{sep}",
                            "./",
                            "/.",
                            f"{sep}..{sep}{parts[i - 1]}{sep}",
                        ]
                    )
                )
            )
        pieces.append(part)
    spelled = draw(st.sampled_from(["", sep, "./"])) + "".join(pieces)
    spelled += draw(st.sampled_from(["", sep, sep * 2, "/.", "."]))
    return key, spelled


@SETTINGS
@given(spellings(), st.sampled_from(["cis", "none"]))
def test_a_required_parameter_is_never_set_wrong_under_another_spelling(
    case: tuple[str, str], profile: str
) -> None:
    key, spelled = case
    wrong = 1 if key == "vm.panic_on_oom" else 0
    doc = with_spec(rke2__profile=profile, kernel={"sysctl": {spelled: wrong}})
    found = problems(doc)
    if spelled in (key, key.replace(".", "/")):
        assert found == [("required-sysctl", "error" if profile == "cis" else "warning")]
    else:  # refused: it would otherwise reach a tool that reads it as `key`
        assert ("unsafe-sysctl-key", "error") in found, (spelled, found)


def test_canonical_spellings_are_one_parameter() -> None:
    doc = with_spec(
        kernel={"sysctl": {"fs.inotify.max_user_watches": 1, "fs/inotify/max_user_watches": 2}}
    )
    assert problems(doc) == [("duplicate-sysctl-key", "error")]


def test_interface_names_with_dots_stay_allowed() -> None:
    doc = with_spec(
        kernel={
            "sysctl": {
                "net/ipv4/conf/eth0.100/forwarding": 1,
                "net.ipv4.conf.eth1/200.rp_filter": 0,
            }
        }
    )
    assert problems(doc) == []


# --- 3. Patterns match whole strings -----------------------------------------------


def schema_patterns() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((ROOT / "schemas").glob("*.json")):
        walk(json.loads(path.read_text()))
    return found


PATTERNS = schema_patterns()


def test_the_schemas_have_patterns_to_check() -> None:
    assert len(PATTERNS) >= 10


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_schema_pattern_refuses_a_final_newline(data: st.DataObject) -> None:
    pattern = data.draw(st.sampled_from(PATTERNS))
    # The part before the end anchor generates strings; the whole pattern judges them.
    body = pattern.removesuffix("(?!\\n)")
    sample = data.draw(st.from_regex(body, fullmatch=True).filter(lambda s: "\n" not in s))
    assert re.search(pattern, sample)
    assert not re.search(pattern, sample + "\n")


@SETTINGS
@given(
    st.sampled_from(
        [
            ("metadata", "name", "cp-1"),
            ("spec", "server", "https://cp.example.com:9345"),
            ("spec", "os", "ubuntu-22.04"),
            ("rke2", "version", "v1.31.4+rke2r1"),
            ("token", "file", "/etc/rancher/rke2/token"),
            ("token", "env", "RKE2_TOKEN"),
        ]
    ),
    st.sampled_from(["\n", "\r\n", " \n"]),
)
def test_a_final_newline_never_passes(field: tuple[str, str, str], tail: str) -> None:
    where, key, good = field
    doc = with_spec(clusterInit=False, server="https://cp.example.com:9345")
    target = {
        "metadata": doc["metadata"],
        "spec": doc["spec"],
        "rke2": doc["spec"]["rke2"],
        "token": doc["spec"]["rke2"]["token"],
    }[where]
    if where == "token":
        target.clear()
    target[key] = good
    assert problems(doc) == []
    target[key] = good + tail
    assert problems(doc), (key, good + tail)


@SETTINGS
@given(
    st.sampled_from(["token", "agent-token", "server", "profile", "cluster-init"]),
    st.sampled_from(["\n", " ", "\t"]),
)
def test_config_keys_cannot_dodge_their_rule(key: str, tail: str) -> None:
    doc = with_spec(rke2__config={key + tail: "x"})
    assert ("bad-key", "error") in problems(doc)


# --- 4. Values the kernel refuses --------------------------------------------------

kernel_rejects = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(1, 9).map(lambda n: f"{n}e{n}"),
    st.sampled_from(
        [
            "1.0e+3",
            "1e3",
            "1E3",
            "0x10",
            "0o17",
            "+5",
            "1_000",
            ".5",
            "10.",
            "08h",
            "1 2.5",
            "-1e3",
            "0b101",
        ]
    ),
    st.integers(2**64, 2**200).map(str),
    st.integers(-(2**200), -(2**63) - 1).map(str),
    st.integers(2**64, 2**70),
    st.integers(22, 6000).map(lambda n: "9" * n),
)


@SETTINGS
@given(kernel_rejects)
def test_values_the_kernel_refuses_are_errors(value: Any) -> None:
    found = problems(with_spec(kernel={"sysctl": {"vm.swappiness": value}}))
    assert found and all(severity == "error" for _, severity in found), found
    assert {rule for rule, _ in found} <= {"bad-sysctl-value", "unsafe-sysctl-value"}


@SETTINGS
@given(
    st.one_of(
        st.integers(-(2**63), 2**64 - 1),
        st.lists(st.integers(-(2**31), 2**32), min_size=1, max_size=3).map(
            lambda xs: " ".join(map(str, xs))
        ),
        st.sampled_from(["bbr", "fq_codel", "cubic"]),
    )
)
def test_values_the_kernel_takes_pass(value: Any) -> None:
    assert problems(with_spec(kernel={"sysctl": {"net.core.x": value}})) == []


@SETTINGS
@given(st.sampled_from(["1.0e+3", "1000.0", "1.5", "-2.", ".5", ".inf", "-.inf", ".nan"]))
def test_floats_from_yaml_are_errors(text: str) -> None:
    # JSON Schema's "integer" accepts 1000.0, so the rule itself must refuse floats.
    raw = yaml.safe_dump(NODE).encode() + f"  kernel:\n    sysctl:\n      vm.x: {text}\n".encode()
    found = {(p.rule, p.severity) for p in check_bytes(raw, "spec.yaml").problems}
    assert found and found <= {("bad-sysctl-value", "error"), ("wrong-type", "error")}


@SETTINGS
@given(st.from_regex(r"-[A-Za-z0-9_-]{0,12}", fullmatch=True))
def test_module_names_starting_with_a_dash_are_refused(name: str) -> None:
    found = problems(with_spec(kernel={"modules": ["overlay", name]}))
    assert ("bad-value", "error") in found
