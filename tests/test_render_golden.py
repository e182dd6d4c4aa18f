"""Golden files: every example renders exactly the committed tree under tests/golden/.

Regenerate with ``pytest --update-golden tests/test_render_golden.py`` (or
UPDATE_GOLDEN=1) and review the diff: a change of templates/preflight.sh or of a
template shows up here on purpose. Git keeps only the executable bit of a mode,
so that is all of the mode that is compared (as ``render --check`` does).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rke2image.render import check_outputs, render_node, write_outputs
from rke2image.render.files import RenderedNode
from rke2image.spec import load_nodes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden"
VARIANTS = {"render": False, "render-baked": True}
# An example that reads its token from the environment gets this stand-in.
GOLDEN_TOKEN = "golden-test-token-not-a-secret"


def render_example(example: Path, baked: bool) -> list[RenderedNode]:
    rendered = []
    for spec in load_nodes([example]):
        environ = {spec.token.env: GOLDEN_TOKEN} if spec.token and spec.token.env else {}
        rendered.append(render_node(spec, baked=baked, environ=environ))
    return rendered


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_matches_golden(example: Path, variant: str, update_golden: bool) -> None:
    rendered = render_example(example, VARIANTS[variant])
    golden = GOLDEN / variant / example.stem
    if update_golden:
        write_outputs(rendered, golden)
    assert golden.is_dir(), f"no golden for {example.name}; run pytest --update-golden"
    assert check_outputs(rendered, golden) == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_golden_has_its_example(variant: str) -> None:
    assert EXAMPLES, "examples/*.yaml are missing"
    folders = sorted(p.name for p in (GOLDEN / variant).iterdir() if p.is_dir())
    assert folders == [e.stem for e in EXAMPLES]
