"""`validate --exclude GLOB`: leave files or folders out of a check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import REPO
from rke2image.cli.main import main
from rke2image.spec.exclude import excluded

ROOT = REPO


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs" / "drafts").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "node.yaml", tmp_path / "specs" / "good.yaml")
    shutil.copy(
        ROOT / "examples" / "invalid" / "server-missing.yaml",
        tmp_path / "specs" / "drafts" / "wip.yaml",
    )
    shutil.copy(
        ROOT / "examples" / "invalid" / "secret-literal.yaml", tmp_path / "specs" / "old.draft.yaml"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_folders_and_names_are_excluded(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, "specs")
    assert code == 1 and "wip.yaml" in out and "old.draft.yaml" in out
    code, out, err = validate(
        capsys, "--exclude", "specs/drafts", "--exclude", "*.draft.yaml", "specs"
    )
    assert (code, out) == (0, "")
    assert "1 file(s) checked" in err


def test_named_files_and_absolute_paths_are_excluded_too(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wip = tree / "specs" / "drafts" / "wip.yaml"
    code, out, err = validate(capsys, "--exclude", "specs/drafts/*", str(wip), "specs/good.yaml")
    assert (code, out) == (0, "") and "1 file(s) checked" in err


def test_excluding_everything_is_a_usage_error_like_a_folder_without_specs(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate(capsys, "--exclude", "specs", "specs")
    assert (code, out) == (2, "")
    assert err == (
        "rke2image: error: --exclude specs leaves no spec to check: name fewer or narrower globs\n"
    )


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a/b/c.yaml", "a/b", True),
        ("a/b/c.yaml", "a/b/", True),
        ("a/b/c.yaml", "./a/*", True),
        ("a/b/c.yaml", "c.yaml", True),
        ("a/b/c.yaml", "b", True),
        ("a/b/c.yaml", "a/c.yaml", False),
        ("a/bc/c.yaml", "a/b", False),
        ("a/b/c.yaml", "*.yml", False),
    ],
)
def test_glob_rules(path: str, pattern: str, expected: bool) -> None:
    assert excluded(Path(path), [pattern]) is expected
