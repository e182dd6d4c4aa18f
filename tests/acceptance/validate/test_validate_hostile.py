"""validate's PR formats under file names a fork controls (issue 22, items 11 and 15): no
github-format line carries a line break, SARIF names no runner path and takes any bytes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from helpers import REPO
from rke2image.cli.main import main

INVALID = REPO / "examples" / "invalid" / "required-sysctl.yaml"
FORGED = "::error file=release.yml,line=1::forged"  # a file name holds no slash


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["github", "text"])
def test_a_file_name_with_a_newline_prints_no_workflow_command(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for index in range(11):  # more errors than GitHub annotates: the rest print as text
        shutil.copy(INVALID, tmp_path / f"a{index:02}.yaml")
    shutil.copy(INVALID, tmp_path / f"z\n{FORGED}\r\n\u2028x.yaml")
    code, out, _ = run(capsys, "validate", "--format", fmt, str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    assert FORGED not in lines and not any(line.startswith(FORGED) for line in lines)
    assert not any(c in out for c in "\r\u2028\x85")
    if fmt == "github":
        assert sum(line.startswith("::error ") for line in lines) == 10
        assert any("z\\x0a::error file=release.yml" in line for line in lines)


def test_sarif_takes_a_file_name_that_is_not_utf8_and_names_no_runner_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    with open(os.path.join(os.fsencode(repo), b"spec-\xff.yaml"), "wb") as raw:
        raw.write(INVALID.read_bytes())
    outside = tmp_path / "elsewhere" / "spec.yaml"
    outside.parent.mkdir()
    shutil.copy(INVALID, outside)
    code, out, err = run(capsys, "validate", "--format", "sarif", ".", str(outside))
    assert code == 1, err
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(out)["runs"][0]["results"]
        for location in result["locations"]
    }
    # the display name validate gives a name that is not UTF-8 (spec-\xff.yaml), encoded
    assert uris == {"spec-%5Cxff.yaml", "spec.yaml"}
    assert str(tmp_path) not in out and "file://" not in out


def test_an_empty_root_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--root", ""])
    assert exited.value.code == 2
    assert "--root is empty: name the folder" in capsys.readouterr().err
