"""The verdict table of docs/audit-json.md, row by row, through ``audit.params.judge``: one
case per cell of the table (live node and image root), with the boot plans systemd-sysctl
and procps read from a root of real sysctl.d files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from helpers import REPO
from rke2image.audit.live import Live, Unreadable
from rke2image.audit.model import VERDICTS
from rke2image.audit.params import Context, Wanted, judge
from rke2image.kernel import REQUIRED_BY_KEY
from rke2image.rootfs import RootFS
from rke2image.sysctld import read_plan


class Case(NamedTuple):
    verdict: str
    column: str  # "live node" or "image root"
    key: str  # kernel.panic: 10 required, the kernel's default 0
    live: Live
    boot_file: str | None  # what /etc/sysctl.d/60-test.conf holds, or no such file


PANIC = "kernel.panic"  # required 10; the kernel's default 0 differs
OOM = "vm.panic_on_oom"  # required 0; the kernel's default 0 is right

CASES = (
    Case("ok", "live node", PANIC, "10", "kernel.panic = 10\n"),
    Case("ok", "image root", PANIC, None, "kernel.panic = 10\n"),
    Case("wrong", "live node", PANIC, "0", "kernel.panic = 10\n"),
    Case("wrong", "image root", PANIC, None, "kernel.panic = 0\n"),
    Case("latent", "live node", PANIC, "10", "kernel.panic = 0\n"),
    Case("unpersisted", "live node", PANIC, "10", None),
    Case("unpersisted", "image root", PANIC, None, None),
    Case("missing", "live node", PANIC, None, "kernel.panic = 10\n"),
    Case("unreadable", "live node", PANIC, Unreadable("cannot read: Permission denied"), None),
)


def table() -> set[tuple[str, str]]:
    """(verdict, column) of every cell of the verdict table that is not a dash."""
    text = (REPO / "docs" / "audit-json.md").read_text(encoding="utf-8")
    section = text.split("### Verdicts", 1)[1].split("\n#", 1)[0]
    cells = set()
    for verdict, live, image in re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \|$", section, re.M):
        cells |= {(verdict, "live node")} if live.strip() != "—" else set()
        cells |= {(verdict, "image root")} if image.strip() != "—" else set()
    return cells


def judged(tmp_path: Path, case: Case) -> tuple[str, str | None, str | None]:
    """(verdict, the result's live value, its fix) for the case."""
    if case.boot_file is not None:
        folder = tmp_path / "etc" / "sysctl.d"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "60-test.conf").write_text(case.boot_file, encoding="utf-8")
    fs = RootFS(tmp_path)
    ctx = Context(live=case.column == "live node", protected=True, remediated=False)
    want = Wanted(case.key, REQUIRED_BY_KEY[case.key].value, True)
    result, _ = judge(want, case.live, read_plan(fs, "systemd"), read_plan(fs, "procps"), ctx)
    return result.verdict, result.live, result.fix


def test_the_cases_are_the_cells_of_the_documented_table() -> None:
    assert {(c.verdict, c.column) for c in CASES} == table()
    assert {verdict for verdict, _ in table()} == set(VERDICTS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.verdict}-{c.column.split()[0]}")
def test_each_row_of_the_table(tmp_path: Path, case: Case) -> None:
    verdict, live, fix = judged(tmp_path, case)
    assert verdict == case.verdict
    assert live == (case.live if isinstance(case.live, str) else None)
    assert (fix is None) == (verdict == "ok")


def test_nothing_set_is_ok_where_the_kernels_default_is_the_required_value(
    tmp_path: Path,
) -> None:
    for column in ("live node", "image root"):
        live = "0" if column == "live node" else None
        assert judged(tmp_path, Case("ok", column, OOM, live, None))[0] == "ok"


def test_an_image_has_no_latent_missing_or_unreadable_value(tmp_path: Path) -> None:
    """Without live values the live value given is not looked at: the next boot decides."""
    for live in ("0", None, Unreadable("cannot read: Permission denied")):
        case = Case("ok", "image root", PANIC, live, "kernel.panic = 10\n")
        assert judged(tmp_path, case)[0] == "ok"


def test_values_compare_as_the_kernel_parses_them(tmp_path: Path) -> None:
    """Base 0, as the docs say: a live 012 (octal) and a boot value 0xa are both ten."""
    assert judged(tmp_path, Case("ok", "live node", PANIC, "012", "kernel.panic = 0xa\n"))[0] == (
        "ok"
    )
