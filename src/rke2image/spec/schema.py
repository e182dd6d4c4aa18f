"""Validate documents against the shipped JSON Schema and fill in its defaults.

The schema in ``schemas/`` is the one source of truth for shape and defaults;
this module turns jsonschema's errors into positioned, rule-tagged problems.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing._core import Resolver

from rke2image.resources import schema_documents
from rke2image.spec.problems import Problem, join_pointer
from rke2image.spec.yamlload import LoadedDocument

MAIN_SCHEMA = "node-spec.schema.json"
Origin = Callable[[str], str]


@cache
def _registry() -> Registry:
    resources = [(doc["$id"], Resource.from_contents(doc)) for doc in schema_documents().values()]
    return Registry().with_resources(resources)


@cache
def main_schema() -> dict[str, Any]:
    schema: dict[str, Any] = schema_documents()[MAIN_SCHEMA]
    return schema


@cache
def document_validator() -> Draft202012Validator:
    """Validates a whole document (NodeSpec or Cluster) as written."""
    return Draft202012Validator(main_schema(), registry=_registry(), format_checker=FormatChecker())


@cache
def node_validator() -> Any:
    """Validates one NodeSpec ``spec`` — also each node a Cluster expands to."""
    return document_validator().evolve(schema={"$ref": main_schema()["$id"] + "#/$defs/nodeSpec"})


def _resolve(schema: dict[str, Any], resolver: Resolver) -> tuple[dict[str, Any], Resolver]:
    """Follow $refs (keeping their siblings) so defaults and properties can be read."""
    while "$ref" in schema:
        found = resolver.lookup(schema["$ref"])
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema, resolver = {**found.contents, **siblings}, found.resolver
    return schema, resolver


def fill_defaults(instance: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a NodeSpec ``spec`` with every schema default filled in."""
    result = copy.deepcopy(instance)
    _fill(result, _defaults_tree())
    return result


_NO_DEFAULT = object()
# key -> (default or _NO_DEFAULT, whether to create an empty mapping, subtree)
DefaultsTree = dict[str, tuple[Any, bool, "DefaultsTree"]]


@cache
def _defaults_tree() -> DefaultsTree:
    """The defaults of the NodeSpec schema, resolved once (a Cluster fills one per node)."""
    resolver = _registry().resolver(base_uri=main_schema()["$id"])
    return _tree(main_schema()["$defs"]["nodeSpec"], resolver, 0)


def _tree(schema: dict[str, Any], resolver: Resolver, depth: int) -> DefaultsTree:
    schema, resolver = _resolve(schema, resolver)
    tree: DefaultsTree = {}
    if depth > 16:
        return tree
    for key, sub in schema.get("properties", {}).items():
        resolved, sub_resolver = _resolve(sub, resolver)
        make_empty = resolved.get("type") == "object" and bool(resolved.get("properties"))
        tree[key] = (
            resolved.get("default", _NO_DEFAULT),
            make_empty,
            _tree(resolved, sub_resolver, depth + 1),
        )
    return tree


def _fill(instance: Any, tree: DefaultsTree) -> None:
    if not isinstance(instance, dict):
        return
    for key, (default, make_empty, subtree) in tree.items():
        if key not in instance:
            if default is not _NO_DEFAULT:
                instance[key] = copy.deepcopy(default)
            elif make_empty:
                instance[key] = {}
            else:
                continue
        _fill(instance[key], subtree)


def schema_problems(
    validator: Draft202012Validator,
    instance: Any,
    doc: LoadedDocument,
    base: str = "",
    origin: Origin = lambda p: p,
) -> list[Problem]:
    """Every schema violation in ``instance`` (found at ``base`` of ``doc``) as problems."""
    problems = []
    for error in validator.iter_errors(instance):
        for pointer, rule, message in _describe(_leaf(error), base):
            where = origin(pointer)
            pos = doc.position(where)
            problems.append(Problem(doc.file, pos.line, pos.column, "error", rule, message, where))
    return problems


def _leaf(error: ValidationError) -> ValidationError:
    if error.validator in ("oneOf", "anyOf") and error.context:
        return best_match(error.context) or error
    return error


def _describe(error: ValidationError, base: str) -> Iterator[tuple[str, str, str]]:
    pointer = join_pointer(base, *error.absolute_path)
    where = _dotted(pointer)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if list(error.absolute_schema_path)[-2:-1] == ["propertyNames"]:
        kind = "propertyNames"
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        allowed += [p.pattern.strip("^$") for p in patterns]  # plain names, for suggestions
        extra = {
            k for k in error.instance if k not in allowed and not any(p.search(k) for p in patterns)
        }
        for key in sorted(extra):
            yield (
                join_pointer(pointer, key),
                "unknown-key",
                (f"unknown key {key!r} in {where or 'the document'}; {_suggest(key, allowed)}"),
            )
    elif kind == "required":
        for key in list(error.validator_value):  # type: ignore[arg-type]
            if isinstance(error.instance, dict) and key not in error.instance:
                yield pointer, "missing-key", f"{where or 'the document'} needs the key {key!r}"
    elif kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        yield (
            pointer,
            "wrong-type",
            (
                f"{where}: expected {expected}, got {_json_type(error.instance)} "
                f"{_show(error.instance)}"
            ).rstrip(),
        )
    elif kind in ("enum", "const"):
        choices = list(error.validator_value) if kind == "enum" else [error.validator_value]  # type: ignore[arg-type]
        hint = _suggest(str(error.instance), [str(c) for c in choices])
        yield pointer, "bad-value", f"{where}: {error.instance!r} is not allowed; {hint}"
    elif kind == "propertyNames":
        if error.validator == "enum":
            reason = _suggest(str(error.instance), [str(c) for c in list(error.validator_value)])  # type: ignore[arg-type]
        else:
            reason = _explain(error)
        yield (
            join_pointer(pointer, error.instance),
            "bad-key",
            (f"{where}: key {error.instance!r} is not allowed: {reason}"),
        )
    elif kind in ("pattern", "format"):
        yield pointer, "bad-value", f"{where}: {error.instance!r} is not valid: {_explain(error)}"
    else:
        yield pointer, "bad-value", f"{where or 'the document'}: {error.message}"


def _explain(error: ValidationError) -> str:
    parent = error.parent.schema if error.parent is not None else None
    for schema in (error.schema, parent):
        if isinstance(schema, dict) and schema.get("description"):
            return str(schema["description"])
    return f"must match {error.validator_value!r}"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "expected one of: " + ", ".join(choices) if choices else "remove it"


def _dotted(pointer: str) -> str:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return ".".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        return ""
    return json.dumps(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return {int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )
