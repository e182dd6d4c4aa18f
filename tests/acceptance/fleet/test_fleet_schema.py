"""Fleet's hand-written checks of an audit document and the shipped schema
(schemas/contracts/audit.schema.json) accept the same documents.

Fleet checks by hand because the zipapp carries it with PyYAML alone (docs/design.md,
"Outputs"); this differential test keeps the two from drifting. The corpus: real audit
documents (acceptance/audit/documents.py), the fleet tests' generated ones, and every
mutation of them at every field: each other type, null, an empty string, a word of another
enum, the field removed, an unknown field added. For each, fleet's ``load_audit`` accepts
exactly when the schema does."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from acceptance.audit.documents import real_documents
from acceptance.fleet.audit_docs import audit_document
from rke2image.errors import InputError
from rke2image.fleet import load_audit
from rke2image.resources import contract_schema

# What a field is replaced with: each JSON type, and strings that are words of the contract's
# enums and patterns (so a field of one enum gets another enum's word).
REPLACEMENTS: tuple[Any, ...] = (
    None,
    True,
    7,
    1.5,
    "",
    "text",
    "ok",
    "server",
    "sysctl.d",
    "warning",
    "rke2image.audit/v2",
    "2026-11-26T04:00:00+02:00",
    "2026-11-26 04:00:00Z",
    [],
    {},
)

Pointer = tuple[Any, ...]
# The documents mutated: one image (the other distributions' differ only in values), the live
# ones, a spec's own keys, and the fleet tests' generated one.
MUTATED = ("image-debian-12", "live-latent", "live-damaged", "spec-keys", "generated")


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    documents = real_documents(tmp_path_factory.mktemp("roots"))
    documents["generated"] = audit_document("cp-1", "server")
    return documents


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(contract_schema("audit"))


def schema_accepts(document: Any) -> bool:
    return bool(validator().is_valid(document))


def fleet_accepts(document: Any, path: Path) -> bool:
    path.write_text(json.dumps(document), encoding="utf-8")
    try:
        load_audit(path)
    except InputError:
        return False
    return True


def pointers(value: Any, at: Pointer = ()) -> Iterator[Pointer]:
    """Every field and the first item of every list, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*at, key)
            yield from pointers(child, (*at, key))
    elif isinstance(value, list) and value:
        yield (*at, 0)
        yield from pointers(value[0], (*at, 0))


def objects(value: Any, at: Pointer = ()) -> Iterator[Pointer]:
    if isinstance(value, dict):
        yield at
        for key, child in value.items():
            yield from objects(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:1]):
            yield from objects(child, (*at, index))


def replaced(document: Any, at: Pointer, value: Any) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for step in at[:-1]:
        parent = parent[step]
    parent[at[-1]] = value
    return changed


def removed(document: Any, at: Pointer) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for step in at[:-1]:
        parent = parent[step]
    del parent[at[-1]]
    return changed


def mutations(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for at in pointers(document):
        where = "/" + "/".join(map(str, at))
        for value in REPLACEMENTS:
            yield f"{where} = {json.dumps(value)}", replaced(document, at, value)
        if isinstance(at[-1], str):
            yield f"{where} removed", removed(document, at)
    for at in objects(document):
        extra = copy.deepcopy(document)
        target = extra
        for step in at:
            target = target[step]
        target["x-later"] = 1
        yield "/" + "/".join(map(str, at)) + " + x-later", extra


def test_every_real_and_generated_document_is_accepted_by_both(
    bases: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    for name, document in bases.items():
        assert schema_accepts(document), name
        assert fleet_accepts(document, tmp_path / "audit.json"), name


def test_fleet_accepts_a_mutated_document_exactly_when_the_schema_does(
    bases: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    checked = 0
    disagree = []
    verdicts = set()
    for name in MUTATED:
        for what, document in mutations(bases[name]):
            schema, fleet = schema_accepts(document), fleet_accepts(document, tmp_path / "a.json")
            verdicts.add(schema)
            checked += 1
            if schema != fleet:
                disagree.append(f"{name}: {what}: schema {schema}, fleet {fleet}")
    assert disagree == []
    assert verdicts == {True, False} and checked > 4000  # the corpus tells them apart


def test_not_a_document_is_refused_by_both(tmp_path: Path) -> None:
    for value in REPLACEMENTS:
        assert not schema_accepts(value)
        assert not fleet_accepts(value, tmp_path / "audit.json")


def test_the_known_differences_are_times_no_calendar_holds_and_integral_floats(
    bases: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The schema's pattern cannot know February's length or a zone that moves year 1 out
    of range; fleet must read the time, so it refuses them. JSON Schema's integers include
    1.0, which json.loads reads as a float fleet refuses; no audit writes one."""
    documents = [
        replaced(bases["generated"], ("generated",), moment)
        for moment in ("2026-02-30T04:00:00Z", "0001-01-01T00:00:00+01:00")
    ]
    documents.append(replaced(bases["generated"], ("summary", "errors"), 0.0))
    for document in documents:
        assert schema_accepts(document)
        assert not fleet_accepts(document, tmp_path / "audit.json")
