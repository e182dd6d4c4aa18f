"""Every repository path a comment or docstring names exists (docs/design.md, "Citations").

A *repository path* is a token that starts with one of the repository's top-level folders
(``TOP_FOLDERS``) followed by ``/``, or a bare file name ending in ``.md`` (no folder: a
file at the root, like ``README.md``). It ends at a space, a quote, a backtick or a
bracket; trailing punctuation (``.,:;``) and a ``::test`` or ``:LINE`` suffix are not part
of it. Globs (``*``, ``?``) and placeholders (``<name>``, ``{unit}``, a part in capitals
after a ``/``, as in ``tests/debroots/FLAVOUR.txt``) stand for any name: the path must then
match at least one file. A path right after another repository's name (``rancher/rke2
tests/docker/...``) is that repository's, not ours, as are the upstream sources of
``UPSTREAM`` (cited with their project's name nearby); a path with a ``.work`` or
``.venv`` part is built, not kept.

Comments are ``#`` (and ``//`` in HCL) comments; docstrings are Python's module, class
and function docstrings. The files searched are the tracked files of ``SCANNED``.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

from helpers import REPO

TOP_FOLDERS = (
    "src",
    "tests",
    "docs",
    "deploy",
    "bench",
    "scripts",
    "packer",
    "templates",
    "schemas",
    "examples",
)
# The folders whose comments are checked (examples/ too: its headers name its files),
# and the root's build files.
SCANNED = (
    "src",
    "tests",
    "bench",
    "deploy",
    "scripts",
    "packer",
    "templates",
    "examples",
    "pyproject.toml",
    "Makefile",
    "action.yml",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    ".ci",
)
DESIGN = REPO / "docs" / "design.md"
# A cited section: docs/design.md, "Audit" (or "Audit" right after, in parentheses).
_SECTION = re.compile(r'docs/design\.md,?\s*\(?"([^"]+)"')
_FOLDERS = "|".join(TOP_FOLDERS)
# A path token: a top-level folder and what follows it, or a bare *.md name at the root.
_PATH = re.compile(
    rf"(?<![\w./~$-])(?:(?:{_FOLDERS})/[^\s'\"`()\[\],;]*|[A-Za-z][\w-]*\.md)(?![\w/])"
)
# Another repository's name just before the path: "rancher/rke2 tests/docker/splitserver".
_UPSTREAM = re.compile(r"[\w.-]+/[\w.-]+\s+$")
_PLACEHOLDER = re.compile(r"<[^>/]*>|\{[^}/]*\}|(?<=/)[A-Z][A-Z_]*(?=[./]|$)")
_BUILT = frozenset({".work", ".venv"})
# Other projects' files cited by their own paths, each with its project.
UPSTREAM = {
    "src/sysctl/sysctl.c": "systemd",
    "src/basic/sysctl-util.c": "systemd",
    "src/basic/conf-files.c": "systemd",
    "src/sysctl.c": "procps",
    "docs/custom_plugin_monitor.md": "kubernetes/node-problem-detector",
}


def _tracked() -> list[Path]:
    """The files git tracks; in a copy without .git (the interpreter lanes), every file
    under the scanned places but build folders and bytecode."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", *SCANNED],
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        return [REPO / name for name in listed.stdout.decode().split("\0") if name]
    found = []
    for place in SCANNED:
        top = REPO / place
        if top.is_file():
            found.append(top)
            continue
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED_WALKING)
            found += [Path(folder) / f for f in sorted(files) if not f.endswith(".pyc")]
    return found


_SKIPPED_WALKING = frozenset({*_BUILT, "__pycache__", ".pytest_cache", ".hypothesis"})


