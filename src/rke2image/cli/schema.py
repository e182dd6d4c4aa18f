"""``rke2image schema``: print the JSON Schema of the spec, for editors and other tools."""

from __future__ import annotations

import argparse
import json

from rke2image.resources import schema_documents

MAIN_SCHEMA = "node-spec.schema.json"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schema",
        description="Print the JSON Schema (2020-12) of the node spec, with the builder "
        "settings inlined under $defs, so one file serves editors and check-jsonschema.",
    )
    parser.set_defaults(run=run)


def bundled_schema() -> dict[str, object]:
    """The main schema with every other schema file embedded, refs rewritten to match."""
    documents = schema_documents()
    main: dict[str, object] = json.loads(json.dumps(documents[MAIN_SCHEMA]))
    defs = main.setdefault("$defs", {})
    assert isinstance(defs, dict)
    for name, document in documents.items():
        if name != MAIN_SCHEMA:
            defs[name] = document
    return main


def run(args: argparse.Namespace) -> int:
    print(json.dumps(bundled_schema(), indent=2))
    return 0
