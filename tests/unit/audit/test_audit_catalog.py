"""The audit's rule catalog (rke2image.audit.catalog) is the one source of its rule ids: the
rule list of docs/audit-json.md is generated from it, and every finding is built through it.

A rule added without a catalog entry, or a catalog entry the docs lack, fails here with
what to do: add the rule to src/rke2image/audit/catalog.py, then run
``UPDATE_GOLDEN=1 pytest tests/unit/audit/test_audit_catalog.py`` to rewrite the docs' list.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from helpers import REPO, UPDATE_GOLDEN
from rke2image.audit import catalog
from rke2image.audit.catalog import RULES, AuditRule, Rule, VaryingRule
from rke2image.audit.model import Finding
from rke2image.fix import catalog as fix_catalog

AUDIT_JSON = REPO / "docs" / "audit-json.md"
FIX_JSON = REPO / "docs" / "fix-json.md"
SRC = REPO / "src" / "rke2image"
CATALOGS = {SRC / "audit" / "catalog.py", SRC / "fix" / "catalog.py"}
HEADING = "### Rules\n\n"
INTRO = (
    "Each finding's `rule` is one of these ids, with its severity, what it means on the node\n"
    "and what to do. The list is generated from the audit's rule catalog\n"
    "(`src/rke2image/audit/catalog.py`); `fix` adds `fix-cannot-persist` (docs/fix-json.md).\n"
    "\n"
    "| rule | severity | what it means | what to do |\n"
    "|---|---|---|---|\n"
)
REGENERATE = "run UPDATE_GOLDEN=1 pytest tests/unit/audit/test_audit_catalog.py"


def docs_row(rule: AuditRule) -> str:
    cells = (f"`{rule.id}`", rule.severity_words, rule.summary, rule.help)
    assert not any("|" in cell for cell in cells), rule.id  # a pipe would split the cell
    return "| " + " | ".join(cells) + " |\n"


def generated_section() -> str:
    return INTRO + "".join(docs_row(rule) for rule in RULES)


def docs_section() -> str:
    """The docs' rule list: from under its heading to the blank line before the next one."""
    text = AUDIT_JSON.read_text(encoding="utf-8")
    start = text.index(HEADING) + len(HEADING)
    return text[start : text.index("\n## ", start)]


def rewrite_docs_section() -> None:
    text = AUDIT_JSON.read_text(encoding="utf-8")
    AUDIT_JSON.write_text(text.replace(docs_section(), generated_section()), "utf-8")


def test_rule_ids_are_unique_kebab_case() -> None:
    ids = [rule.id for rule in (*RULES, *fix_catalog.RULES)]
    assert len(ids) == len(set(ids)), ids
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids


def test_every_documented_rule_is_in_the_catalog_and_back() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", docs_section(), re.MULTILINE))
    missing = sorted(documented - set(catalog.BY_ID))
    assert not missing, f"docs/audit-json.md documents {missing}, the catalog lacks them"
    undocumented = sorted(set(catalog.BY_ID) - documented)
    assert not undocumented, f"catalog rules {undocumented} are not in the docs: {REGENERATE}"


def test_the_docs_rule_list_is_generated_from_the_catalog() -> None:
    if UPDATE_GOLDEN:
        rewrite_docs_section()
    assert docs_section() == generated_section(), (
        f"docs/audit-json.md's rule list differs from the catalog: {REGENERATE}"
    )


def test_fix_documents_its_own_rule() -> None:
    text = FIX_JSON.read_text(encoding="utf-8")
    for rule in fix_catalog.RULES:
        assert f"`{rule.id}` (an {rule.severity})" in text


def test_every_rule_says_what_it_means_and_what_to_do() -> None:
    for rule in (*RULES, *fix_catalog.RULES):
        assert rule.summary and rule.help and rule.help != rule.summary, rule.id
        assert rule.help.endswith("."), rule.id  # a sentence, for SARIF's help text
        assert rule.severity in ("error", "warning", "info"), rule.id


def test_a_varying_rule_documents_each_severity_it_takes() -> None:
    for rule in RULES:
        if isinstance(rule, VaryingRule):
            assert len(set(rule.severities)) == len(rule.severities) > 1, rule.id
            for severity in rule.severities:
                assert severity in rule.when, (rule.id, severity)


def test_a_varying_rule_refuses_a_severity_its_row_does_not_name() -> None:
    info = catalog.PROTECTION_UNKNOWN.with_severity("info")
    made = info.finding("m", file="/etc/rancher/rke2/config.yaml")
    assert made == Finding("info", "protection-unknown", "m", file="/etc/rancher/rke2/config.yaml")
    with pytest.raises(ValueError, match="protection-unknown is never error"):
        catalog.PROTECTION_UNKNOWN.with_severity("error")


def test_a_fixed_rule_makes_findings_of_its_one_severity() -> None:
    made = catalog.SWAP_ON.finding("swap is on", fix="swapoff -a")
    assert made == Finding("error", "swap-on", "swap is on", fix="swapoff -a")
    assert isinstance(catalog.SWAP_ON, Rule)


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(REPO)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SRC.rglob("*.py"))
        if path not in CATALOGS
    ]


def _audit_finding_names(tree: ast.Module) -> set[str]:
    """The names a module binds to the audit's Finding (validate has a Finding of its own)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "rke2image.audit.model"
        for alias in node.names
        if alias.name == "Finding"
    }


def test_findings_are_built_only_through_a_catalog() -> None:
    built = [
        f"{name}:{node.lineno}"
        for name, tree in _modules()
        for finding in [
            _audit_finding_names(tree) | ({"Finding"} if name.endswith("audit/model.py") else set())
        ]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in finding
    ]
    assert not built, f"build these with a catalog rule's finding(): {built}"
    assert any(_audit_finding_names(tree) for _, tree in _modules())  # the scan sees imports


def test_no_module_but_the_catalogs_spells_a_rule_id() -> None:
    ids = {rule.id for rule in (*RULES, *fix_catalog.RULES)}
    spelt = [
        f"{name}:{node.lineno} {node.value!r}"
        for name, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in ids
    ]
    assert not spelt, f"use the catalog's constant (its .id) instead: {spelt}"


def test_the_catalogs_keep_dataclasses_out_of_the_audits_start() -> None:
    """The audit's values are NamedTuples, its rules included: importing ``dataclasses``
    costs a cold audit about 6 ms (README, "Diagnose a node", figures)."""
    code = "import sys, rke2image.cli.audit, rke2image.fix.catalog\n"
    code += "print('dataclasses' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_every_catalog_rule_is_built_somewhere() -> None:
    """A rule no module uses would be documented but never reported."""
    used = {
        node.attr if isinstance(node, ast.Attribute) else node.id
        for _, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, (ast.Attribute, ast.Name))
    }
    constants = {name: getattr(catalog, name) for name in dir(catalog) if name.isupper()}
    unused = sorted(
        rule.id
        for rule in RULES
        if not any(value is rule and name in used for name, value in constants.items())
    )
    assert not unused, f"catalog rules no module builds: {unused}"