def _python_text(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python file."""
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                found.append((node.body[0].lineno, doc))
    return found


_COMMENT = re.compile(r"(?:^|\s)(?:#|//)(.*)$")


def _other_text(source: str) -> list[tuple[int, str]]:
    """(line, text) of every ``#`` or ``//`` comment of a shell, YAML, HCL or TOML file."""
    return [
        (number, match.group(1))
        for number, line in enumerate(source.splitlines(), 1)
        for match in [_COMMENT.search(line)]
        if match
    ]


def _comments(path: Path) -> list[tuple[int, str]]:
    if path.suffix == ".json":
        return []
    source = path.read_text(encoding="utf-8", errors="replace")
    return _python_text(source) if path.suffix == ".py" else _other_text(source)


def repository_paths(text: str) -> list[str]:
    """The repository paths a comment names (see the module's docstring)."""
    paths = []
    for match in _PATH.finditer(text):
        if _UPSTREAM.search(text[: match.start()]):
            continue
        token = match.group(0).split("::")[0]
        token = re.sub(r"(:\d*)+$", "", token).rstrip(".:")
        if token not in UPSTREAM:
            paths.append(token)
    return paths


def exists(token: str) -> bool:
    if _BUILT.intersection(token.split("/")):
        return True
    pattern = _PLACEHOLDER.sub("*", token)
    if pattern == token and "*" not in token and "?" not in token:
        return (REPO / token.rstrip("/")).exists()
    return any(REPO.glob(pattern.rstrip("/")))


def _citations() -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(REPO)}:{line}", token)
        for path in _tracked()
        for line, text in _comments(path)
        for token in repository_paths(text)
    ]


def test_every_path_a_comment_names_exists() -> None:
    missing = [f"{where}: {token}" for where, token in _citations() if not exists(token)]
    assert not missing, "comments name files that do not exist:\n" + "\n".join(missing)


def test_every_section_a_comment_cites_is_a_heading_of_the_design() -> None:
    headings = {
        line.lstrip("#").strip()
        for line in DESIGN.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    cited = {
        (f"{path.relative_to(REPO)}:{line}", section)
        for path in _tracked()
        for line, text in _comments(path)
        for section in _SECTION.findall(" ".join(text.split()))
    }
    assert cited, "no comment cites a section of docs/design.md"
    missing = sorted(f"{where}: {section}" for where, section in cited if section not in headings)
    assert not missing, "sections cited but not in docs/design.md:\n" + "\n".join(missing)


def test_every_path_the_design_names_exists() -> None:
    named = repository_paths(DESIGN.read_text(encoding="utf-8"))
    assert "src/rke2image/paths.py" in named
    assert [p for p in named if not exists(p)] == []


def test_the_scan_finds_the_citations_it_should() -> None:
    """The scan is not vacuous: it finds this repository's design doc cited in src/."""
    cited = {token for where, token in _citations() if where.startswith("src/")}
    assert "docs/design.md" in cited
    assert len(_citations()) > 50


@pytest.mark.parametrize(
    ("comment", "paths"),
    [
        ('see docs/design.md, "Audit".', ["docs/design.md"]),
        ("(tests/unit/test_sysctld.py::test_x)", ["tests/unit/test_sysctld.py"]),
        ("README.md and CHANGES.md", ["README.md", "CHANGES.md"]),
        ("rancher/rke2 tests/docker/splitserver", []),
        ("/etc/rancher/rke2/config.yaml, /usr/src/linux", []),
        ("bench/bench_fleet.py: 0.43 s", ["bench/bench_fleet.py"]),
        ("examples/invalid/bad-key.yaml:14:7: error", ["examples/invalid/bad-key.yaml"]),
        ("systemd-sysctl (src/sysctl/sysctl.c)", []),
        (
            "`src/rke2image/render/targets/<target>.py`",
            ["src/rke2image/render/targets/<target>.py"],
        ),
    ],
)
def test_what_counts_as_a_repository_path(comment: str, paths: list[str]) -> None:
    assert repository_paths(comment) == paths


def test_placeholders_and_globs_must_match_a_file() -> None:
    assert exists("src/rke2image/render/targets/<target>.py")
    assert exists("examples/*.yaml")
    assert not exists("examples/<name>.toml")
    assert not exists("CHANGES.md")
    assert exists("tests/debroots/FLAVOUR.txt")  # a placeholder: bare.txt matches
    assert not exists("READMEE.md")
