"""Inline suppressions: ``# rke2image: ignore[RULE] REASON`` on the line before a finding.

A suppression needs a reason (kube-linter#487: ignores nobody can explain later
are how a bad value ships). Errors that protect the node, and errors without
which the file is not a usable spec, are refused (rke2image.spec.catalog says
which). Every comment is accounted for: one without a reason, one that is
refused and one that suppresses nothing are findings of their own.

Only full-line comments count; a block of them may stack several ignores above
one line. A ``#`` line inside a YAML block scalar looks the same to this scan
(PyYAML drops comments, so nothing tells them apart); such a line can only
suppress a finding on the next line, and never a protected one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rke2image.spec.catalog import BY_ID
from rke2image.spec.problems import Problem, ProblemSeverity

_MARK = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*rke2image[ \t]*:[ \t]*ignore\b(?P<rest>.*)$")
_RULES = re.compile(r"^\[(?P<rules>[^\]]*)\](?P<reason>.*)$")
_COMMENT = re.compile(r"^[ \t]*#")


@dataclass(frozen=True)
class IgnoreComment:
    line: int  # 1-based, of the comment
    column: int  # of its '#'
    rules: tuple[str, ...]  # empty when the brackets are missing
    reason: str
    target: int  # the line it applies to: the first non-comment line below it


@dataclass(frozen=True, order=True)
class Suppressed:
    """A finding silenced by a comment, with the comment's reason (SARIF's justification)."""

    problem: Problem
    reason: str
    line: int
    column: int


def ignore_comments(text: str) -> list[IgnoreComment]:
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        match = _MARK.match(line)
        if not match:
            continue
        target = index + 1
        while target < len(lines) and _COMMENT.match(lines[target]):
            target += 1
        bracket = _RULES.match(match["rest"].strip())
        rules = (
            tuple(r.strip() for r in bracket["rules"].split(",") if r.strip()) if bracket else ()
        )
        reason = " ".join(bracket["reason"].split()) if bracket else ""
        found.append(IgnoreComment(index + 1, len(match["indent"]) + 1, rules, reason, target + 1))
    return found


def apply(file: str, text: str, problems: list[Problem]) -> tuple[list[Problem], list[Suppressed]]:
    """Split ``problems`` into those that stand and those a comment suppresses; the
    standing ones include a finding for every comment that is wrong or unused."""
    comments = ignore_comments(text)
    by_target: dict[tuple[int, str], IgnoreComment] = {}
    for comment in comments:
        for rule in comment.rules:  # a reasoned comment wins over a bare one above it
            key = (comment.target, rule)
            if key not in by_target or (comment.reason and not by_target[key].reason):
                by_target[key] = comment
    standing: list[Problem] = []
    suppressed: list[Suppressed] = []
    used: set[tuple[int, str]] = set()
    refused: set[tuple[int, str]] = set()
    for problem in problems:
        found = by_target.get((problem.line, problem.rule))
        info = BY_ID.get(problem.rule)
        if found is None or not found.reason:
            standing.append(problem)
            continue
        if info is None or not info.may_suppress(problem.severity):
            standing.append(problem)
            refused.add((found.line, problem.rule))
        else:
            suppressed.append(Suppressed(problem, found.reason, found.line, found.column))
            used.add((found.line, problem.rule))
    standing.extend(_comment_findings(file, comments, used, refused))
    return sorted(standing), sorted(suppressed)


def _comment_findings(
    file: str,
    comments: list[IgnoreComment],
    used: set[tuple[int, str]],
    refused: set[tuple[int, str]],
) -> list[Problem]:
    found = []

    def add(comment: IgnoreComment, severity: ProblemSeverity, rule: str, message: str) -> None:
        found.append(Problem(file, comment.line, comment.column, severity, rule, message))

    for comment in comments:
        if not comment.rules:
            add(
                comment,
                "warning",
                "ignore-unused",
                (
                    "this ignore comment names no rule: write # rke2image: ignore[RULE] REASON, "
                    "with the rule id shown in brackets at the end of the finding"
                ),
            )
            continue
        if not comment.reason:
            add(
                comment,
                "error",
                "ignore-without-reason",
                (
                    f"ignore[{','.join(comment.rules)}] needs a reason after the brackets, for the "
                    "next reviewer (# rke2image: ignore[RULE] REASON); the finding below stands"
                ),
            )
            continue
        for rule in comment.rules:
            info = BY_ID.get(rule)
            if info is None:
                add(
                    comment,
                    "warning",
                    "ignore-unused",
                    (
                        f"{rule!r} is not an rke2image rule id (see the rules table in the "
                        "README): fix the id or remove the comment"
                    ),
                )
            elif (comment.line, rule) in refused or info.suppressible == "no":
                add(
                    comment,
                    "error",
                    "ignore-not-allowed",
                    (
                        f"{rule} cannot be suppressed: {info.guard.value}; fix the spec instead "
                        "(the finding stands)"
                    ),
                )
            elif (comment.line, rule) not in used:
                add(
                    comment,
                    "warning",
                    "ignore-unused",
                    (
                        f"ignore[{rule}] suppresses nothing: there is no {rule} finding on the "
                        "line below; remove the comment"
                    ),
                )
    return found
