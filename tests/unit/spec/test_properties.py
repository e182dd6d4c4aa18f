"""Property-based: whatever bytes or half-right spec arrives, validation ends in
diagnostics and exit 0 or 1 — never a traceback."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from rke2image.cli.main import main
from rke2image.spec.check import check_bytes

ROOT = REPO
SEEDS = [yaml.safe_load((ROOT / "examples" / name).read_text()) for name in ("node.yaml", "cluster.yaml")]
LINE = re.compile(r"^.+:\d+:\d+: (error|warning): .+ \[[a-z0-9-]+\]$")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from(["cis", "etcd", "none", "server", "agent", "v1.31.4+rke2r1",
                                           "https://cp:9345", "1", "0", "10", "kernel.panic"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += paths(value, (*prefix, i))
    return found


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths(doc)[1:]))
        parent = doc
        for token in path[:-1]:
            parent = parent[token]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(max_size=12))] = draw(values)
    return doc


def assert_clean_run(raw: bytes, tmp_path: Path) -> None:
    report = check_bytes(raw, "spec.yaml")
    for problem in report.problems:
        assert LINE.match(problem.format_text()), problem
        assert problem.line >= 1 and problem.column >= 1
    assert bool(report.nodes) <= (not report.errors)
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(raw)
    assert main(["validate", str(spec)]) in (0, 1)


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, raw: bytes) -> None:
    assert_clean_run(raw, tmp_path)


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n %@?,01")), max_size=200))
def test_yaml_shaped_text(tmp_path: Path, text: str) -> None:
    assert_clean_run(text.encode(), tmp_path)


@SETTINGS
@given(mutated_specs())
def test_mutated_specs(tmp_path: Path, doc: Any) -> None:
    assert_clean_run(yaml.safe_dump(doc, allow_unicode=True).encode(), tmp_path)
