"""`validate --format sarif`: SARIF 2.1.0 that the OASIS schema accepts and code scanning reads.

tests/acceptance/validate/fixtures/sarif-schema-2.1.0.json is the OASIS schema (errata01),
copied into the repository so that the tests need no network and no sibling checkout.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from helpers import REPO, readme_rules_table
from rke2image import __version__
from rke2image.cli.main import main
from rke2image.spec.catalog import RULES
from rke2image.spec.check import check_file

ROOT = REPO
SCHEMA = ROOT / "tests" / "acceptance" / "validate" / "fixtures" / "sarif-schema-2.1.0.json"
INVALID = sorted((ROOT / "examples" / "invalid").glob("*.yaml"))
CLEAN = ROOT / "examples" / "node.yaml"


@cache
def validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


def sarif(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", "--format", "sarif", *args])
    out, err = capsys.readouterr()
    document = json.loads(out)  # stdout holds the document and nothing else
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    assert err == ""
    return code, document


@pytest.mark.parametrize("path", [*INVALID, CLEAN], ids=lambda p: p.name)
def test_sarif_of_every_example_validates_and_holds_each_finding(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    relative = path.relative_to(ROOT).as_posix()
    code, document = sarif(capsys, relative)
    problems = check_file(path, relative).problems
    assert code == (1 if any(p.severity == "error" for p in problems) else 0)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(problems)
    for result, problem in zip(run["results"], problems):
        assert result["ruleId"] == problem.rule == rules[result["ruleIndex"]]["id"]
        assert result["level"] == problem.severity
        assert result["message"]["text"] == " ".join(problem.message.split())
        (location,) = result["locations"]
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": relative, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": problem.line, "startColumn": problem.column},
        }
        assert "suppressions" not in result


def test_a_clean_run_has_an_empty_results_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, document = sarif(capsys, "examples/node.yaml", "examples/cluster.yaml")
    assert code == 0
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1
    assert document["runs"][0]["results"] == []


def test_driver_describes_every_rule_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    _, document = sarif(capsys, "examples/node.yaml")
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "rke2image" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == [rule.id for rule in RULES]
    documented = {line.split("`")[1] for line in readme_rules_table().splitlines()[2:]}
    assert documented == set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["shortDescription"]["text"] != rule["fullDescription"]["text"]
        assert rule["helpUri"] == f"{driver['informationUri']}#rule-{rule['id']}"
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")


def _fingerprints(document: dict[str, Any]) -> dict[tuple[str, int], str]:
    results = document["runs"][0]["results"]
    return {
        (r["ruleId"], i): r["partialFingerprints"]["rke2imageFinding/v1"]
        for i, r in enumerate(results)
    }


def _lines(document: dict[str, Any]) -> list[int]:
    return [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in document["runs"][0]["results"]
    ]


@pytest.mark.parametrize(
    "example",
    [
        "required-sysctl.yaml",
        "cluster-server-mismatch.yaml",
        "yaml-syntax.yaml",
        "unknown-key.yaml",
    ],
)
def test_fingerprints_survive_lines_inserted_above_a_finding(
    example: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / ".git").mkdir()  # the repository root, as actions/checkout leaves it
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "specs dir" / "spec.yaml"
    spec.parent.mkdir()
    original = (ROOT / "examples" / "invalid" / example).read_text(encoding="utf-8")
    spec.write_text(original, encoding="utf-8")
    _, before = sarif(capsys, "specs dir/spec.yaml")
    shifted = original.replace("apiVersion:", "# a comment\n\n# another one\napiVersion:", 1)
    spec.write_text(shifted, encoding="utf-8")
    _, after = sarif(capsys, "specs dir/spec.yaml")
    assert _lines(after) == [line + 3 for line in _lines(before)]
    assert _fingerprints(after) == _fingerprints(before)
    assert len(set(_fingerprints(before).values())) == len(_fingerprints(before))
    uri = after["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "specs%20dir/spec.yaml", "uriBaseId": "%SRCROOT%"}


def test_fingerprint_changes_with_the_rule_or_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "examples" / "invalid" / "required-sysctl.yaml", tmp_path / "a.yaml")
    shutil.copy(ROOT / "examples" / "invalid" / "required-sysctl.yaml", tmp_path / "b.yaml")
    _, document = sarif(capsys, "a.yaml", "b.yaml")
    prints = list(_fingerprints(document).values())
    assert len(prints) == 4 and len(set(prints)) == 4


def test_a_file_outside_the_repository_is_named_without_the_runners_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = tmp_path / "repo"
    (inside / ".git").mkdir(parents=True)
    monkeypatch.chdir(inside)
    outside = ROOT / "examples" / "invalid" / "server-port.yaml"
    _, document = sarif(capsys, str(outside))
    (result,) = document["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {
        "uri": "server-port.yaml",
        "description": {"text": "outside the repository"},
    }
    assert str(ROOT) not in json.dumps(document)


def test_sarif_is_deterministic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    first = sarif(capsys, "examples/invalid")
    assert sarif(capsys, "examples/invalid") == first
