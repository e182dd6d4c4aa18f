"""``rke2image fleet``: many nodes' audit JSON in, the odd nodes out (servers first).

A top-level command rather than ``audit fleet``: ``audit`` reads one node's files and
kernel, ``fleet`` reads only documents that audits wrote, on any machine; its flags and
exit codes are its own (exit 1 when a server, or any node, differs, fails or is stale).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from rke2image.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from rke2image.fleet import audit_files, fleet_report, load_audits, parse_time
from rke2image.fleet.formats import REPORTERS
from rke2image.textsafe import printable

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """``2h``, ``90m``, ``1h30m``, ``3600s``, ``1d`` or plain seconds → seconds."""
    if text.isdigit():
        return int(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 2h, 90m or 1h30m")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def moment(text: str) -> datetime:
    value = parse_time(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time with a zone")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fleet",
        help="compare many nodes' audit JSON: the odd nodes, servers first",
        description="Read the JSON of `rke2image audit --format json` from many nodes (files, "
        "or folders searched for *.json) and report, per parameter, the nodes whose live or "
        "next-boot value differs from the majority of their role (servers first), nodes "
        "that are not compliant, and audits older than --max-age. Exit 0 when all agree, "
        "1 when any node differs, fails or is stale, 2 on an unreadable or invalid file.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="audit JSON files or folders holding them",
    )
    parser.add_argument(
        "--format", choices=sorted(REPORTERS), default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--max-age",
        type=duration,
        default=duration("2h"),
        metavar="AGE",
        help="an audit older than this is stale (default: 2h; e.g. 90m, 1d)",
    )
    parser.add_argument(
        "--now",
        type=moment,
        default=None,
        metavar="TIME",
        help="reference time for --max-age (RFC 3339; default: now), "
        "for a report that reads the same tomorrow",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    nodes, errors = load_audits(audit_files(args.paths))
    if errors:  # nothing on stdout: a report over part of the fleet would mislead
        for line in errors:  # one line each, whatever a file name holds
            print(f"rke2image: error: {printable(line)}", file=sys.stderr)
        return EXIT_USAGE
    report = fleet_report(nodes, args.now or datetime.now(timezone.utc), args.max_age)
    sys.stdout.write(REPORTERS[args.format](report))
    return EXIT_OK if report.clean else EXIT_FINDINGS
