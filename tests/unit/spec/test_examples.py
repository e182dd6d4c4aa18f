"""The bundled examples are the contract made visible.

Valid examples validate clean; every file of examples/invalid/ states in its
header exactly what the validator prints for it, and together they cover every
rule documented in the README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rke2image.spec import check_paths

from helpers import REPO, UPDATE_GOLDEN, diagnostics, regenerate, split_header

ROOT = REPO
INVALID = sorted((ROOT / "examples" / "invalid").glob("*.yaml"))
VALID = sorted((ROOT / "examples").glob("*.yaml"))


def readme_rules() -> set[str]:
    text = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, re.MULTILINE))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_examples_have_no_problems(path: Path) -> None:
    (report,) = check_paths([path])
    assert report.problems == []
    assert report.nodes


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_prints_what_its_header_says(path: Path) -> None:
    display = path.relative_to(ROOT).as_posix()
    if UPDATE_GOLDEN:
        regenerate(path, display)
    raw = path.read_bytes()
    expected, _ = split_header(raw)
    assert expected, f"{display} has no golden header; run with UPDATE_GOLDEN=1"
    assert expected[1:] == diagnostics(raw, display)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_is_named_after_the_rule_it_shows(path: Path) -> None:
    rules = {line.rsplit("[", 1)[1].rstrip("]") for line in diagnostics(path.read_bytes(), "x")}
    assert any(path.stem == rule or path.stem.startswith(rule + "-") for rule in rules), rules


def test_every_rule_is_documented_and_shown_by_an_example() -> None:
    shown = set()
    for path in INVALID:
        shown |= {line.rsplit("[", 1)[1].rstrip("]") for line in diagnostics(path.read_bytes(), "x")}
    documented = readme_rules()
    # yaml-too-large needs a 1 MiB file; tests/spec/test_loader.py makes one.
    assert documented - shown == {"yaml-too-large"}
    assert shown <= documented
