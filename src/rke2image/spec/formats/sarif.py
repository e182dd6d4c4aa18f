"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer): one run, every rule.

The document validates against the OASIS schema
(tests/acceptance/validate/fixtures/sarif-schema-2.1.0.json).
Locations are relative to the repository root (``uriBaseId: %SRCROOT%``).
``partialFingerprints`` identify a finding by rule, file and JSON Pointer, not by
line, so code scanning keeps tracking an alert when unrelated lines move it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from rke2image import __version__
from rke2image.spec.catalog import PROJECT_URL, RULES, RuleInfo
from rke2image.spec.formats.srcroot import repo_path
from rke2image.spec.outcome import Outcome
from rke2image.spec.problems import Problem
from rke2image.spec.suppress import Suppressed
from rke2image.textsafe import no_surrogates

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "rke2imageFinding/v1"


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": _plain(rule.summary), "markdown": rule.summary},
        "fullDescription": {"text": rule.detail},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": rule.default_level},
        "properties": {"suppressible": rule.suppressible},
    }


def _plain(markdown: str) -> str:
    return markdown.replace("`", "")


def _location(file: str, line: int, column: int) -> dict[str, Any]:
    """Relative to the repository root; a spec outside it is named by its file name alone
    (an absolute ``file://`` URI would publish the runner's paths, and code scanning drops
    it anyway). URIs percent-encode the name's bytes, UTF-8 or not."""
    relative = repo_path(file)
    artifact: dict[str, Any]
    if relative is None:
        artifact = {
            "uri": quote(os.fsencode(PurePath(file).name)),
            "description": {"text": "outside the repository"},
        }
    else:
        artifact = {"uri": quote(os.fsencode(relative)), "uriBaseId": "%SRCROOT%"}
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {"startLine": line, "startColumn": column},
        }
    }


def _identity(problem: Problem) -> str:
    """What stays when lines move: rule, file, pointer (for pointer-less problems such as
    YAML syntax errors, the message with its numbers blanked)."""
    where = problem.pointer or re.sub(r"\d+", "0", problem.message)
    return "\0".join((problem.rule, repo_path(problem.file) or problem.file, where))


def document(outcome: Outcome) -> dict[str, Any]:
    """The SARIF log of one validate run: standing findings, then suppressed ones."""
    rules = list(RULES)
    index = {rule.id: i for i, rule in enumerate(rules)}
    entries: list[tuple[Problem, Suppressed | None]] = [(p, None) for p in outcome.problems]
    entries += [(s.problem, s) for s in outcome.suppressed]
    seen: Counter[str] = Counter()
    results = []
    for problem, suppressed in entries:
        if problem.rule not in index:  # a rule missing from the catalog: still valid SARIF
            index[problem.rule] = len(rules)
            rules.append(RuleInfo(problem.rule, problem.severity, problem.rule, problem.rule))
        identity = _identity(problem)
        seen[identity] += 1
        digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
        result: dict[str, Any] = {
            "ruleId": problem.rule,
            "ruleIndex": index[problem.rule],
            "level": problem.severity,
            "message": {"text": no_surrogates(" ".join(problem.message.split()))},
            "locations": [_location(problem.file, problem.line, problem.column)],
            "partialFingerprints": {FINGERPRINT_KEY: f"{digest}:{seen[identity]}"},
        }
        if problem.pointer:
            result["properties"] = {"pointer": problem.pointer}
        if suppressed is not None:
            result["suppressions"] = [
                {
                    "kind": "inSource",
                    "justification": suppressed.reason,
                    "location": _location(problem.file, suppressed.line, suppressed.column),
                }
            ]
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rke2image",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URL,
                        "rules": [_descriptor(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
