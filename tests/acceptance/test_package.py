"""The wheel as a user gets it: built, installed non-editable into a fresh venv, run elsewhere.

An editable install or PYTHONPATH=src hides data files missing from the wheel
(check-jsonschema had to add this check), so here nothing comes from the
checkout: the venv has no system site-packages, PYTHONPATH is dropped, and
every command runs from a folder outside the repository.

Slow (15-30 s here): it creates a venv, fetches hatchling and the
runtime dependencies from PyPI (pip's cache makes reruns quicker) and builds
the wheel with ``--no-build-isolation`` against that hatchling. It runs in the
main suite on purpose: it is the only test that sees what the wheel ships.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import REPO
from rke2image import __version__
from rke2image.resources import DATA_FOLDERS

GOOD_SPEC = REPO / "examples" / "node.yaml"
BAD_SPEC = REPO / "examples" / "invalid" / "required-sysctl.yaml"


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding the wheel, and a work folder outside the repository."""

    wheel: Path
    bin: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, check=False
        )


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _step(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("package")
    env = _clean_env()
    venv = root / "venv"
    _step([sys.executable, "-m", "venv", str(venv)], env, root)
    python = str(venv / "bin" / "python")
    _step([python, "-m", "pip", "install", "--quiet", "hatchling>=1.18"], env, root)
    dist = root / "dist"
    _step([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
           "--wheel-dir", str(dist), str(REPO)], env, root)
    wheels = sorted(dist.glob("rke2image-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    _step([python, "-m", "pip", "install", "--quiet", str(wheels[0])], env, root)
    workdir = root / "elsewhere"
    workdir.mkdir()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Installed(wheels[0], venv / "bin", workdir, env)


def _repo_files(folder: str) -> list[str]:
    base = REPO / folder
    return sorted(
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


@pytest.mark.parametrize("folder", DATA_FOLDERS)
def test_wheel_ships_every_file_of_the_data_folder(installed: Installed, folder: str) -> None:
    expected = _repo_files(folder)
    assert expected, f"{folder}/ is empty in the checkout"
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = [f for f in expected if f"rke2image/_data/{folder}/{f}" not in names]
    assert missing == [], f"missing from the wheel under rke2image/_data/{folder}/"


def test_wheel_declares_the_console_script(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = wheel.read(entry_points).decode()
    assert re.search(r"^rke2image\s*=\s*rke2image\.cli\.main:main$", text, re.MULTILINE), text


def test_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    code = ("import rke2image, rke2image.resources as r; print(rke2image.__file__); "
            "print(*(r.data_dir(name) for name in r.DATA_FOLDERS), sep='\\n')")
    result = installed.run(str(installed.bin / "python"), "-W", "error", "-c", code)
    assert result.returncode == 0, result.stderr
    venv = installed.bin.parent.resolve()
    for line in result.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(venv), line
        assert not Path(line).resolve().is_relative_to(REPO), line


def test_console_script_version(installed: Installed) -> None:
    result = installed.run("rke2image", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rke2image {__version__}"


def _checkout_schema() -> dict[str, object]:
    """What `schema` prints, from the checkout: node-spec with the other files under $defs."""
    files = {p.name: json.loads(p.read_text(encoding="utf-8"))
             for p in (REPO / "schemas").glob("*.json")}
    main = files.pop("node-spec.schema.json")
    main.setdefault("$defs", {}).update(files)
    assert isinstance(main, dict)
    return main


def test_console_script_schema_is_the_shipped_schema(installed: Installed) -> None:
    result = installed.run("rke2image", "schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == _checkout_schema()


def test_python_m_validate_accepts_a_good_spec(installed: Installed) -> None:
    shutil.copy(GOOD_SPEC, installed.workdir / "node.yaml")
    result = installed.run(str(installed.bin / "python"), "-m", "rke2image", "validate", "node.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "1 file(s) checked: 0 error(s)" in result.stderr


def _documented_diagnostics(spec: Path, shown_as: str) -> list[str]:
    """The lines an invalid example's header comment says `validate` prints."""
    lines = spec.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Running ")) + 1
    end = lines.index("# ---")
    return [line[2:].replace(f"examples/invalid/{spec.name}", shown_as) for line in lines[start:end]]


def test_python_m_validate_reports_a_bad_spec(installed: Installed) -> None:
    shutil.copy(BAD_SPEC, installed.workdir / "bad.yaml")
    result = installed.run(str(installed.bin / "python"), "-m", "rke2image", "validate", "bad.yaml")
    expected = _documented_diagnostics(BAD_SPEC, "bad.yaml")
    assert expected, f"{BAD_SPEC.name} documents no diagnostics"
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == expected


def test_render_finds_the_templates_in_the_wheel(installed: Installed) -> None:
    shutil.copy(GOOD_SPEC, installed.workdir / "render.yaml")
    result = installed.run("rke2image", "render", "render.yaml", "-o", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    user_data = installed.workdir / "out" / "cp-1" / "user-data"
    assert user_data.read_text(encoding="utf-8").startswith("#cloud-config")
