"""The composite GitHub Action (action.yml), checked and run offline.

The metadata is checked against GitHub's rules for actions (required keys, a
composite ``runs``, ``shell`` on every run step) and against SchemaStore's
github-action schema that check-jsonschema ships. Then its steps run as the
runner runs them: each ``run:`` script with ``bash --noprofile --norc -eo
pipefail`` (GitHub's documented command for ``shell: bash``), its ``env:``
expressions filled from the inputs, GITHUB_OUTPUT, GITHUB_PATH and
GITHUB_STEP_SUMMARY as files, and GITHUB_PATH added to PATH for later steps. The
action's folder (``github.action_path``) is a copy of this checkout, so the install
step builds and installs rke2image from it, as the action's own ref does on GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from debroots import debian_root
from helpers import REPO, require_tool
from rke2image.resources import DATA_FOLDERS

ACTION = REPO / "action.yml"
RUNNER_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
ACTION_FILES = ("action.yml", "pyproject.toml", "README.md")
INPUTS = {"paths", "strict", "format", "sarif-file", "exclude", "version"}


def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_metadata_follows_githubs_rules_for_actions() -> None:
    data = action()
    for key in ("name", "description", "runs"):
        assert data.get(key), f"action.yml needs {key}"
    assert set(data["inputs"]) == INPUTS
    for name, spec in data["inputs"].items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name)
        assert spec.get("description"), name
        assert isinstance(spec.get("default", ""), str), f"{name}: defaults are strings"
    for name, spec in data["outputs"].items():
        assert spec.get("description") and spec.get("value"), name
    runs = data["runs"]
    assert runs["using"] == "composite"
    ids = [step["id"] for step in runs["steps"] if "id" in step]
    assert len(ids) == len(set(ids))
    for step in runs["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", f"step {step.get('name')} needs shell: bash"


def test_inputs_reach_scripts_only_through_env() -> None:
    """An expression pasted into `run:` is a script injection (a path named `$(curl ..)`)."""
    data = action()
    for step in data["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    declared = {f"inputs.{name}" for name in data["inputs"]} | {"github.action_path"}
    declared |= {
        f"steps.{s['id']}.outputs.{o}"
        for s in data["runs"]["steps"]
        if "id" in s
        for o in ("exit-code", "sarif-file")
    }
    used = set(EXPRESSION.findall(ACTION.read_text(encoding="utf-8")))
    assert used <= declared, used - declared


def test_check_jsonschema_accepts_the_action_metadata() -> None:
    tool = require_tool("check-jsonschema")
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_accepts_every_run_script(tmp_path: Path) -> None:
    tool = require_tool("shellcheck")
    for index, step in enumerate(action()["runs"]["steps"]):
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"], encoding="utf-8")
        done = subprocess.run(
            [tool, "--shell=bash", str(script)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout}"


@dataclass
class Runner:
    """Just enough of the Actions runner to run a composite action's steps."""

    action_path: Path
    temp: Path
    path_entries: list[str] = field(default_factory=list)

    def run_step(
        self, step: dict[str, Any], inputs: dict[str, str], workspace: Path, files: dict[str, Path]
    ) -> subprocess.CompletedProcess[str]:
        defaults = {k: v.get("default", "") for k, v in action()["inputs"].items()}
        values = {
            **{f"inputs.{k}": v for k, v in {**defaults, **inputs}.items()},
            "github.action_path": str(self.action_path),
        }
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("GITHUB_")
        }
        env.update(
            {
                k: EXPRESSION.sub(lambda m: values[m[1]], str(v))
                for k, v in step.get("env", {}).items()
            }
        )
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(workspace),
                "RUNNER_TEMP": str(self.temp),
                "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_SHA": "0123abcd",
                "GITHUB_SERVER_URL": "https://github.com",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            }
        )
        env.update({name: str(path) for name, path in files.items()})
        env["PATH"] = os.pathsep.join([*reversed(self.path_entries), env.get("PATH", "")])
        script = self.temp / f"{step['id']}.sh"
        script.write_text(step["run"], encoding="utf-8")
        done = subprocess.run(
            [*RUNNER_BASH, str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        added = files["GITHUB_PATH"].read_text(encoding="utf-8").split("\n")
        self.path_entries += [line for line in added if line and line not in self.path_entries]
        return done


def _step(step_id: str) -> dict[str, Any]:
    return next(s for s in action()["runs"]["steps"] if s.get("id") == step_id)


def _files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        name: folder / name.lower()
        for name in ("GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.touch()
    return files


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The install step, run once: the action's own checkout is what it installs."""
    require_tool("bash")
    root = tmp_path_factory.mktemp("action")
    action_path = root / "rke2image-action"
    for folder in ("src", *DATA_FOLDERS):
        shutil.copytree(
            REPO / folder,
            action_path / folder,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    for name in ACTION_FILES:
        shutil.copy2(REPO / name, action_path / name)
    temp = root / "runner-temp"
    temp.mkdir()
    runner = Runner(action_path, temp)
    files = _files(root / "install-files")
    done = runner.run_step(_step("install"), {}, root, files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^rke2image \d", done.stdout, re.MULTILINE), done.stdout
    assert runner.path_entries == [str(temp / "rke2image-venv" / "bin")]
    return runner


def forty_findings() -> str:
    nodes = "".join(
        f"    - {{name: bad-{i}, role: agent, kernel: {{sysctl: {{kernel.panic: 0}}}}}}\n"
        for i in range(40)
    )
    return (
        "apiVersion: rke2image/v1\nkind: Cluster\nmetadata: {name: big}\nspec:\n"
        "  server: https://cp.example.com:9345\n  defaults:\n    rke2:\n"
        "      version: v1.31.4+rke2r1\n      profile: cis\n"
        "      token: {file: /etc/rancher/rke2/token}\n  nodes:\n"
        "    - {name: cp-1, role: server, clusterInit: true}\n" + nodes
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A consumer repository: one good spec, one Cluster with 40 findings."""
    repo = tmp_path / "workspace"
    (repo / ".git").mkdir(parents=True)
    (repo / "specs").mkdir()
    shutil.copy(REPO / "examples" / "node.yaml", repo / "specs" / "node.yaml")
    (repo / "specs" / "big.yaml").write_text(forty_findings(), encoding="utf-8")
    return repo


def test_github_format_annotates_ten_and_summarises_all(
    runner: Runner, workspace: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path / "files")
    done = runner.run_step(_step("validate"), {"paths": "specs"}, workspace, files)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert any(line.startswith("::notice ") and "30 more" in line for line in lines)
    summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
    assert summary.count("](https://github.com/acme/infra/blob/0123abcd/specs/big.yaml#L") == 40
    assert outputs(files["GITHUB_OUTPUT"]) == {"exit-code": "1"}


def test_sarif_format_writes_the_sarif_file_and_the_summary(
    runner: Runner, workspace: Path, tmp_path: Path
) -> None:
    files = _files(tmp_path / "files")
    inputs = {
        "paths": "specs/big.yaml\nspecs/node.yaml",
        "format": "sarif",
        "sarif-file": "results.sarif",
    }
    done = runner.run_step(_step("validate"), inputs, workspace, files)
    assert done.returncode == 1, done.stderr
    document = json.loads((workspace / "results.sarif").read_text(encoding="utf-8"))
    (run,) = document["runs"]
    assert len(run["results"]) == 40
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"specs/big.yaml"}
    assert outputs(files["GITHUB_OUTPUT"]) == {"sarif-file": "results.sarif", "exit-code": "1"}
    assert "40 error(s)" in files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")


def test_exclude_and_strict_inputs(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    files = _files(tmp_path / "files")
    inputs = {"paths": "specs", "exclude": "specs/big.yaml\n*.draft.yaml\n", "strict": "true"}
    done = runner.run_step(_step("validate"), inputs, workspace, files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs(files["GITHUB_OUTPUT"]) == {"exit-code": "0"}
    assert "1 file(s) checked: 0 error(s), 0 warning(s)" in files["GITHUB_STEP_SUMMARY"].read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"format": "xml"}, "format must be github or sarif"),
        ({"strict": "yes"}, "strict must be true or false"),
        ({"paths": "specs/missing.yaml"}, "no such file"),
    ],
)
def test_bad_inputs_fail_with_exit_2(
    runner: Runner, workspace: Path, tmp_path: Path, inputs: dict[str, str], says: str
) -> None:
    files = _files(tmp_path / "files")
    done = runner.run_step(_step("validate"), inputs, workspace, files)
    assert done.returncode == 2
    assert says in done.stdout + done.stderr


def test_a_path_cannot_inject_shell(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    files = _files(tmp_path / "files")
    marker = tmp_path / "pwned"
    hostile = f"specs/node.yaml $(touch {marker}) `touch {marker}`"
    done = runner.run_step(_step("validate"), {"paths": hostile}, workspace, files)
    assert done.returncode == 2 and not marker.exists()


def _readme_workflow() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    (block,) = [b for b in blocks if "upload-sarif" in b]
    return block


def test_readme_workflow_is_a_valid_workflow_using_this_action(tmp_path: Path) -> None:
    tool = require_tool("check-jsonschema")
    workflow = tmp_path / "rke2image.yml"
    workflow.write_text(_readme_workflow(), encoding="utf-8")
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = yaml.safe_load(workflow.read_text())["jobs"]["validate"]["steps"]
    ours = next(s for s in steps if "rke2image/rke2image@" in s.get("uses", ""))
    assert set(ours["with"]) <= INPUTS
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == ours["with"]["sarif-file"]


def test_readme_documents_every_input() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z-]+)` \| [^|]* \| [^|]+ \|$", text, re.MULTILINE))
    assert documented >= INPUTS


@pytest.mark.host  # a Debian 11 root of its own
def test_the_python_check_passes_on_python_3_9_and_later(tmp_path: Path) -> None:
    """The first step checks the runner's python3: Debian 11's 3.9 (RHEL 9's platform
    Python is 3.9 too) and this machine's pass; ubuntu-22.04's 3.10 lies between."""
    check = _step("python")["run"]
    here = subprocess.run([*RUNNER_BASH, "-c", check], capture_output=True, text=True, check=False)
    assert here.returncode == 0, here.stdout + here.stderr
    root = debian_root("bullseye", "bare")
    script = Path(tempfile.mkdtemp(dir=root / "tmp")) / "check.sh"
    try:
        script.write_text(check, encoding="utf-8")
        inside = "/" + str(script.relative_to(root))
        there = subprocess.run(
            ["chroot", str(root), "env", "-i", "PATH=/usr/bin:/bin", *RUNNER_BASH, inside],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(script.parent)
    assert there.returncode == 0, there.stdout + there.stderr
    assert there.stdout.startswith("Python 3.9."), there.stdout
    assert "3.9 or later" in check and "actions/setup-python" in check
