"""The schema itself: it loads, it is valid 2020-12, its examples and defaults validate,
and `rke2image schema` is usable by other tools (check-jsonschema)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, require_tool
from jsonschema import Draft202012Validator

from rke2image.cli.main import main
from rke2image.resources import schema_documents
from rke2image.spec.schema import document_validator

ROOT = REPO
VALID_EXAMPLES = [ROOT / "examples" / "node.yaml", ROOT / "examples" / "cluster.yaml"]


def subschemas(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from subschemas(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from subschemas(value, f"{path}/{i}")


@pytest.mark.parametrize("name", sorted(schema_documents()))
def test_each_schema_file_is_valid_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(schema_documents()[name])


def documented(key: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(JSON reference of the subschema, documented value, subschema) for every ``key``."""
    found = []
    for document in schema_documents().values():
        for path, sub in subschemas(document, document["$id"] + "#"):
            if key in sub and not path.endswith(("/properties", "/$defs")):
                values = sub[key] if key == "examples" else [sub[key]]
                found += [(path, value, sub) for value in values]
    return found


@pytest.mark.parametrize(("path", "example", "sub"), documented("examples"), ids=lambda v: v.rsplit('/', 1)[-1] + '#' + v.split('#', 1)[1] if isinstance(v, str) and '#' in v else "")
def test_every_documented_example_validates(path: str, example: Any, sub: dict[str, Any]) -> None:
    validator = document_validator().evolve(schema={"$ref": path})
    assert list(validator.iter_errors(example)) == []


@pytest.mark.parametrize(("path", "default", "sub"), documented("default"), ids=lambda v: v.rsplit('/', 1)[-1] + '#' + v.split('#', 1)[1] if isinstance(v, str) and '#' in v else "")
def test_every_default_validates(path: str, default: Any, sub: dict[str, Any]) -> None:
    validator = document_validator().evolve(schema={"$ref": path})
    assert list(validator.iter_errors(default)) == []


def test_schema_is_strict_about_unknown_keys() -> None:
    for name, document in schema_documents().items():
        for path, sub in subschemas(document, name + "#"):
            if sub.get("type") == "object" and "properties" in sub:
                closed = {"additionalProperties", "propertyNames", "unevaluatedProperties"}
                assert closed & set(sub), f"{path} accepts unknown keys"


def test_schema_command_prints_one_self_contained_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(printed)
    validator = Draft202012Validator(printed)  # no registry: everything must be inside
    for path in VALID_EXAMPLES:
        import yaml
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


def test_check_jsonschema_accepts_the_examples_with_the_printed_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test extra installs it next to this interpreter, on PATH or not.
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if tool is None:
        tool = require_tool("check-jsonschema")
    main(["schema"])
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(capsys.readouterr().out)
    done = subprocess.run([tool, "--schemafile", str(schema_file), *map(str, VALID_EXAMPLES)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = subprocess.run([tool, "--schemafile", str(schema_file),
                          str(ROOT / "examples" / "invalid" / "unknown-key.yaml")],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
