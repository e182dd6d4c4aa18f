"""Entry point: parse the command line, dispatch to one subcommand module, map errors to exit codes.

Each subcommand lives in its own module under ``rke2image.cli`` with two functions:
``add_parser(subparsers)`` and ``run(args) -> int``. Only this package prints or exits.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rke2image import __version__
from rke2image.errors import EXIT_USAGE, UserError

# name -> one-line help, written here only: the subcommand modules give the
# long description. Only the chosen subcommand's module is imported, which
# keeps a cold `rke2image validate` from paying for Jinja and Packer imports.
SUBCOMMANDS = {
    "validate": "check node specs and report every problem",
    "render": "write each node's files for cloud-init, Ignition, Combustion or EIB",
    "build": "build VM images of the nodes with Packer",
    "audit": "say which kernel value is wrong, who set it, and whether the next boot breaks it",
    "schema": "print the JSON Schema of the spec",
    "fleet": "compare many nodes' audit JSON: the odd nodes, servers first",
    "fix": "plan (or, with --apply, carry out) the recovery of a node",
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
    """SIGTERM (CI timeouts, systemd) and SIGHUP (a closed terminal) unwind like Ctrl-C,
    so a render removes its staging folder instead of leaving a half-written tree (and
    maybe a token) behind."""
    raise KeyboardInterrupt


class OutputError(UserError):
    """Standard output cannot be written (a closed pipe, a full disk): exit 2."""


class _GuardedStdout:
    """Standard output whose write errors become one OutputError, not a traceback.

    Strings the terminal's encoding cannot hold (a file name that is not UTF-8, in
    any locale) are written with backslash escapes rather than failing.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise _output_error(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise _output_error(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _output_error(error: OSError) -> OutputError:
    _silence_stdout()
    return OutputError(f"cannot write to standard output: {error.strerror or error}")


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush of what is
    still buffered cannot fail again at exit (Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _say(text: str) -> None:
    """One message on stderr; a closed stderr leaves only the exit code to speak. Control
    characters and bytes that are not UTF-8 (from file names) are escaped, in any locale;
    only a message's own line breaks (packer's tail) stay."""
    from rke2image.textsafe import printable

    with contextlib.suppress(OSError, ValueError):
        print("\n".join(map(printable, text.split("\n"))), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(signum, _terminate)
        except ValueError:  # not the main thread (main() called from a library's thread)
            break
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout
    sys.stdout = _GuardedStdout(stdout)
    try:
        parser = build_parser(argv)
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            # --help and --version print, then exit: their output reaches standard output
            # here or becomes one OutputError (Python 3.9's argparse lets the write error
            # surface only at the interpreter's last flush, as exit 120).
            sys.stdout.flush()
            raise
        code: int = args.run(args)
        sys.stdout.flush()
    except UserError as error:
        _say(f"rke2image: error: {error}")
        return error.exit_code
    except ModuleNotFoundError as error:
        if (error.name or "rke2image").partition(".")[0] == "rke2image":
            return last_resort(error)
        _say(missing_dependency(argv, error.name or ""))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("rke2image: interrupted")
        return 130
    except Exception as error:
        return last_resort(error)
    finally:
        sys.stdout = stdout
    return code


def missing_dependency(argv: Sequence[str], module: str) -> str:
    """One line for a command whose library is not installed here: the zipapp carries
    only what audit, fleet and fix need, so validate, render and build stop with this."""
    command = next((a for a in argv if not a.startswith("-")), "this command")
    package = module.partition(".")[0]
    return (
        f"rke2image: error: {command} needs the Python package {package!r}, which is not "
        "installed here: install rke2image with pip (pip install rke2image, Python 3.9+); "
        "the zipapp runs audit, fleet and fix alone"
    )


def last_resort(error: Exception) -> int:
    """An exception no rule anticipated: one line and exit 2 instead of a traceback.
    The test suite proves that no known input gets here (tests/acceptance/test_cli_hostile.py)."""
    where = ""
    tb = error.__traceback__
    while tb is not None:
        where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    _say(
        f"rke2image: internal error: {type(error).__name__}: {error}{where}; "
        "please report it with the command you ran"
    )
    return EXIT_USAGE
