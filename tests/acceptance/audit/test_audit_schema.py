"""The shipped JSON Schema of the audit document (schemas/contracts/audit.schema.json): a
valid Draft 2020-12 schema that every real `rke2image audit --format json` document meets,
and the same fields, types and verdicts as the contract's prose (docs/audit-json.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from acceptance.audit.documents import real_documents
from helpers import REPO
from rke2image.audit.model import SCHEMA, SOURCES, VERDICTS
from rke2image.resources import contract_schema

SCHEMA_FILE = REPO / "schemas" / "contracts" / "audit.schema.json"
CONTRACT = REPO / "docs" / "audit-json.md"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return real_documents(tmp_path_factory.mktemp("roots"))


def validator() -> Draft202012Validator:
    return Draft202012Validator(contract_schema("audit"))


def test_the_schema_is_valid_2020_12_and_ships_with_the_package() -> None:
    shipped = contract_schema("audit")
    Draft202012Validator.check_schema(shipped)
    assert shipped == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped["properties"]["schema"]["const"] == SCHEMA


def test_every_real_document_meets_the_schema(documents: dict[str, dict[str, Any]]) -> None:
    problems = {
        name: [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
        for name, document in documents.items()
        if (errors := list(validator().iter_errors(document)))
    }
    assert problems == {}


def test_the_real_documents_cover_every_verdict_and_null(
    documents: dict[str, dict[str, Any]],
) -> None:
    """The corpus is worth checking against: every verdict, own keys, overrides, unreadable
    files, both roles and none."""
    parameters = [p for d in documents.values() for p in d["parameters"]]
    assert {p["verdict"] for p in parameters} == set(VERDICTS)
    assert {p["required"] for p in parameters} == {True, False}
    assert any(b["overrides"] for p in parameters for b in p["next_boot"].values())
    assert any(d["protection"]["unreadable"] for d in documents.values())
    assert {d["node"]["role"] for d in documents.values()} == {"server", "agent", None}


def test_a_document_of_another_contract_fails() -> None:
    assert not validator().is_valid({"schema": "rke2image.fleet/v1"})


# --- the prose's field table ----------------------------------------------------------------

TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "str or null": {"type": ["string", "null"]},
    "list of str": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object"},
}


def table_rows() -> list[tuple[list[str], str, str]]:
    """The JSON field table: (field paths, type, meaning); ``a.b` / `.c`` is two paths."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## JSON\n", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        head = names[0].rsplit(".", 1)[0]
        paths = [names[0]] + [head + n if n.startswith(".") else n for n in names[1:]]
        rows.append((paths, cells[1], cells[2]))
    return rows


def schema_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every field the schema names, by the table's path form (``a.b``, ``a[].b``)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(sub: dict[str, Any], prefix: str) -> None:
        sub = resolved(sub)
        if "items" in sub and resolved(sub["items"]).get("type") == "object":
            walk(sub["items"], prefix + "[]")
        for name, child in sub.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            found[path] = resolved(child)
            walk(child, path)

    walk(schema, "")
    return found


def resolved(sub: dict[str, Any]) -> dict[str, Any]:
    """A subschema with its ``#/$defs/`` reference followed."""
    while "$ref" in sub:
        sub = contract_schema("audit")["$defs"][sub["$ref"].rsplit("/", 1)[1]]
    return sub


def test_every_field_of_the_table_is_in_the_schema_with_its_type() -> None:
    fields = schema_fields(contract_schema("audit"))
    for paths, kind, _meaning in table_rows():
        for path in paths:
            key = path.removesuffix("[]")
            assert key in fields, f"docs/audit-json.md names {path}, the schema has no such field"
            sub = resolved(fields[key]["items"]) if path.endswith("[]") else fields[key]
            if kind in TYPES:
                assert {k: sub.get(k) for k in TYPES[kind]} == TYPES[kind], path
            elif kind.startswith("`{"):
                members = set(re.findall(r"\w+", kind))
                assert members == set(sub["properties"]), path
            else:
                assert kind == '`"server"`, `"agent"` or null', path
                assert sub["enum"] == ["server", "agent", None]


def test_every_field_of_the_schema_is_named_in_the_table() -> None:
    """A field has its own row, or is named in its parent's row (``summary``'s counts, the
    ``{file, line, setting}`` of a list's items)."""
    rows = table_rows()
    named = {
        path.removesuffix("[]"): f"{kind} {meaning}"
        for paths, kind, meaning in rows
        for path in paths
    }
    for path in schema_fields(contract_schema("audit")):
        if path in named or any(n.startswith((f"{path}.", f"{path}[].")) for n in named):
            continue  # its own row, or a container of rows
        parent, _, name = path.rpartition(".")
        while parent.removesuffix("[]") not in named and "." in parent:
            parent, _, _ = parent.rpartition(".")
        meaning = named.get(parent.removesuffix("[]"), "")
        listed = re.search(rf"[{{,]\s*{name}\s*[,}}]", meaning)
        assert f"`{name}`" in meaning or listed, f"{path}: neither a row nor in {parent}'s row"


def test_the_verdicts_and_sources_are_the_prose_and_the_models() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    verdicts = re.findall(r"^\| `([a-z]+)` \|", text.split("### Verdicts", 1)[1], re.M)
    defs = contract_schema("audit")["$defs"]
    assert sorted(defs["parameter"]["properties"]["verdict"]["enum"]) == sorted(verdicts)
    assert tuple(defs["parameter"]["properties"]["verdict"]["enum"]) == VERDICTS
    assert tuple(defs["override"]["properties"]["source"]["enum"]) == SOURCES
    assert defs["nextBoot"]["properties"]["source"]["enum"] == [*SOURCES, None]


def test_the_schema_file_is_where_the_contract_says() -> None:
    assert str(SCHEMA_FILE.relative_to(REPO)) in CONTRACT.read_text(encoding="utf-8")
    assert Path(SCHEMA_FILE).is_file()
