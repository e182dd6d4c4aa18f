"""`make dist`: the same bytes twice, and a zipapp that runs audit and fleet on a Python with
nothing installed (``-I -S``: no site-packages, no environment), the same as the installed
command, while validate, render and build say in one line what to install."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from acceptance.dist.built import make_dist, zipapp_of
from acceptance.deploy.roots import break_live, break_next_boot, compliant_root, proc_sys
from helpers import EXAMPLES

# hatchling 1.33 (the pinned builder) needs Python 3.10+: a release job of this machine
pytestmark = pytest.mark.host

# Libraries the zipapp leaves out: compiled parts (jsonschema's rpds-py) or not needed
# by audit, fleet and fix.
LEFT_OUT = {"jsonschema", "jinja2", "packerpy", "referencing", "markupsafe"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dist(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home of its own, so the zipapp's unpack cache starts empty."""
    return tmp_path_factory.mktemp("home")


def run_zipapp(zipapp: Path, home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", str(zipapp), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def run_installed(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rke2image", *argv], capture_output=True, text=True, check=False
    )


def without_time(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    document.pop("generated")
    return document


def test_make_dist_twice_gives_the_same_bytes(dist: Path, tmp_path: Path) -> None:
    again = make_dist(tmp_path / "again")
    names = sorted(p.name for p in dist.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert [n for n in names if not n.startswith(".")] == names
    for name in names:
        assert (dist / name).read_bytes() == (again / name).read_bytes(), name


def test_sha256sums_lists_the_wheel_the_sdist_and_the_zipapp(dist: Path) -> None:
    listed = {}
    for line in (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ")
        listed[name] = digest
    assert sorted(listed) == sorted(p.name for p in dist.iterdir() if p.name != "SHA256SUMS")
    assert {Path(n).suffix for n in listed} == {".whl", ".gz", ".pyz"}
    for name, digest in listed.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name


def test_the_zipapp_is_one_executable_file_of_pure_python(dist: Path) -> None:
    zipapp = zipapp_of(dist)
    assert zipapp.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert zipapp.stat().st_mode & 0o111
    with zipfile.ZipFile(zipapp) as zipped:
        names = zipped.namelist()
    assert "__main__.py" in names
    assert "yaml/__init__.py" in names and "yaml/LICENSE" in names
    assert "rke2image/cli/audit.py" in names and "rke2image/_data/schemas" not in names
    assert not [n for n in names if n.endswith((".so", ".pyd", ".pyc"))]
    assert not {n.split("/")[0] for n in names} & LEFT_OUT


def test_audit_and_fleet_import_nothing_the_zipapp_leaves_out(dist: Path, home: Path) -> None:
    """Every module of the package is imported from the zip with no site-packages; only
    those of validate, render and build may fail, and only for a library left out."""
    probe = f"""
import importlib, json, pkgutil, sys, zipimport
sys.path.insert(0, {str(zipapp_of(dist))!r})
import rke2image
failed = {{}}
for module in pkgutil.walk_packages(rke2image.__path__, "rke2image."):
    if module.name.endswith("__main__"):  # runs the command line
        continue
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as error:
        failed[module.name] = error.name
print(json.dumps({{"failed": failed, "loaded": sorted(sys.modules),
                  "from": type(rke2image.__loader__).__name__}}))
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["from"] == "zipimporter"
    assert {name.partition(".")[0] for name in found["failed"].values()} <= LEFT_OUT
    needs_nothing = tuple(
        f"rke2image.{name}"
        for name in ("audit", "fleet", "fix", "cli.audit", "cli.fleet", "cli.fix", "cli.main")
    )
    assert [m for m in found["failed"] if m.startswith(needs_nothing)] == []
    assert "rke2image.cli.audit" in found["loaded"] and "yaml" in found["loaded"]


@pytest.mark.parametrize("command", ["validate", "render", "build"])
def test_commands_that_need_more_say_what_to_install(
    dist: Path, home: Path, tmp_path: Path, command: str
) -> None:
    argv = [command, str(EXAMPLES / "node.yaml")]
    if command == "render":
        argv += ["-o", str(tmp_path / "out")]
    result = run_zipapp(zipapp_of(dist), home, *argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "pip install rke2image" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("broken", [None, break_live, break_next_boot])
def test_zipapp_audit_prints_the_installed_audits_json(
    dist: Path, home: Path, tmp_path: Path, broken: Any
) -> None:
    root = compliant_root(tmp_path)
    if broken:
        broken(root)
    argv = ["audit", "--root", str(root), "--proc-sys", str(proc_sys(root)), "--format", "json"]
    installed, zipped = run_installed(*argv), run_zipapp(zipapp_of(dist), home, *argv)
    assert (zipped.returncode, zipped.stderr) == (installed.returncode, installed.stderr)
    assert without_time(zipped.stdout) == without_time(installed.stdout)
    # a second start runs from the unpacked cache: the same again
    again = run_zipapp(zipapp_of(dist), home, *argv)
    assert without_time(again.stdout) == without_time(installed.stdout)
    cache = home / ".cache" / "rke2image"
    (unpacked,) = cache.glob("zipapp-*")
    assert (unpacked / ".complete").is_file() and (unpacked / "yaml" / "__init__.py").is_file()
    assert cache.stat().st_mode & 0o777 == 0o700


def test_zipapp_fleet_prints_the_installed_fleets_report(
    dist: Path, home: Path, tmp_path: Path
) -> None:
    audits = tmp_path / "audits"
    audits.mkdir()
    for name, broken in (("cp-1", None), ("cp-2", break_live), ("cp-3", None)):
        root = compliant_root(tmp_path / name, hostname=name)
        if broken:
            broken(root)
        argv = ["audit", "--root", str(root), "--proc-sys", str(proc_sys(root)), "--format"]
        (audits / f"{name}.json").write_text(run_installed(*argv, "json").stdout)
    for form in ("json", "text", "markdown"):
        argv = ["fleet", str(audits), "--now", "2026-12-04T12:00:00Z", "--format", form]
        installed, zipped = run_installed(*argv), run_zipapp(zipapp_of(dist), home, *argv)
        assert installed.returncode == 1
        assert (zipped.returncode, zipped.stdout, zipped.stderr) == (
            installed.returncode,
            installed.stdout,
            installed.stderr,
        )


def test_without_a_home_to_write_it_runs_from_the_zip(dist: Path, tmp_path: Path) -> None:
    argv = ["audit", "--root", str(compliant_root(tmp_path)), "--format", "json"]
    installed = run_installed(*argv)
    zipped = run_zipapp(zipapp_of(dist), Path("/dev/null"), *argv)  # a home that is a file
    assert (zipped.returncode, zipped.stderr) == (installed.returncode, installed.stderr)
    assert without_time(zipped.stdout) == without_time(installed.stdout)


def test_a_cache_folder_someone_else_owns_is_never_used(dist: Path, tmp_path: Path) -> None:
    """Code another user could have placed is not imported: it runs from the zip."""
    home = tmp_path / "home"
    cache = home / ".cache" / "rke2image"
    cache.mkdir(parents=True, mode=0o700)
    os.chown(cache, os.geteuid() + 1, -1)
    result = run_zipapp(zipapp_of(dist), home, "--version")
    assert result.returncode == 0 and result.stdout.startswith("rke2image "), result.stderr
    assert list(cache.iterdir()) == []
