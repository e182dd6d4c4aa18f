"""``rke2image audit``: diagnose a live node or an image root; text, JSON, Prometheus, npd."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rke2image.audit import AuditOptions, run_audit
from rke2image.audit.formats import REPORTERS, prometheus
from rke2image.errors import EXIT_FINDINGS, EXIT_OK, InputError
from rke2image.rke2 import ROLES


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="say which kernel value is wrong, who set it, and whether the next boot breaks it",
        description="Audit a live node (--root /, the default) or an image root: per kernel "
        "parameter kubelet requires, the live value, the value the next boot applies "
        "(systemd-sysctl and `sysctl --system`), the file and line that set it, a verdict "
        "and the fix; protection, the etcd account, rke2image's files, and kubelet's and "
        "RKE2's log lines. Reads only; never writes a sysctl. Exit 0 compliant, 1 findings, "
        "2 usage or I/O error.",
    )
    parser.add_argument(
        "--root",
        type=folder_argument("--root"),
        default=Path("/"),
        metavar="DIR",
        help="root filesystem to read (default: /)",
    )
    parser.add_argument(
        "--proc-sys",
        type=folder_argument("--proc-sys"),
        metavar="DIR",
        help="live values (default: /proc/sys when the root is /, else none)",
    )
    parser.add_argument(
        "--kubelet-log",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="kubelet log, repeatable (default: the root's kubelet.log and its rotations)",
    )
    parser.add_argument(
        "--rke2-log",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="RKE2 log, repeatable, e.g. saved `journalctl -u rke2-server` (default: "
        "journald when the root is /)",
    )
    parser.add_argument(
        "--spec",
        type=Path,
        metavar="PATH",
        help="node spec: check its own sysctl keys and role too",
    )
    parser.add_argument(
        "--role", choices=ROLES, help="node role (default: from the spec or the root)"
    )
    parser.add_argument(
        "--node-name",
        metavar="NAME",
        help="node name in the report (default: the root's /etc/hostname, else RKE2's "
        "node-name, else unknown for a root other than /)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(REPORTERS),
        default="text",
        help="output format (default: text); npd follows "
        "node-problem-detector's custom plugin protocol",
    )
    parser.add_argument(
        "--textfile",
        type=Path,
        metavar="PATH",
        help="also write the Prometheus metrics to PATH atomically (for "
        "node_exporter's textfile collector; name it *.prom)",
    )
    parser.set_defaults(run=run)


def folder_argument(flag: str) -> Callable[[str], Path]:
    """``--root ''`` would read the current folder as a node's root: refuse it, as render
    refuses ``-o ''``, rather than guess."""

    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{flag} is empty: name the folder")
        return Path(text)

    return parse


def run(args: argparse.Namespace) -> int:
    options = AuditOptions(
        root=args.root,
        proc_sys=args.proc_sys,
        kubelet_logs=tuple(args.kubelet_log),
        rke2_logs=tuple(args.rke2_log),
        spec=args.spec,
        role=args.role,
        node_name=args.node_name,
    )
    report = run_audit(options)
    output = REPORTERS[args.format](report)
    if args.textfile is not None:
        write_atomically(args.textfile, prometheus(report))
    sys.stdout.write(output)
    return EXIT_OK if report.compliant else EXIT_FINDINGS


def write_atomically(path: Path, content: str) -> None:
    """Write a temporary file in the same folder, then rename it over ``path``: a scraper
    never sees half a file (node_exporter's textfile collector reads only *.prom, so the
    temporary name must not end in .prom).

    Only a regular file is replaced: a device node, FIFO, folder or socket at ``path`` is
    refused (``--textfile /dev/stdout`` must not replace the device). A link to a regular
    file is written through: the new file is renamed over the link's target, in its folder.
    """
    import stat
    import tempfile  # lazy: only --textfile needs it

    from rke2image.rootfs import kind

    target = Path(os.path.realpath(path))  # the file a link names; ``path`` itself if none
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise InputError(f"{path}: cannot write the textfile: {error.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        where = "" if target == path.absolute() else f" (through the link, {target})"
        raise InputError(
            f"{path}: is {kind(mode)}{where}, not a regular file: the textfile is written "
            "only to a new or regular file (name a *.prom file in the collector's folder)"
        )
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise InputError(f"{path}: cannot write the textfile: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temp, 0o644)  # node_exporter runs as another user
        os.replace(temp, target)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise InputError(f"{path}: cannot write the textfile: {error.strerror}") from None
        raise
