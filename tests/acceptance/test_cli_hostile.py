"""The CLI under hostile input: random arguments and bytes, closed or full outputs,
file names that are not UTF-8. No traceback ever, and no known input reaches the
last-resort handler in main (it would print "internal error")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from rke2image.cli import main as cli_main
from rke2image.cli.main import main

ROOT = REPO
NODE = ROOT / "examples" / "node.yaml"
INVALID = ROOT / "examples" / "invalid" / "required-sysctl.yaml"
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def no_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any exception that reaches main's last resort fails the test."""

    def fail(error: Exception) -> int:
        raise AssertionError(f"reached the last-resort handler: {error!r}") from error

    monkeypatch.setattr(cli_main, "last_resort", fail)


def run_main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exited:  # argparse: --help, --version, usage errors
        return int(exited.code or 0)


def test_the_last_resort_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_argv: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli_main, "build_parser", broken)
    assert main(["validate", str(NODE)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: boom" in err


words = st.one_of(
    st.sampled_from(
        [
            "validate",
            "render",
            "build",
            "schema",
            "-o",
            "--output",
            "--check",
            "--baked",
            "--force",
            "--format",
            "json",
            "github",
            "text",
            "sarif",
            "--strict",
            "--only-specs",
            "--dry-run",
            "--only",
            "qemu",
            "--help",
            "--version",
            "--",
            "-",
            "",
            ".",
            "/",
            "/dev/null",
            "/nonexistent",
            str(NODE),
            str(INVALID),
            str(ROOT / "examples"),
            "\x00",
            "-x",
        ]
    ),
    st.text(max_size=8),
)


@SETTINGS
@given(st.lists(words, max_size=6))
def test_random_arguments_never_reach_the_last_resort(
    tmp_path: Path,
    no_last_resort: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    if "build" in argv and "--dry-run" not in argv:
        argv = [a for a in argv if a != "build"] or ["schema"]  # never start a real bake
    code = run_main(argv)
    assert code in (0, 1, 2, 130)
    assert "Traceback" not in capsys.readouterr().err


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from(["validate", "render"]))
def test_random_bytes_never_reach_the_last_resort(
    tmp_path: Path,
    no_last_resort: None,
    capsys: pytest.CaptureFixture[str],
    raw: bytes,
    command: str,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"apiVersion: rke2image/v1\n" + raw)
    extra = ["-o", str(tmp_path / "out"), "--force"] if command == "render" else []
    assert run_main([command, str(spec), *extra]) in (0, 1, 2)
    capsys.readouterr()


def cli(
    *args: str, stdout: Any = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "rke2image", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [["validate", "--format", "json", str(INVALID)], ["schema"], ["validate", "--help"]]
)
def test_a_full_disk_on_stdout_is_exit_2_in_one_line(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        result = cli(*args, stdout=full)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "rke2image: error: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.parametrize("args", [["validate", "--format", "json", str(INVALID)], ["schema"]])
def test_a_closed_pipe_on_stdout_is_exit_2_in_one_line(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: every write is EPIPE
    try:
        result = cli(*args, stdout=write)
    finally:
        os.close(write)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "rke2image: error: cannot write to standard output: Broken pipe\n"
    )


@pytest.mark.parametrize("locale", ["C", "POSIX", "C.UTF-8", "en_US.ISO-8859-1"])
@pytest.mark.parametrize("name", [b"spec-\xff.yaml", b"\xe9t\xe9.yaml", b"\xed\xa0\x80.yaml"])
def test_file_names_that_are_not_utf8_print_in_any_locale(
    tmp_path: Path, locale: str, name: bytes
) -> None:
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, name), "wb") as spec:
        spec.write(INVALID.read_bytes())
    env = {**os.environ, "LC_ALL": locale, "LANG": locale}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    for args in (
        ["validate", str(tmp_path)],
        ["validate", "--format", "github", str(tmp_path)],
        ["render", str(tmp_path), "-o", str(tmp_path / "out")],
    ):
        result = cli(*args, env=env)
        assert result.returncode == 1, result.stderr
        assert b"Traceback" not in result.stderr
        shown = result.stdout + result.stderr
        assert b"\\x" in shown and b"required-sysctl" in shown
