"""Entry point: parse the command line, dispatch to one subcommand module, map errors to exit codes.

Each subcommand lives in its own module under ``rke2image.cli`` with two functions:
``add_parser(subparsers)`` and ``run(args) -> int``. Only this package prints or exits.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from rke2image import __version__
from rke2image.errors import EXIT_USAGE, UserError

# name -> one-line help, written here only: the subcommand modules give the
# long description. Only the chosen subcommand's module is imported, which
# keeps a cold `rke2image validate` from paying for Jinja and Packer imports.
SUBCOMMANDS = {
    "validate": "check node specs and report every problem",
    "render": "write the node artifacts (user-data, rootfs/, manifest.json)",
    "build": "build VM images of the nodes with Packer",
    "schema": "print the JSON Schema of the spec",
}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, which is the contract's code too."""


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rke2image",
        description="Keep RKE2 nodes from booting with kernel parameters that kubelet rejects.",
    )
    parser.add_argument("--version", action="version", version=f"rke2image {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, summary in SUBCOMMANDS.items():
        if name == chosen:
            importlib.import_module(f"rke2image.cli.{name}").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM (CI timeouts, systemd) unwinds like Ctrl-C, so a render removes its
    staging folder instead of leaving a half-written tree (and maybe a token) behind."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UserError as error:
        print(f"rke2image: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rke2image: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE
    return code
