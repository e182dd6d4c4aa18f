"""`validate --format github`: GitHub shows 10 error and 10 warning annotations per step, so
no more are printed; a notice says how many more there are, and the step summary lists all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rke2image.cli.main import main
from rke2image.spec.check import check_bytes
from rke2image.spec.formats.github import SUMMARY_LIMIT, summary
from rke2image.spec.outcome import Outcome

ENV = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/infra",
    "GITHUB_SHA": "0123abcd",
}


def cluster(errors: int, warnings: int = 0) -> str:
    """A CIS Cluster with one finding per agent: kernel.panic 0 (error) or a 6443 server
    (warning, as a per-node override)."""
    lines = [
        "apiVersion: rke2image/v1",
        "kind: Cluster",
        "metadata:",
        "  name: big",
        "spec:",
        "  server: https://cp.example.com:9345",
        "  defaults:",
        "    rke2:",
        "      version: v1.31.4+rke2r1",
        "      profile: cis",
        "      token: {file: /etc/rancher/rke2/token}",
        "  nodes:",
        "    - name: cp-1",
        "      role: server",
        "      clusterInit: true",
    ]
    for i in range(errors):
        lines += [
            f"    - name: bad-{i}",
            "      role: agent",
            "      kernel:",
            "        sysctl:",
            "          kernel.panic: 0",
        ]
    for i in range(warnings):
        lines += [
            f"    - name: port-{i}",
            "      role: agent",
            "      server: https://cp.example.com:6443",
        ]
    return "\n".join(lines) + "\n"


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    text: str,
    summary_file: Path | None,
    *args: str,
) -> tuple[int, str, str]:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "cluster.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    if summary_file is None:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    else:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    code = main(["validate", "--format", "github", *args, "specs/cluster.yaml"])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(markdown: str) -> list[str]:
    return [
        line
        for line in markdown.splitlines()
        if line.startswith("| ") and not line.startswith("| where ")
    ]


def test_forty_errors_print_ten_annotations_a_notice_and_a_summary_of_all(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = cluster(40)
    assert len(check_bytes(text.encode(), "x").problems) == 40
    summary_file = tmp_path / "summary.md"
    code, out, _ = run(capsys, monkeypatch, tmp_path, text, summary_file)
    assert code == 1
    lines = out.splitlines()
    assert [line.startswith("::error ") for line in lines[:10]] == [True] * 10
    assert lines[10].startswith("::notice ")
    assert "30 more finding(s)" in lines[10] and "job summary" in lines[10]
    assert sum(line.startswith("::") for line in lines) == 11
    assert len(lines[11:]) == 30  # the rest, as text in the log
    assert all(re.match(r"specs/cluster\.yaml:\d+:\d+: error: ", line) for line in lines[11:])

    markdown = summary_file.read_text(encoding="utf-8")
    rows = table_rows(markdown)
    assert len(rows) == 40
    assert "1 file(s) checked: 40 error(s), 0 warning(s)" in markdown
    first_line = int(lines[0].split("line=")[1].split(",")[0])
    assert rows[0].startswith(
        f"| [specs/cluster.yaml:{first_line}](https://github.com/acme/infra/blob/0123abcd/"
        f"specs/cluster.yaml#L{first_line}) | error | [`required-sysctl`]("
    )


def test_errors_and_warnings_are_capped_separately(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, monkeypatch, tmp_path, cluster(12, 15), tmp_path / "s.md")
    lines = out.splitlines()
    assert code == 1
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    (notice,) = [line for line in lines if line.startswith("::notice ")]
    assert "7 more finding(s)" in notice
    assert len(table_rows((tmp_path / "s.md").read_text(encoding="utf-8"))) == 27


def test_few_findings_need_no_notice_and_exit_codes_are_unchanged(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, monkeypatch, tmp_path, cluster(0, 3), None)
    assert code == 0 and "::notice" not in out and out.count("::warning ") == 3
    code, _, _ = run(capsys, monkeypatch, tmp_path, cluster(0, 3), None, "--strict")
    assert code == 1
    code, out, _ = run(capsys, monkeypatch, tmp_path, cluster(0), tmp_path / "clean.md")
    assert (code, out) == (0, "")
    clean = (tmp_path / "clean.md").read_text(encoding="utf-8")
    assert "0 error(s), 0 warning(s)" in clean and table_rows(clean) == []


def test_without_a_step_summary_the_notice_points_at_the_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, out, _ = run(capsys, monkeypatch, tmp_path, cluster(11), None)
    (notice,) = [line for line in out.splitlines() if line.startswith("::notice ")]
    assert "1 more finding(s)" in notice and "the log below" in notice
    assert "summary" not in notice


def test_the_summary_stays_within_githubs_limit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary_file = tmp_path / "full.md"
    earlier = "x" * (SUMMARY_LIMIT - 4000) + "\n"  # an earlier command of the step wrote this
    summary_file.write_text(earlier, encoding="utf-8")
    code, _, _ = run(capsys, monkeypatch, tmp_path, cluster(40), summary_file)
    assert code == 1
    assert summary_file.stat().st_size <= SUMMARY_LIMIT
    added = summary_file.read_text(encoding="utf-8")[len(earlier) :]
    shown = len(table_rows(added))
    assert 0 < shown < 40
    assert f"{40 - shown} more finding(s) left out" in added


def test_summary_budget_is_a_hard_cap() -> None:
    problems = check_bytes(cluster(300).encode(), "specs/c.yaml").problems
    for budget in (200, 5000, 50_000):
        text = summary(Outcome(problems, files=1), ENV, budget)
        assert len(text.encode()) <= budget


def test_user_text_cannot_break_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = cluster(0).replace(
        "      clusterInit: true\n",
        "      clusterInit: true\n      kernel:\n        sysctl:\n          'fs.x': 'a|b<i>'\n",
    )
    run(capsys, monkeypatch, tmp_path, text, tmp_path / "s.md")
    (row,) = table_rows((tmp_path / "s.md").read_text(encoding="utf-8"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5
    assert "<i>" not in row and "&lt;i&gt;" in row


def test_an_unwritable_summary_is_a_usage_error_with_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, err = run(capsys, monkeypatch, tmp_path, cluster(2), tmp_path / "no" / "s.md")
    assert (code, out) == (2, "")
    assert "GITHUB_STEP_SUMMARY" in err and "Traceback" not in err
