"""``rke2image validate``: check specs for pull requests, with FILE:LINE:COL diagnostics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rke2image.cli.report import REPORTERS, format_problems
from rke2image.errors import EXIT_FINDINGS, EXIT_OK
from rke2image.spec import check_paths


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        description="Check NodeSpec and Cluster files (or every rke2image/v1 YAML file in the "
        "given folders). Exit 0 when clean, 1 on errors (or warnings with --strict), 2 on "
        "usage or I/O errors.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="spec files or folders")
    parser.add_argument("--format", choices=sorted(REPORTERS), default="text",
                        help="output format (default: text)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument("--only-specs", action="store_true",
                        help="skip named files without apiVersion: rke2image/v1 (for pre-commit)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    reports = check_paths(args.paths, only_specs=args.only_specs)
    problems = [p for report in reports for p in report.problems]
    sys.stdout.write(format_problems(problems, args.format))
    failing = {"error", "warning"} if args.strict else {"error"}
    if args.format == "text":
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        print(f"{len(reports)} file(s) checked: {errors} error(s), {warnings} warning(s)",
              file=sys.stderr)
    return EXIT_FINDINGS if any(p.severity in failing for p in problems) else EXIT_OK
