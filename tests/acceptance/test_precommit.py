"""The pre-commit hook, run for real by pre-commit against a consumer repository.

``pre-commit try-repo`` clones the hook repository at a commit, so the test
copies what the hook's install needs from the checkout (uncommitted edits
included) into a temporary git repository and commits it there; that works the same in
CI and in a working tree with local changes. pre-commit builds the hook's venv
from that copy with pip (hatchling and the dependencies come from PyPI), in a
PRE_COMMIT_HOME under tmp: slow (20-30 s here), paid once per module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import REPO
from rke2image.resources import DATA_FOLDERS

HOOK_ID = "rke2image-validate"
BAD_SPEC = REPO / "examples" / "invalid" / "required-sysctl.yaml"
UNRELATED_YAML = """\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
# What pip needs to build and install the hook from the copy: the package, its
# data folders and the project metadata. Nothing else is copied (e2e/ work
# folders can hold whole disk images).
HOOK_REPO_FILES = (".pre-commit-hooks.yaml", "pyproject.toml", "README.md")
HOOK_REPO_FOLDERS = ("src", *DATA_FOLDERS)
SKIPPED_COPY = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Consumer:
    """A git repository that uses the hook, and how to run pre-commit in it."""

    pre_commit: str
    hook_repo: Path
    path: Path
    env: dict[str, str]

    def try_repo(self, *files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.pre_commit, "try-repo", str(self.hook_repo), HOOK_ID, "--verbose",
             "--color", "never", "--files", *files],
            cwd=self.path, env=self.env, capture_output=True, text=True, check=False,
        )


def _git(cwd: Path, env: dict[str, str], *argv: str) -> None:
    subprocess.run(["git", "-c", "user.name=rke2image tests", "-c", "user.email=tests@invalid",
                    "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *argv],
                   cwd=cwd, env=env, check=True, capture_output=True)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PRE_COMMIT")) and k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _require_tool(name: str) -> str:
    """The tool beside this interpreter (a venv's), else on PATH; CI=true fails, locally skips."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI=true: a missing tool is a failure)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Consumer:
    _require_tool("git")
    pre_commit = _require_tool("pre-commit")
    tmp = tmp_path_factory.mktemp("precommit")
    env = _env(tmp)
    hook_repo = tmp / "rke2image"
    for folder in HOOK_REPO_FOLDERS:
        shutil.copytree(REPO / folder, hook_repo / folder, ignore=SKIPPED_COPY, symlinks=True)
    for name in HOOK_REPO_FILES:
        shutil.copy2(REPO / name, hook_repo / name)
    _git(hook_repo, env, "init", "--quiet")
    _git(hook_repo, env, "add", "--all")
    _git(hook_repo, env, "commit", "--quiet", "--no-verify", "-m", "snapshot for try-repo")
    project = tmp / "project"
    (project / "specs").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "node.yaml", project / "specs" / "good.yaml")
    shutil.copy(BAD_SPEC, project / "specs" / "bad.yaml")
    (project / "ci.yml").write_text(UNRELATED_YAML, encoding="utf-8")
    (project / "notes.txt").write_text("apiVersion: rke2image/v1\n", encoding="utf-8")
    _git(project, env, "init", "--quiet")
    _git(project, env, "add", "--all")
    return Consumer(pre_commit, hook_repo, project, env)


def test_hook_manifest_is_valid() -> None:
    pre_commit = _require_tool("pre-commit")
    result = subprocess.run([pre_commit, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hook_passes_a_good_spec_and_leaves_other_yaml_alone(consumer: Consumer) -> None:
    result = consumer.try_repo("specs/good.yaml", "ci.yml", "notes.txt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^rke2image validate\.+Passed$", result.stdout, re.MULTILINE), result.stdout
    # ci.yml is handed over but skipped by --only-specs; notes.txt is not YAML.
    assert "1 file(s) checked: 0 error(s), 0 warning(s)" in result.stdout


def test_hook_fails_a_bad_spec_with_its_diagnostic(consumer: Consumer) -> None:
    result = consumer.try_repo("specs/good.yaml", "specs/bad.yaml", "ci.yml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^rke2image validate\.+Failed$", result.stdout, re.MULTILINE), result.stdout
    diagnostic = (r"^specs/bad\.yaml:\d+:\d+: error: vm\.overcommit_memory is 0 .*"
                  r"invalid kernel flag: vm/overcommit_memory.* \[required-sysctl\]$")
    assert re.search(diagnostic, result.stdout, re.MULTILINE), result.stdout
    assert "specs/good.yaml:" not in result.stdout


def test_hook_passes_when_no_yaml_file_is_a_spec(consumer: Consumer) -> None:
    result = consumer.try_repo("ci.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^rke2image validate\.+Passed$", result.stdout, re.MULTILINE), result.stdout
    assert "0 file(s) checked" in result.stdout


def test_hook_is_skipped_without_yaml(consumer: Consumer) -> None:
    result = consumer.try_repo("notes.txt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^rke2image validate\.+\(no files to check\)Skipped$", result.stdout,
                     re.MULTILINE), result.stdout
