"""The in-place edit: a commented line keeps the old line whole, and nothing else moves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import REPO
from rke2image.fix.persist import comment_out, commentable


def test_only_the_given_lines_change_and_each_keeps_its_ending() -> None:
    data = b"# head\r\nkernel.panic = 0\r\nvm.panic_on_oom=1\nlast = 0"
    out = comment_out(data, [2, 4], "2026-12-04")
    assert out == (
        b"# head\r\n"
        b"# rke2image fix 2026-12-04 commented out: kernel.panic = 0\r\n"
        b"vm.panic_on_oom=1\n"
        b"# rke2image fix 2026-12-04 commented out: last = 0"
    )


def test_bytes_that_are_not_utf8_survive() -> None:
    data = b"kernel.panic = 0 # caf\xe9\n"
    assert comment_out(data, [1], "2026-12-04").endswith(b"kernel.panic = 0 # caf\xe9\n")


def test_only_settings_are_commentable() -> None:
    data = b"# comment\n; also\n\nkernel.panic = 0\n"
    assert [commentable(data, n) for n in range(0, 6)] == [False, False, False, False, True, False]


def test_fix_imports_neither_jsonschema_nor_jinja(tmp_path: Path) -> None:
    """fix runs from the zipapp on a bare node: stdlib, PyYAML and the audit only."""
    code = (
        "import sys\n"
        "from rke2image.cli.main import main\n"
        f"main(['fix', '--root', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'jinja2')"
        " or m.startswith(('rke2image.spec', 'rke2image.render')))\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr
