"""Reporters for problems: text (editors), json (tools) and github (Actions annotations)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from rke2image.spec.problems import Problem


def text(problems: Sequence[Problem]) -> str:
    return "".join(p.format_text() + "\n" for p in problems)


def as_json(problems: Sequence[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], indent=2) + "\n"


def _github_escape(value: str, property_value: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(problems: Sequence[Problem]) -> str:
    lines = []
    for p in problems:
        lines.append(
            f"::{p.severity} file={_github_escape(p.file, True)},line={p.line},col={p.column},"
            f"title={_github_escape(p.rule, True)}::{_github_escape(p.message)}\n"
        )
    return "".join(lines)


REPORTERS: dict[str, Callable[[Sequence[Problem]], str]] = {
    "text": text,
    "json": as_json,
    "github": github,
}


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    return REPORTERS[fmt](problems)
