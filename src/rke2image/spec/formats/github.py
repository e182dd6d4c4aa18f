"""GitHub Actions output that loses no finding: capped annotations, then the step summary.

GitHub shows at most 10 error and 10 warning annotations per step (50 per job)
and drops the rest silently (community discussions #26680, #68471). So at most
10 of each are printed as ``::error``/``::warning``, then one ``::notice`` says
how many more there are and where they are: the rest follow in the log as text,
and, with ``GITHUB_STEP_SUMMARY`` set, every finding goes into the step summary
as a Markdown table. GitHub refuses a summary over 1024k ("$GITHUB_STEP_SUMMARY
upload aborted, supports content up to a size of 1024k"), so rows stop short of
that and the last line says how many were left out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

from rke2image.spec.catalog import BY_ID
from rke2image.spec.formats.srcroot import repo_path
from rke2image.spec.outcome import Outcome
from rke2image.spec.problems import Problem
from rke2image.textsafe import markdown, printable

ANNOTATIONS_PER_LEVEL = 10
SUMMARY_LIMIT = 1024 * 1024
MESSAGE_LIMIT = 2000  # characters of one message in the summary: no row may eat the budget


def _escape(value: str, property_value: bool = False) -> str:
    """A workflow command's field: no line break of any kind, no other control character."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    value = printable(value)
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def annotation(p: Problem) -> str:
    return (
        f"::{p.severity} file={_escape(p.file, True)},line={p.line},col={p.column},"
        f"title={_escape(p.rule, True)}::{_escape(p.message)}\n"
    )


def annotate(outcome: Outcome) -> str:
    """At most 10 annotations per level in file order, a notice, then the rest as text."""
    shown: list[str] = []
    rest: list[Problem] = []
    count = {"error": 0, "warning": 0}
    for problem in outcome.problems:
        count[problem.severity] += 1
        if count[problem.severity] <= ANNOTATIONS_PER_LEVEL:
            shown.append(annotation(problem))
        else:
            rest.append(problem)
    if not rest:
        return "".join(shown)
    where = "the job summary and the log below" if outcome.summary else "the log below"
    notice = (
        f"::notice title=rke2image::{len(rest)} more finding(s) not annotated (GitHub "
        f"shows {ANNOTATIONS_PER_LEVEL} errors and {ANNOTATIONS_PER_LEVEL} warnings per "
        f"step): see {where}\n"
    )
    return "".join(shown) + notice + "".join(p.format_text() + "\n" for p in rest)


def _cell(text: str) -> str:
    return markdown(text, MESSAGE_LIMIT)


def _where(problem: Problem, env: Mapping[str, str]) -> str:
    path = repo_path(problem.file)
    label = _cell(f"{path or problem.file}:{problem.line}")
    repository, sha = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_SHA")
    if path is None or not repository or not sha:
        return label
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    url = f"{server}/{repository}/blob/{sha}/{quote(os.fsencode(path))}#L{problem.line}"
    return f"[{label}]({url})"


def _row(problem: Problem, env: Mapping[str, str]) -> str:
    info = BY_ID.get(problem.rule)
    rule = f"`{problem.rule}`" if info is None else f"[`{problem.rule}`]({info.help_uri})"
    return f"| {_where(problem, env)} | {problem.severity} | {rule} | {_cell(problem.message)} |\n"


def summary(outcome: Outcome, env: Mapping[str, str], budget: int = SUMMARY_LIMIT) -> str:
    """The step summary: counts, then one table row per finding within ``budget`` bytes."""
    counts = (
        f"{outcome.files} file(s) checked: {outcome.errors} error(s), {outcome.warnings} warning(s)"
    )
    if outcome.suppressed:
        counts += f", {len(outcome.suppressed)} suppressed with a reason (listed in SARIF)"
    head = f"### rke2image validate\n\n{counts}\n\n"
    table = "| where | severity | rule | message |\n|---|---|---|---|\n"
    # room for the closing line, whatever the count it names
    closing = _left_out(len(outcome.problems))
    used = len((head + table + closing).encode())
    if not outcome.problems or used > budget:
        fits = len(head.encode()) <= budget  # else earlier output of the step filled it
        return head if fits else ""
    rows: list[str] = []
    for problem in outcome.problems:
        row = _row(problem, env)
        if used + len(row.encode()) > budget:
            break
        rows.append(row)
        used += len(row.encode())
    left = len(outcome.problems) - len(rows)
    return head + table + "".join(rows) + (_left_out(left) if left else "")


def _left_out(count: int) -> str:
    return (
        f"\n{count} more finding(s) left out: GitHub limits a step summary to 1 MiB. "
        "Run `rke2image validate` locally or use `--format sarif` to see them all.\n"
    )
