"""``make dist``: the wheel, the sdist, ``rke2image-VERSION.pyz`` and ``SHA256SUMS``.

The same commit gives the same bytes: every timestamp is ``SOURCE_DATE_EPOCH`` (the
commit's time unless set), the zipapp's members are sorted with fixed modes, and the
builder is pinned (hatchling in pyproject's ``test`` extra, PyYAML as this venv has it).

The zipapp carries the wheel's whole ``rke2image`` package (so a new command such as
``fix`` is in it without a list to update here) and PyYAML's pure-Python modules,
nothing compiled; ``rke2image/_zipapp.py`` becomes its ``__main__.py``. Commands whose
libraries it lacks (validate, render and build need jsonschema and Jinja2) say so.

Usage: python scripts/dist.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHEBANG = b"#!/usr/bin/env python3\n"
LAUNCHER = "rke2image/_zipapp.py"
ZIP_EPOCH_FLOOR = 315532800  # 1980-01-01: zip cannot say earlier


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, or the time of the commit checked out."""
    given = os.environ.get("SOURCE_DATE_EPOCH")
    if given:
        return int(given)
    result = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%ct"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def build_wheel_and_sdist(out: Path, epoch: int) -> tuple[Path, Path]:
    """hatchling through ``build``, without isolation: the pinned hatchling of this venv."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    argv = [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel"]
    subprocess.run(
        [*argv, "--outdir", str(out), str(REPO)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    (wheel,) = out.glob("rke2image-*.whl")
    (sdist,) = out.glob("rke2image-*.tar.gz")
    return wheel, sdist


def wheel_members(wheel: Path) -> dict[str, bytes]:
    """The package as the wheel ships it, data folders included; no dist-info."""
    with zipfile.ZipFile(wheel) as zipped:
        return {
            name: zipped.read(name)
            for name in zipped.namelist()
            if name.startswith("rke2image/") and not name.endswith("/")
        }


def pyyaml_members() -> dict[str, bytes]:
    """PyYAML's pure-Python modules and licence from this venv (not libyaml's binding)."""
    dist = metadata.distribution("PyYAML")
    members: dict[str, bytes] = {}
    for file in dist.files or ():
        path = file.as_posix()
        if path.startswith("yaml/") and path.endswith(".py") and path != "yaml/cyaml.py":
            members[path] = Path(str(dist.locate_file(file))).read_bytes()
        elif path.endswith(".dist-info/LICENSE") or path.endswith("licenses/LICENSE"):
            members["yaml/LICENSE"] = Path(str(dist.locate_file(file))).read_bytes()
    if "yaml/__init__.py" not in members:
        raise SystemExit("dist.py: PyYAML's pure-Python modules are not in this venv")
    members["yaml/VERSION"] = f"{dist.version}\n".encode()
    return members


def build_id(members: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(members):
        digest.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
    return digest.hexdigest()[:16]


def launcher(members: dict[str, bytes]) -> bytes:
    source = members[LAUNCHER].decode()
    placeholder = 'BUILD_ID = "unbuilt"'
    if placeholder not in source:
        raise SystemExit(f"dist.py: {LAUNCHER} has no {placeholder!r} line")
    return source.replace(placeholder, f'BUILD_ID = "{build_id(members)}"').encode()


def write_zipapp(path: Path, members: dict[str, bytes], epoch: int) -> None:
    """A zipapp with sorted members, one timestamp, fixed modes: the same bytes each time."""
    stamp = time.gmtime(max(epoch, ZIP_EPOCH_FLOOR))[:6]
    entries = {**members, "__main__.py": launcher(members)}
    with path.open("wb") as out:
        out.write(SHEBANG)
        with zipfile.ZipFile(out, "w") as zipped:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                info.create_system = 3  # Unix, whatever the building machine
                zipped.writestr(info, entries[name], compresslevel=9)
    path.chmod(0o755)


def write_sums(out: Path, files: Iterable[Path]) -> Path:
    lines = [f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in files]
    sums = out / "SHA256SUMS"
    sums.write_text("".join(sorted(lines, key=lambda line: line[66:])), encoding="utf-8")
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    args = parser.parse_args(argv)
    epoch = source_date_epoch()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for pattern in ("rke2image-*.whl", "rke2image-*.tar.gz", "rke2image-*.pyz", "SHA256SUMS"):
        for old in out.glob(pattern):  # an earlier version's; the air-gap archive stays
            old.unlink()
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=out) as staging:
        wheel, sdist = build_wheel_and_sdist(Path(staging), epoch)
        members = {**wheel_members(wheel), **pyyaml_members()}
        version = wheel.name.split("-")[1]
        built = [wheel.replace(out / wheel.name), sdist.replace(out / sdist.name)]
    zipapp = out / f"rke2image-{version}.pyz"
    write_zipapp(zipapp, members, epoch)
    sums = write_sums(out, [*built, zipapp])
    for path in [*built, zipapp, sums]:
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
