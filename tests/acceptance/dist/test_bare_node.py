"""The zipapp on a bare node: a Debian root with python3 alone (no pip, no PyYAML), Debian
11's 3.9 and Debian 13's 3.13. ``audit`` there prints the installed audit's JSON for the
same roots (the time aside), and ``fleet`` over those audits the installed fleet's report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acceptance.dist.built import make_dist, zipapp_of
from acceptance.deploy.roots import break_live, break_next_boot, compliant_root
from debroots import debian_root

pytestmark = pytest.mark.host  # a Debian root of its own, and make dist's hatchling

NODES = {"cp-1": None, "cp-2": break_live, "cp-3": break_next_boot}
NOW = "2026-12-04T12:00:00Z"


class BareNode:
    """A bare root with the zipapp and fixture node roots in a folder of its /tmp."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root, self.work = root, work

    def inside(self, path: Path) -> str:
        return "/" + str(path.relative_to(self.root))

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """argv in the root, /proc mounted in a private namespace, no environment."""
        home = self.inside(self.work / "home")
        return subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-euc",
                'home=$1; shift; mount -t proc proc "$0/proc"; '
                'exec chroot "$0" env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"',
                str(self.root),
                home,
                *argv,
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    def zipapp(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.run("python3", self.inside(self.work / "rke2image.pyz"), *argv)


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zipapp_of(make_dist(tmp_path_factory.mktemp("dist")))


@pytest.fixture(params=[("bullseye", "3.9"), ("trixie", "3.13")], ids=["python3.9", "python3.13"])
def node(request: pytest.FixtureRequest, zipapp: Path) -> Iterator[tuple[BareNode, str]]:
    suite, version = request.param
    root = debian_root(suite, "bare")
    work = Path(tempfile.mkdtemp(prefix="rke2image-zipapp-", dir=root / "tmp"))
    try:
        shutil.copy2(zipapp, work / "rke2image.pyz")
        (work / "home").mkdir()
        for name, broken in NODES.items():
            tree = compliant_root(work / name, hostname=name)
            if broken:
                broken(tree)
        yield BareNode(root, work), version
    finally:
        shutil.rmtree(work)


def installed(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rke2image", *argv], capture_output=True, text=True, check=False
    )


def audit_argv(tree: str) -> list[str]:
    return ["audit", "--root", tree, "--proc-sys", f"{tree}/proc/sys", "--format", "json"]


def without_time(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    document.pop("generated")
    return document


def test_the_root_is_bare(node: tuple[BareNode, str]) -> None:
    bare, version = node
    probe = bare.run("python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])")
    assert probe.stdout.strip() == version, probe.stderr
    for module in ("yaml", "pip", "jsonschema"):
        assert bare.run("python3", "-c", f"import {module}").returncode == 1, module


def test_audit_on_the_bare_node_prints_the_installed_audits_json(
    node: tuple[BareNode, str],
) -> None:
    bare, _ = node
    for name in NODES:
        tree = bare.work / name / "root"
        theirs = installed(*audit_argv(str(tree)))
        ours = bare.zipapp(*audit_argv(bare.inside(tree)))
        assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr), name
        expected = without_time(theirs.stdout.replace(str(bare.root), ""))
        assert without_time(ours.stdout) == expected, name


def test_fleet_on_the_bare_node_prints_the_installed_fleets_report(
    node: tuple[BareNode, str],
) -> None:
    bare, _ = node
    audits = bare.work / "audits"
    audits.mkdir()
    for name in NODES:
        ours = bare.zipapp(*audit_argv(bare.inside(bare.work / name / "root")))
        assert ours.returncode in (0, 1), ours.stderr
        (audits / f"{name}.json").write_text(ours.stdout, encoding="utf-8")
    for form in ("json", "text", "markdown"):
        argv = ["fleet", "--now", NOW, "--format", form]
        theirs = installed(*argv, str(audits))
        ours = bare.zipapp(*argv, bare.inside(audits))
        assert theirs.returncode == 1, theirs.stderr
        assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
        assert ours.stdout == theirs.stdout.replace(str(bare.root), ""), form


def test_validate_on_the_bare_node_says_what_to_install(node: tuple[BareNode, str]) -> None:
    bare, _ = node
    spec = bare.work / "node.yaml"
    spec.write_text("apiVersion: rke2image/v1\n", encoding="utf-8")
    result = bare.zipapp("validate", bare.inside(spec))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "pip install rke2image" in result.stderr
