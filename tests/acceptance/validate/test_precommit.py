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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO, require_tool
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
            [
                self.pre_commit,
                "try-repo",
                str(self.hook_repo),
                HOOK_ID,
                "--verbose",
                "--color",
                "never",
                "--files",
                *files,
            ],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )


def _git(cwd: Path, env: dict[str, str], *argv: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=rke2image tests",
            "-c",
            "user.email=tests@invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            *argv,
        ],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "PRE_COMMIT")) and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Consumer:
    require_tool("git")
    pre_commit = require_tool("pre-commit")
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
    pre_commit = require_tool("pre-commit")
    result = subprocess.run(
        [pre_commit, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
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
    diagnostic = (
        r"^specs/bad\.yaml:\d+:\d+: error: vm\.overcommit_memory is 0 .*"
        r"invalid kernel flag: vm/overcommit_memory.* \[required-sysctl\]$"
    )
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
    assert re.search(
        r"^rke2image validate\.+\(no files to check\)Skipped$", result.stdout, re.MULTILINE
    ), result.stdout


# --- dogfood: the repository's own .pre-commit-config.yaml runs the hook on examples/ ---

OWN_CONFIG = REPO / ".pre-commit-config.yaml"


def _hook(document: Any) -> dict[str, Any]:
    hooks = (
        document
        if isinstance(document, list)
        else [h for repo in document["repos"] for h in repo["hooks"]]
    )
    (hook,) = [h for h in hooks if h["id"] == HOOK_ID]
    assert isinstance(hook, dict)
    return hook


def test_own_config_is_valid_and_runs_the_published_hook() -> None:
    pre_commit = require_tool("pre-commit")
    result = subprocess.run(
        [pre_commit, "validate-config", str(OWN_CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    published = _hook(yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()))
    own = _hook(yaml.safe_load(OWN_CONFIG.read_text()))
    assert own["name"] == published["name"] and own["types"] == published["types"]
    # the same command, run from the project's venv instead of pre-commit's
    assert own["entry"] == f".venv/bin/{published['entry']}"


@pytest.fixture(scope="module")
def dogfood(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """A git copy of the repository's config and examples/, its .venv/bin/rke2image the
    one under test."""
    require_tool("git")
    pre_commit = require_tool("pre-commit")
    tmp = tmp_path_factory.mktemp("dogfood")
    env = _env(tmp)
    repo = tmp / "repo"
    shutil.copytree(REPO / "examples", repo / "examples")
    shutil.copy2(OWN_CONFIG, repo / ".pre-commit-config.yaml")
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "rke2image").symlink_to(require_tool("rke2image"))
    (repo / ".gitignore").write_text(".venv/\n")
    _git(repo, env, "init", "--quiet")
    _git(repo, env, "add", "--all")
    return repo, env, pre_commit


def _run_own_config(dogfood: tuple[Path, dict[str, str], str]) -> subprocess.CompletedProcess[str]:
    repo, env, pre_commit = dogfood
    return subprocess.run(
        [pre_commit, "run", HOOK_ID, "--all-files", "--verbose", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_own_config_passes_the_examples_and_skips_the_invalid_ones(
    dogfood: tuple[Path, dict[str, str], str],
) -> None:
    result = _run_own_config(dogfood)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^rke2image validate\.+Passed$", result.stdout, re.MULTILINE), result.stdout
    # node, cluster, flatcar and slemicro
    assert "4 file(s) checked: 0 error(s), 0 warning(s)" in result.stdout


def test_own_config_fails_a_broken_example(dogfood: tuple[Path, dict[str, str], str]) -> None:
    repo, env, _ = dogfood
    broken = repo / "examples" / "broken.yaml"
    shutil.copy(BAD_SPEC, broken)
    _git(repo, env, "add", "--all")
    try:
        result = _run_own_config(dogfood)
    finally:
        broken.unlink()
        _git(repo, env, "add", "--all")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "examples/broken.yaml:" in result.stdout and "[required-sysctl]" in result.stdout
