"""Reporters for a validate run: text (editors), json (tools), github (Actions annotations)
and sarif (code scanning), chosen from one dict.

The github and sarif modules are imported when chosen: their imports (html, hashlib,
urllib) would add about 10% to every cold `rke2image validate`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from rke2image.spec.outcome import Outcome
from rke2image.spec.problems import Problem


def text(outcome: Outcome) -> str:
    return "".join(p.format_text() + "\n" for p in outcome.problems)


def as_json(outcome: Outcome) -> str:
    return json.dumps([p.as_dict() for p in outcome.problems], indent=2) + "\n"


def as_sarif(outcome: Outcome) -> str:
    from rke2image.spec.formats import sarif

    return json.dumps(sarif.document(outcome), indent=2, ensure_ascii=False) + "\n"


def as_github(outcome: Outcome) -> str:
    # Not ``github``: that name is this package's github module once it is imported.
    from rke2image.spec.formats.github import annotate

    return annotate(outcome)


REPORTERS: dict[str, Callable[[Outcome], str]] = {
    "text": text,
    "json": as_json,
    "github": as_github,
    "sarif": as_sarif,
}


def format_outcome(outcome: Outcome, fmt: str) -> str:
    return REPORTERS[fmt](outcome)


def format_problems(problems: Sequence[Problem], fmt: str) -> str:
    """For commands that report a spec's problems without a validate run (render, build)."""
    return format_outcome(Outcome(list(problems)), fmt)
