"""`rke2image fleet` over hostile or damaged input (issue 22, items 4, 6, 8, 9, 12; issue 23,
item 7): every bad file is a clear per-file error, never an internal error or a hang; a node's
wrong clock or a wrong majority does not hide a failing node; node names cannot forge lines,
links or terminal codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acceptance.fleet.audit_docs import NOW, audit_document, write_fleet
from acceptance.test_cli_hostile import no_last_resort  # noqa: F401 (a fixture)
from rke2image.cli.main import main
from rke2image.textsafe import unreversible

AT_NOW = ["--now", "2026-11-26T04:00:00Z"]
HANG_GUARD = 300  # seconds: only there to end a hang, which then fails the test
# What a terminal or a reader of the text output must never receive.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def fleet(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["fleet", *map(str, argv), *AT_NOW])
    out, err = capsys.readouterr()
    return code, out, err


def servers(count: int, **values: dict[str, object]) -> list[dict[str, object]]:
    return [
        audit_document(f"cp-{i}", "server", values=values.get(f"cp_{i}"))
        for i in range(1, count + 1)
    ]


# --- item 4: JSON that reaches the parser's limits ---------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        # Python 3.11+ (and 3.10.7+) refuse a 5000-digit number; 3.9 reads it, and the
        # document is then refused for its type: a per-file error either way.
        (
            '{"schema": ' + "7" * 5000 + "}",
            "invalid JSON: Exceeds the limit"
            if hasattr(sys, "set_int_max_str_digits")
            else "/schema: expected str",
        ),
    ],
)
def test_json_at_the_parsers_limits_is_a_per_file_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_last_resort: None,  # noqa: F811
    content: str,
    words: str,
) -> None:
    write_fleet(tmp_path, servers(2))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = fleet(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith(f"rke2image: error: {bad}: ") and words in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_date_that_leaves_the_calendar_in_utc_is_a_per_file_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_last_resort: None,  # noqa: F811
    when: str,
) -> None:
    document = audit_document("cp-1", "server")
    document["generated"] = when
    (path,) = write_fleet(tmp_path, [document])
    code, out, err = fleet(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith(f"rke2image: error: {path}: /generated: '{when}' is not an RFC 3339")


def test_a_now_that_leaves_the_calendar_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    no_last_resort: None,  # noqa: F811
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fleet", "--now", "9999-12-31T23:59:59-01:00", "."])
    assert exited.value.code == 2
    assert "is not an RFC 3339 time with a zone" in capsys.readouterr().err


# --- item 6: a FIFO named *.json ---------------------------------------------------------


def test_a_fifo_named_json_is_named_not_waited_for(tmp_path: Path) -> None:
    write_fleet(tmp_path, servers(2))
    os.mkfifo(tmp_path / "pipe.json")  # nobody ever writes: an open would block forever
    os.symlink("/dev/zero", tmp_path / "zero.json")
    os.mkfifo(tmp_path / "x\nrke2image: error: forged.json")
    result = subprocess.run(
        [sys.executable, "-m", "rke2image", "fleet", str(tmp_path), *AT_NOW],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"rke2image: error: {tmp_path}/pipe.json: is a FIFO, not a regular file: not read: "
        "not an audit document",
        f"rke2image: error: {tmp_path}/x\\x0arke2image: error: forged.json: is a FIFO, not a "
        "regular file: not read: not an audit document",
        f"rke2image: error: {tmp_path}/zero.json: is a character device, not a regular file: "
        "not read: not an audit document",
    ]


# --- item 8: a clock before NTP sync --------------------------------------------------------


def test_an_audit_dated_in_the_future_does_not_hide_the_newer_failing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    early = audit_document("cp-1", "server", generated=NOW + timedelta(days=400))
    (old,) = write_fleet(tmp_path / "booted-before-ntp", [early])
    os.utime(old, (NOW.timestamp() - 3600, NOW.timestamp() - 3600))  # collected an hour ago
    failing = audit_document("cp-1", "server", values={"kernel.panic": "0"})
    (new,) = write_fleet(tmp_path / "now", [failing])
    os.utime(new, (NOW.timestamp() - 60, NOW.timestamp() - 60))
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    assert out.splitlines() == [
        f"server cp-1: not compliant (1 error(s), 0 warning(s)): kernel.panic wrong [{new}]",
        f"note: {old}: an older audit of cp-1; {new} counts",
        "1 nodes (1 servers): servers agree; 0 differing value(s), 1 non-compliant, 0 stale",
    ]


def test_an_audit_dated_in_the_future_goes_stale_and_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ahead = audit_document("cp-1", "server", generated=NOW + timedelta(days=400))
    (path,) = write_fleet(tmp_path, [ahead])
    three_hours_ago = NOW.timestamp() - 3 * 3600
    os.utime(path, (three_hours_ago, three_hours_ago))
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    assert out.splitlines() == [
        f"server cp-1: audit is 3h old (2026-11-26T01:00:00Z), over 2h [{path}]",
        "server cp-1: audit dated 2027-12-31T04:00:00Z, 400d 3h after the file "
        f"(2026-11-26T01:00:00Z): the node's clock is ahead [{path}]",
        "1 nodes (1 servers): servers agree; 0 differing value(s), 0 non-compliant, 1 stale, "
        "1 dated ahead",
    ]
    _, out, _ = fleet(capsys, "--format", "json", tmp_path)
    assert json.loads(out)["skewed"] == [
        {
            "node": "cp-1",
            "role": "server",
            "file": str(path),
            "generated": "2027-12-31T04:00:00Z",
            "received": "2026-11-26T01:00:00Z",
        }
    ]


# --- item 9: when the majority is wrong ----------------------------------------------------


def test_when_most_servers_are_wrong_the_healthy_one_is_not_the_odd_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path, servers(3, cp_1={"kernel.panic": "0"}, cp_2={"kernel.panic": "0"}))
    code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    assert code == 1
    drift = json.loads(out)["drift"]
    assert {d["view"]: [n["node"] for n in d["nodes"]] for d in drift} == {
        "live": ["cp-1", "cp-2"],
        "systemd": ["cp-1", "cp-2"],
        "procps": ["cp-1", "cp-2"],
    }
    assert {(d["majority"], d["reference"], d["tie"]) for d in drift} == {("10", "required", False)}
    _, text, _ = fleet(capsys, tmp_path)
    assert text.splitlines()[0] == (
        f"server cp-1: kernel.panic live is 0; 1 of 3 servers have 10, the required value "
        f"[{tmp_path}/cp-1/audit.json]"
    )


# --- item 12 and issue 23 item 7: what the text and markdown carry ------------------------

HOSTILE_NAMES = [
    "cp-1\nserver cp-9: compliant",
    "\x1b]0;owned\x07\x1b[2J",
    "[click](https://evil.example/x)",
    "![x](https://evil.example/pixel.png)",
    "<img src=https://evil.example/p.png>",
    "cp|1`x`*y*",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_node_names_cannot_forge_lines_links_or_terminal_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    docs = [
        audit_document(name, "server", values={"kernel.panic": "0"}),
        *servers(2),
    ]
    for index, doc in enumerate(docs):  # file names from the index: the node name is free
        path = tmp_path / f"n{index}.json"
        path.write_text(json.dumps(doc))
    _, text, _ = fleet(capsys, tmp_path)
    _, markdown, _ = fleet(capsys, "--format", "markdown", tmp_path)
    assert not CONTROL.search(text) and not CONTROL.search(markdown)
    assert not re.search(r"(?<!\\)\]\(", markdown) and "<img" not in markdown
    assert not any(line.startswith("server cp-9") for line in text.splitlines())
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) in {4, 5, 6, 7} for row in rows)


def test_markdown_lists_the_superseded_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (new,) = write_fleet(tmp_path / "new", servers(1))
    older = audit_document("cp-1", "server", generated=NOW - timedelta(minutes=30))
    (old,) = write_fleet(tmp_path / "old", [older])
    _, out, _ = fleet(capsys, "--format", "markdown", tmp_path)
    escaped = [str(p).replace("_", "\\_") for p in (old, new)]
    assert f"| cp-1 | {escaped[0]} | {escaped[1]} |" in out.splitlines()


def test_file_names_that_are_not_utf8_have_one_reversible_form_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = os.fsencode(tmp_path)
    raw = os.path.join(folder, b"cp-\xff\\x41.json")
    with open(raw, "w") as handle:
        json.dump(audit_document("cp-1", "server", values={"kernel.panic": "0"}), handle)
    write_fleet(tmp_path, servers(3)[1:])
    code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    assert code == 1 and "\\ud" not in out
    (odd,) = json.loads(out)["noncompliant"]
    assert odd["file"] == f"{tmp_path}/cp-\\xff\\\\x41.json"
    assert os.fsencode(unreversible(odd["file"])) == raw


# --- hypothesis: fleet inputs of every shape -----------------------------------------------

names = st.text(
    st.characters() | st.sampled_from("\n\r\x1b\x00|`[]("),  # lone surrogates too
    min_size=1,
    max_size=20,
)
shapes = st.sampled_from(
    ["audit", "mutated", "fifo", "link-zero", "link-loop", "sparse", "deep", "digits"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
# Fields a hostile or broken node could write, with values that reach the parser's corners.
FIELDS = ["generated", "node", "live", "protection", "summary", "parameters", "schema"]
DATES = st.sampled_from(
    ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2026-13-01T00:00:00Z", ""]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(names, shapes, st.sampled_from(["server", "agent", None])), max_size=6),
    st.data(),
)
def test_any_fleet_input_is_a_report_or_a_per_file_error(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    no_last_resort: None,  # noqa: F811
    entries: list[tuple[str, str, str | None]],
    data: st.DataObject,
) -> None:
    folder = tmp_path_factory.mktemp("fleet")
    write_fleet(folder, servers(1))
    for index, (name, shape, role) in enumerate(entries):
        path = folder / f"{index}.json"
        if shape in {"audit", "mutated"}:
            document = audit_document(name, role, values={"kernel.panic": "0"})
            if shape == "mutated":
                document[data.draw(st.sampled_from(FIELDS))] = data.draw(json_values | DATES)
            path.write_text(json.dumps(document))
        elif shape == "fifo":
            os.mkfifo(path)
        elif shape == "link-zero":
            os.symlink("/dev/zero", path)
        elif shape == "link-loop":
            os.symlink(path.name, path)
        elif shape == "sparse":
            with path.open("wb") as handle:
                handle.truncate(1 << 30)
        elif shape == "deep":
            path.write_text("[" * 100_000)
        else:
            path.write_text("9" * 10_000)
    for fmt in ("text", "markdown", "json"):
        code, out, err = fleet(capsys, "--format", fmt, folder)
        assert code in (0, 1, 2)
        assert (out == "") == (code == 2)
        assert "Traceback" not in err and "internal error" not in err
        if fmt != "json":
            assert not CONTROL.search(out)
        elif out:  # strict UTF-8: no lone surrogate reaches a JSON reader
            json.dumps(json.loads(out), ensure_ascii=False).encode("utf-8")
