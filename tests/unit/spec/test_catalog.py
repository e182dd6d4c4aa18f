"""The rule catalog (rke2image.spec.catalog) is the one source of rule ids; the README's rules
table is generated from it, and every rule the examples show is in it.

A rule added on another branch without a catalog entry fails here with what to do:
add a RuleInfo line to src/rke2image/spec/catalog.py, then run
``UPDATE_GOLDEN=1 pytest tests/unit/spec/test_catalog.py`` to rewrite the README table.
"""

from __future__ import annotations

import re

from helpers import README, REPO, UPDATE_GOLDEN, diagnostics, readme_rules_table
from rke2image.spec.catalog import BY_ID, RULES, RuleInfo

ROOT = REPO
TABLE_HEAD = "| rule | severity | can be ignored | what it catches |\n|---|---|---|---|\n"
FIX = (
    "add it to src/rke2image/spec/catalog.py, then run "
    "UPDATE_GOLDEN=1 pytest tests/unit/spec/test_catalog.py to rewrite the README table"
)


def readme_row(rule: RuleInfo) -> str:
    return (
        f"| `{rule.id}` | {rule.severity} | {rule.suppressible} | "
        f'<a id="{rule.anchor}"></a>{rule.summary} |\n'
    )


def rewrite_readme_rules_table() -> None:
    text = README.read_text(encoding="utf-8")
    new = TABLE_HEAD + "".join(readme_row(rule) for rule in RULES)
    README.write_text(text.replace(readme_rules_table(), new), encoding="utf-8")


def test_rule_ids_are_unique_kebab_case() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids


def test_every_readme_rule_is_in_the_catalog_and_back() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme_rules_table(), re.MULTILINE))
    missing = sorted(documented - set(BY_ID))
    assert not missing, f"README documents {missing} but the catalog lacks them: {FIX}"
    undocumented = sorted(set(BY_ID) - documented)
    assert not undocumented, (
        f"catalog rules {undocumented} have no README row: run "
        "UPDATE_GOLDEN=1 pytest tests/unit/spec/test_catalog.py"
    )


def test_readme_rules_table_is_generated_from_the_catalog() -> None:
    if UPDATE_GOLDEN:
        rewrite_readme_rules_table()
    expected = TABLE_HEAD + "".join(readme_row(rule) for rule in RULES)
    assert readme_rules_table() == expected, (
        "README rules table differs from the catalog: run UPDATE_GOLDEN=1 pytest "
        "tests/unit/spec/test_catalog.py (and put new rules in the catalog first)"
    )


def test_every_rule_an_example_shows_is_in_the_catalog() -> None:
    shown: set[str] = set()
    for path in sorted((ROOT / "examples" / "invalid").glob("*.yaml")):
        shown |= {
            line.rsplit("[", 1)[1].rstrip("]") for line in diagnostics(path.read_bytes(), "x")
        }
    missing = sorted(shown - set(BY_ID))
    assert not missing, f"examples show rules {missing} that the catalog lacks: {FIX}"


def test_every_rule_has_a_help_anchor_and_full_description() -> None:
    for rule in RULES:
        assert rule.help_uri.endswith(f"#rule-{rule.id}")
        assert rule.detail and rule.detail != rule.summary
        assert rule.default_level in ("error", "warning")


def test_protected_rules_refuse_their_errors_but_not_warnings() -> None:
    for rule_id in ("secret-literal", "unsafe-sysctl-key", "unsafe-sysctl-value"):
        assert not BY_ID[rule_id].may_suppress("error")
    assert not BY_ID["required-sysctl"].may_suppress("error")
    assert BY_ID["required-sysctl"].may_suppress("warning")
    assert BY_ID["server-port"].may_suppress("warning")
    assert not BY_ID["yaml-syntax"].may_suppress("error")
