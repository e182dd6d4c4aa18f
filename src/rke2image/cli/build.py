"""``rke2image build``: parse, call ``bake.build`` for each node, print what it built.

Progress goes to stderr as Packer works; the result (one line per image) goes
to stdout. Exit 0 built or already built, 1 invalid spec or failed build, 2
usage errors and a missing packer binary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rke2image import bake
from rke2image.bake.builders import BUILDERS
from rke2image.bake.progress import PackerEvent
from rke2image.cli.render import load_reporting
from rke2image.errors import EXIT_OK, UserError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "build",
        description="Write a Packer project per node into OUT/<name>/ (templates, rendered "
        "rootfs/, a variables file per builder), run `packer validate`, then `packer build`. "
        "The image name carries a digest of everything built into it: an unchanged spec reports "
        "the recorded artifact instead of rebuilding (unless --force). Exit 0 on success, "
        "1 on an invalid spec or a failed build, 2 on usage errors or a missing packer.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="spec files or folders")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("build"),
        metavar="OUT",
        help="project folders go to OUT/<node name>/ (default: ./build)",
    )
    parser.add_argument(
        "--only",
        metavar="BUILDER",
        help=f"build only this builder ({', '.join(BUILDERS)})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write the project and run `packer validate`, but do not build",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="build even if an artifact of the same digest is recorded",
    )
    parser.add_argument("--packer", metavar="PATH", help="the packer binary (default: from PATH)")
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop a build that runs longer than this"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    nodes = [n for n in load_reporting(args.paths) if n.builders]
    if not nodes:
        raise UserError("no node has spec.image.builders: nothing to build")
    for node in nodes:
        options = bake.BuildOptions(
            output=args.output,
            only=args.only,
            dry_run=args.dry_run,
            force=args.force,
            packer_path=args.packer,
            timeout=args.timeout,
            on_event=_show,
            notice=_notice(node.name),
        )
        for result in bake.build(node, options):
            print(_describe(node.name, result))
    return EXIT_OK


def _show(event: PackerEvent) -> None:
    print(event.readable(), file=sys.stderr, flush=True)


def _notice(name: str) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"rke2image: {name}: {text}", file=sys.stderr, flush=True)

    return say


def _describe(name: str, result: bake.BuildResult) -> str:
    if result.validated_only:
        return f"{name}: {result.builder}: {result.image_name}: valid (dry run, not built)"
    ids = ", ".join(result.files or result.artifact_ids) or "-"
    state = "already built (unchanged spec; --force rebuilds)" if result.cached else "built"
    return f"{name}: {result.builder}: {result.image_name}: {state}: {ids}"
