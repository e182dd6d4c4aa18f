"""``rke2image render``: write each node's target files (user-data, ignition.json,
combustion/script, eib/), rootfs/ and manifest.json, or --check them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rke2image.errors import EXIT_FINDINGS, EXIT_OK, SpecError
from rke2image.render import check_outputs, render_node, write_outputs
from rke2image.spec import NodeSpec, Problem, load_nodes
from rke2image.spec.formats import format_problems
from rke2image.targets import CLOUD_INIT, TARGETS

# EC2 refuses user-data over 16 KiB (before base64); other clouds allow more.
EC2_USER_DATA_LIMIT = 16 * 1024


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render",
        description="Render every node of the given NodeSpec/Cluster files into OUT/<name>/: "
        "each target's files (user-data, ignition.json, combustion/script, eib/), rootfs/ "
        "(the files as they land on the node) and manifest.json. OUT is replaced atomically, "
        "and only if it is empty or an earlier rke2image output. Exit 0 on success, 1 on an "
        "invalid spec (or stale output with --check), 2 on usage or I/O errors.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="spec files or folders")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=output_folder,
        metavar="OUT",
        help="output folder (one sub-folder per node)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace OUT even if it holds files rke2image did not write",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming every stale, missing or extra file",
    )
    parser.add_argument(
        "--target",
        action="append",
        choices=TARGETS,
        default=[],
        dest="targets",
        help="the first-boot system to render for (repeatable): cloud-init (user-data), "
        "ignition (ignition.json), combustion (combustion/script), eib (eib/); default: the "
        "spec's targets, else its os's own (cloud-init; ignition on flatcar/fcos; combustion "
        "on slemicro/microos)",
    )
    parser.add_argument(
        "--baked",
        action="store_true",
        help="render only the per-node user-data for an image made by `build`",
    )
    parser.set_defaults(run=run)


def output_folder(text: str) -> Path:
    """``-o ''`` would mean the current folder: refuse it rather than guess."""
    if not text.strip():
        raise argparse.ArgumentTypeError("OUT is empty: name the output folder")
    return Path(text)


def load_reporting(paths: list[Path], targets: Sequence[str] = ()) -> list[NodeSpec]:
    """Load the nodes, printing every problem (warnings too) as validate does."""
    warnings: list[Problem] = []
    try:
        specs = load_nodes(paths, warnings, targets)
    except SpecError as error:
        sys.stderr.write(format_problems(error.problems, "text"))
        raise
    sys.stderr.write(format_problems(warnings, "text"))
    return specs


def run(args: argparse.Namespace) -> int:
    targets = tuple(dict.fromkeys(args.targets))
    specs = load_reporting(args.paths, targets)
    nodes = [render_node(spec, baked=args.baked, targets=targets) for spec in specs]
    if args.check:
        problems = check_outputs(nodes, args.output)
        for problem in problems:
            print(problem)
        if problems:
            print(
                f"{args.output}: {len(problems)} file(s) out of date; run "
                "`rke2image render` and commit the result",
                file=sys.stderr,
            )
            return EXIT_FINDINGS
        print(f"{args.output}: {len(nodes)} node(s) up to date", file=sys.stderr)
        return EXIT_OK
    write_outputs(nodes, args.output, inputs=args.paths, force=args.force)
    print(f"{args.output}: rendered {len(nodes)} node(s)", file=sys.stderr)
    large = sum(
        len(node.user_data) > EC2_USER_DATA_LIMIT for node in nodes if CLOUD_INIT in node.targets
    )
    if large:
        print(
            f"rke2image: note: the user-data of {large} node(s) is over 16 KiB, the most EC2 "
            "accepts: gzip it there (cloud-init reads gzipped user-data), or boot an image "
            "made by `rke2image build` with --baked user-data",
            file=sys.stderr,
        )
    return EXIT_OK
