"""Golden files: the examples render exactly the committed bytes.

One node (examples/node.yaml) is kept as a full tree to review, except the
preflight, whose bytes are pinned by the sha256 in that node's manifest.json;
the Cluster example is pinned by one sha256 list of every file it renders, and so
is each example of another target (flatcar: ignition; slemicro: combustion and
eib), whose own form's bytes the target tests check.
Regenerate with ``pytest --update-golden tests/unit/render/test_golden.py`` (or
UPDATE_GOLDEN=1) and review the diff: a change of templates/preflight.sh or of a
template shows up here on purpose. Git keeps only the executable bit of a mode,
so that is all of the mode that is compared (as ``render --check`` does).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from helpers import EXAMPLES
from rke2image.paths import PREFLIGHT
from rke2image.render import render_node
from rke2image.render.files import RenderedNode
from rke2image.render.manifest import OutputFile, output_tree
from rke2image.spec import load_nodes

GOLDEN = Path(__file__).resolve().parent / "golden"
VARIANTS = {"render": False, "render-baked": True}
# An example that reads its token from the environment gets this stand-in.
GOLDEN_TOKEN = "golden-test-token-not-a-secret"


def render_example(name: str, baked: bool) -> dict[str, OutputFile]:
    rendered: list[RenderedNode] = []
    for spec in load_nodes([EXAMPLES / f"{name}.yaml"]):
        environ = {spec.token.env: GOLDEN_TOKEN} if spec.token and spec.token.env else {}
        rendered.append(render_node(spec, baked=baked, environ=environ))
    return output_tree(rendered)


def is_preflight(relative: str) -> bool:
    return relative.endswith("/rootfs" + PREFLIGHT)


def hash_list(tree: dict[str, OutputFile]) -> str:
    """`sha256sum`-style lines with the executable bit: one per rendered file."""
    return "".join(
        f"{hashlib.sha256(f.content).hexdigest()}  {'x' if f.mode & 0o111 else '-'}  {rel}\n"
        for rel, f in tree.items()
    )


def tree_on_disk(folder: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & 0o111))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_tree(tree: dict[str, OutputFile], folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for relative, file in tree.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.content)
        path.chmod(0o755 if file.mode & 0o111 else 0o644)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_node_example_matches_its_golden_tree(variant: str, update_golden: bool) -> None:
    tree = render_example("node", VARIANTS[variant])
    kept = {rel: f for rel, f in tree.items() if not is_preflight(rel)}
    golden = GOLDEN / variant / "node"
    if update_golden:
        write_tree(kept, golden)
    expected = {rel: (f.content, bool(f.mode & 0o111)) for rel, f in kept.items()}
    assert tree_on_disk(golden) == expected


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cluster_example_matches_its_golden_hashes(variant: str, update_golden: bool) -> None:
    listing = hash_list(render_example("cluster", VARIANTS[variant]))
    golden = GOLDEN / variant / "cluster.sha256"
    if update_golden:
        golden.write_text(listing)
    assert listing == golden.read_text()


TARGET_EXAMPLES = ("flatcar", "slemicro")


@pytest.mark.parametrize("name", TARGET_EXAMPLES)
def test_target_example_matches_its_golden_hashes(name: str, update_golden: bool) -> None:
    listing = hash_list(render_example(name, False))
    golden = GOLDEN / "render" / f"{name}.sha256"
    if update_golden:
        golden.write_text(listing)
    assert listing == golden.read_text()


def test_every_example_has_a_golden() -> None:
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
    assert names == sorted(["cluster", "node", *TARGET_EXAMPLES])
