"""``rke2image fix``: plan the recovery of a node from its audit, apply it, or undo it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rke2image.audit import AuditOptions
from rke2image.cli.audit import folder_argument
from rke2image.errors import EXIT_FINDINGS, EXIT_OK, UserError
from rke2image.rke2 import ROLES

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fix",
        help="plan (or, with --apply, carry out) the recovery of a node",
        description="Audit the node and plan its recovery: the live values of wrong keys "
        "(as sysctl -w, only on a live node), rke2image's sysctl file, every line that "
        "would override a required value at the next boot commented out, the etcd account, "
        "and with --restart the RKE2 unit. Without --apply nothing changes. Every change is "
        "atomic and journalled under /var/lib/rke2image/fix/ID/ (--undo puts it back). "
        "Exit 0 nothing to do (or compliant after --apply), 1 a plan or a key fix cannot "
        "persist (or not compliant after --apply), 2 usage or I/O error.",
    )
    parser.add_argument(
        "--root",
        type=folder_argument("--root"),
        default=Path("/"),
        metavar="DIR",
        help="root filesystem to fix (default: /); another root: files only",
    )
    parser.add_argument(
        "--proc-sys",
        type=folder_argument("--proc-sys"),
        metavar="DIR",
        help="live values (default: /proc/sys when the root is /, else none)",
    )
    parser.add_argument(
        "--spec", type=Path, metavar="PATH", help="node spec: its own sysctl keys and role too"
    )
    parser.add_argument(
        "--role", choices=ROLES, help="node role (default: from the spec or the root)"
    )
    parser.add_argument("--node-name", metavar="NAME", help="the node of a cluster spec")
    parser.add_argument("--apply", action="store_true", help="carry the plan out")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="restart a failed or restart-looping rke2-server/rke2-agent and "
        "wait for kubelet (and etcd on servers) to be healthy (root / only)",
    )
    parser.add_argument(
        "--timeout",
        type=_duration,
        default=300.0,
        metavar="DUR",
        help="how long --restart waits, e.g. 90s, 5m (default: 5m)",
    )
    parser.add_argument(
        "--undo",
        nargs="?",
        const="",
        metavar="ID",
        help="restore the files of the newest (or the given) fix, byte for byte",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rke2image.fix import FixOptions, apply_plan, make_plan, undo
    from rke2image.fix.formats import REPORTERS
    from rke2image.fix.plan import audit

    if args.undo is not None:
        if args.apply or args.restart:
            raise UserError("--undo goes alone: not with --apply or --restart")
        report = undo(args.root, args.undo or None)
        sys.stdout.write(REPORTERS[args.format](report))
        return EXIT_OK
    if args.restart and args.root.absolute().resolve() != Path("/"):
        raise UserError("--restart restarts this node's RKE2: only with --root /")
    options = FixOptions(
        AuditOptions(
            root=args.root,
            proc_sys=args.proc_sys,
            spec=args.spec,
            role=args.role,
            node_name=args.node_name,
        ),
        restart=args.restart,
        timeout=args.timeout,
    )
    plan = make_plan(options, audit(options))
    if not args.apply:
        from rke2image.fix.model import FixReport

        report = FixReport("plan", plan)
        sys.stdout.write(REPORTERS[args.format](report))
        return EXIT_OK if report.ok else EXIT_FINDINGS
    progress = _progress if sys.stderr.isatty() else None
    report = apply_plan(options, plan, progress)
    if progress is not None:
        sys.stderr.write("\r\033[K")
    sys.stdout.write(REPORTERS[args.format](report))
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _progress(line: str) -> None:
    sys.stderr.write(f"\r\033[K{line}")
    sys.stderr.flush()


def _duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 5m, 1h)")
    return float(match[1]) * _UNITS[match[2] or "s"]
