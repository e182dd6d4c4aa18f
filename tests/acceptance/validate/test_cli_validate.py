"""`rke2image validate` as CI and editors use it: formats, exit codes, many files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from rke2image.cli.main import main

ROOT = REPO
EXAMPLES = ROOT / "examples"
INVALID = EXAMPLES / "invalid"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_specs_exit_0_and_print_no_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(EXAMPLES / "node.yaml"), str(EXAMPLES / "cluster.yaml"))
    assert (code, out) == (0, "")
    assert "2 file(s) checked: 0 error(s), 0 warning(s)" in err


def test_every_problem_of_every_file_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    files = [INVALID / "unknown-key.yaml", INVALID / "required-sysctl.yaml", EXAMPLES / "node.yaml"]
    code, out, _ = run(capsys, *map(str, files))
    assert code == 1
    lines = out.splitlines()
    assert len([line for line in lines if "unknown-key.yaml" in line]) == 3
    assert len([line for line in lines if "required-sysctl.yaml" in line]) == 2


def test_text_lines_have_the_editor_form(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(INVALID / "required-sysctl.yaml"))
    first = out.splitlines()[0]
    file, line, col, rest = first.split(":", 3)
    assert file.endswith("required-sysctl.yaml") and line.isdigit() and col.isdigit()
    assert rest.startswith(" error: ") and rest.endswith("[required-sysctl]")


def test_json_format_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(INVALID / "unknown-key.yaml"))
    problems = json.loads(out)
    assert code == 1
    assert set(problems[0]) == {"file", "line", "column", "severity", "rule", "message", "pointer"}
    assert {p["pointer"] for p in problems} >= {"/spec/rol", "/spec/rke2/tokn"}


def test_json_format_prints_an_empty_list_when_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--format", "json", str(EXAMPLES / "node.yaml"))[:2] == (0, "[]\n")


def test_github_format_annotates(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--format", "github", str(INVALID / "secret-literal.yaml"))
    assert out.startswith("::error file=")
    assert ",line=15,col=5," in out.splitlines()[0]


def test_warnings_pass_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(INVALID / "required-sysctl-warning.yaml")
    assert run(capsys, path)[0] == 0
    assert run(capsys, "--strict", path)[0] == 1


def test_folders_are_searched_for_specs_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(EXAMPLES / "node.yaml", tmp_path / "a.yaml")
    (tmp_path / "sub").mkdir()
    shutil.copy(INVALID / "server-missing.yaml", tmp_path / "sub" / "b.yml")
    (tmp_path / "values.yaml").write_text("replicas: 3\n")
    code, out, err = run(capsys, str(tmp_path))
    assert code == 1
    assert "b.yml" in out and "values.yaml" not in out
    assert "2 file(s) checked" in err


def test_only_specs_skips_other_named_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "ci.yaml"
    other.write_text("on: push\n")
    assert run(capsys, "--only-specs", str(other))[0] == 0
    assert run(capsys, str(other))[0] == 1  # named without the flag: checked, and not a spec


def test_a_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "/nonexistent/spec.yaml")
    assert (code, out) == (2, "")
    assert "/nonexistent/spec.yaml" in err and "Traceback" not in err


def test_a_folder_without_specs_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and "no rke2image/v1 spec" in err


def test_an_unreadable_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.symlink_to(tmp_path / "gone.yaml")  # root reads any mode; a dangling link cannot be read
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert "spec.yaml" in err


def test_bad_flag_exits_2_through_the_real_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rke2image", "validate", "--format", "xml", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_real_process_exit_codes_and_no_traceback() -> None:
    for path, expected in [
        (EXAMPLES / "node.yaml", 0),
        (INVALID / "yaml-alias-bomb.yaml", 1),
        (INVALID / "yaml-encoding.yaml", 1),
        (ROOT / "nope.yaml", 2),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "rke2image", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == expected, (path, done.stderr)
        assert "Traceback" not in done.stderr


def test_folder_search_finds_quoted_flow_and_other_version_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text('"apiVersion": "rke2image/v1"\nkind: NodeSpec\n')
    (tmp_path / "b.YML").write_text('{"apiVersion": "rke2image/v1", "kind": "NodeSpec"}\n')
    (tmp_path / "c.yaml").write_text("apiVersion: rke2image/v2\nkind: NodeSpec\n")
    code, out, err = run(capsys, str(tmp_path))
    assert code == 1 and "3 file(s) checked" in err
    assert "c.yaml" in out and "rke2image/v2" in out


def test_a_pipe_is_refused_instead_of_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    code, _, err = run(capsys, str(fifo))
    assert code == 2 and "not a regular file" in err


def test_one_render_refuses_a_node_name_used_in_two_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, str(EXAMPLES / "node.yaml"), str(EXAMPLES / "cluster.yaml"))[0] == 0
    code = main(
        [
            "render",
            str(EXAMPLES / "node.yaml"),
            str(EXAMPLES / "cluster.yaml"),
            "-o",
            str(tmp_path / "o"),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1 and "examples/cluster.yaml:" in err and "also used in" in err
    assert not (tmp_path / "o").exists()
