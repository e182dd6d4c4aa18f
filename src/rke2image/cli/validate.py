"""``rke2image validate``: check specs for pull requests, with FILE:LINE:COL diagnostics."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rke2image.errors import EXIT_FINDINGS, EXIT_OK, InputError
from rke2image.spec import check_paths
from rke2image.spec.discover import spec_files
from rke2image.spec.formats import REPORTERS, format_outcome
from rke2image.spec.outcome import Outcome


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        description="Check NodeSpec and Cluster files (or every rke2image/v1 YAML file in the "
        "given folders). Exit 0 when clean, 1 on errors (or warnings with --strict), 2 on "
        "usage or I/O errors. A '# rke2image: ignore[RULE] REASON' comment on the line "
        "before a finding suppresses it (not errors that protect the node).",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="spec files or folders")
    parser.add_argument(
        "--format",
        choices=sorted(REPORTERS),
        default="text",
        help="output format (default: text); github also writes every finding "
        "to $GITHUB_STEP_SUMMARY when it is set",
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files (or folders) matching GLOB; repeatable",
    )
    parser.add_argument(
        "--only-specs",
        action="store_true",
        help="skip named files without apiVersion: rke2image/v1 (for pre-commit)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    reports = check_paths(args.paths, only_specs=args.only_specs, exclude=args.exclude)
    if not reports and args.exclude and spec_files(args.paths, args.only_specs):
        # as a folder without specs is: a run that checks nothing must not pass silently
        globs = " ".join(f"--exclude {g}" for g in args.exclude)
        raise InputError(f"{globs} leaves no spec to check: name fewer or narrower globs")
    outcome = Outcome(
        problems=[p for report in reports for p in report.problems],
        suppressed=[s for report in reports for s in report.suppressed],
        files=len(reports),
        summary=args.format == "github" and bool(os.environ.get("GITHUB_STEP_SUMMARY")),
    )
    output = format_outcome(outcome, args.format)
    if outcome.summary:
        _append_summary(outcome, Path(os.environ["GITHUB_STEP_SUMMARY"]))
    sys.stdout.write(output)
    if args.format == "text":
        line = (
            f"{len(reports)} file(s) checked: {outcome.errors} error(s), "
            f"{outcome.warnings} warning(s)"
        )
        if outcome.suppressed:
            line += f", {len(outcome.suppressed)} suppressed"
        print(line, file=sys.stderr)
    failing = {"error", "warning"} if args.strict else {"error"}
    return EXIT_FINDINGS if any(p.severity in failing for p in outcome.problems) else EXIT_OK


def _append_summary(outcome: Outcome, path: Path) -> None:
    """Append to the step summary file, keeping the whole file within GitHub's limit."""
    from rke2image.spec.formats import github

    try:
        used = path.stat().st_size if path.exists() else 0
        text = github.summary(outcome, os.environ, github.SUMMARY_LIMIT - used)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise InputError(
            f"{path}: cannot write the step summary (GITHUB_STEP_SUMMARY): {error.strerror}"
        ) from None
