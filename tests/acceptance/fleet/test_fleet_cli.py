"""`rke2image fleet`: the odd node named, servers first; stale audits; exit 0/1/2.

Each test writes audit documents as a DaemonSet or an Ansible fetch leaves them (one
JSON file per node) and runs the CLI as a user does, through ``main``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from acceptance.fleet.audit_docs import NOW, audit_document, write_fleet
from rke2image.cli.main import main

AT_NOW = ["--now", "2026-11-26T04:00:00Z"]


def fleet(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["fleet", *map(str, argv), *AT_NOW])
    out, err = capsys.readouterr()
    return code, out, err


def cluster(servers: int = 3, agents: int = 4, **odd: dict[str, object]) -> list[dict[str, object]]:
    """cp-1..N and worker-1..M, all compliant; ``odd`` maps a node name to its values."""
    names = [(f"cp-{i}", "server") for i in range(1, servers + 1)]
    names += [(f"worker-{i}", "agent") for i in range(1, agents + 1)]
    return [audit_document(n, r, values=odd.get(n.replace("-", "_"))) for n, r in names]


def test_a_fleet_that_agrees_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fleet(tmp_path, cluster())
    code, out, err = fleet(capsys, tmp_path)
    assert (code, err) == (0, "")
    assert out == (
        "7 nodes (3 servers, 4 agents): servers agree; 0 differing value(s), "
        "0 non-compliant, 0 stale\n"
    )


def test_the_odd_first_master_is_named_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # agents sort before servers by name and file; the report still puts the server first
    docs = cluster(cp_1={"kernel.panic": "0"}, worker_2={"vm.overcommit_memory": "0"})
    write_fleet(tmp_path, docs)
    code, out, _ = fleet(capsys, tmp_path)
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (
        f"server cp-1: kernel.panic live is 0; 2 of 3 servers have 10 [{tmp_path}/cp-1/audit.json]"
    )
    assert lines[1].startswith("server cp-1: kernel.panic next boot (systemd-sysctl) is 0;")
    assert lines[2].startswith("server cp-1: kernel.panic next boot (sysctl --system) is 0;")
    assert lines[3].startswith(
        "agent worker-2: vm.overcommit_memory live is 0; 3 of 4 agents have 1"
    )
    assert lines[-1].endswith("SERVERS DISAGREE; 6 differing value(s), 2 non-compliant, 0 stale")


def test_a_latent_value_differs_only_in_the_next_boot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path, cluster(cp_2={"kernel.panic_on_oops": ("1", "0", "1")}))
    code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    report = json.loads(out)
    assert code == 1
    assert report["servers_agree"] is False
    assert [
        (d["role"], d["key"], d["view"], d["majority"], [n["node"] for n in d["nodes"]])
        for d in report["drift"]
    ] == [("server", "kernel.panic_on_oops", "systemd", "1", ["cp-2"])]
    assert report["noncompliant"] == [
        {
            "node": "cp-2",
            "role": "server",
            "file": f"{tmp_path}/cp-2/audit.json",
            "errors": 1,
            "warnings": 0,
            "verdicts": {"kernel.panic_on_oops": "latent"},
        }
    ]


def test_agents_that_differ_fail_but_servers_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path, cluster(worker_3={"kernel.keys.root_maxkeys": "200"}))
    code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    report = json.loads(out)
    assert code == 1
    assert report["servers_agree"] is True
    assert [d["nodes"][0]["node"] for d in report["drift"]] == ["worker-3"] * 3


def test_an_audit_older_than_max_age_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = cluster()
    docs[4] = audit_document("worker-2", "agent", generated=NOW - timedelta(hours=3, minutes=5))
    write_fleet(tmp_path, docs)
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    assert out.splitlines()[0] == (
        f"agent worker-2: audit is 3h 5m old (2026-11-26T00:55:00Z), "
        f"over 2h [{tmp_path}/worker-2/audit.json]"
    )
    code, out, _ = fleet(capsys, "--max-age", "3h30m", tmp_path)
    assert code == 0


def test_image_audits_have_no_live_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = [
        audit_document("img-a", "server", live=False),
        audit_document("img-b", "server", live=False),
        audit_document("cp-1", "server"),
    ]
    write_fleet(tmp_path, docs)
    code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    assert (code, json.loads(out)["drift"]) == (0, [])


def test_a_server_without_protection_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = cluster(agents=0)
    docs[0] = audit_document("cp-1", "server", protection=False)
    write_fleet(tmp_path, docs)
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    assert out.splitlines()[0].startswith(
        "server cp-1: protect-kernel-defaults RKE2 configuration is off; 2 of 3 servers have on"
    )


def test_a_server_audited_without_root_has_unknown_protection_not_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = cluster(agents=0)
    unread = audit_document("cp-1", "server", protection=False)
    unread["protection"]["known"] = False
    unread["protection"]["unreadable"] = [
        {"file": "/etc/rancher/rke2/config.yaml", "reason": "permission denied"}
    ]
    docs[0] = unread
    write_fleet(tmp_path, docs)
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    assert out.splitlines()[0].startswith(
        "server cp-1: protect-kernel-defaults RKE2 configuration is unknown; 2 of 3 servers have on"
    )


def test_two_servers_that_disagree_have_no_majority(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path, cluster(servers=2, agents=0, cp_2={"vm.panic_on_oom": "1"}))
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 1
    # the required value stands as the reference when nothing else decides
    assert out.splitlines()[0].startswith(
        "server cp-2: vm.panic_on_oom live is 1; 1 of 2 servers have 0, no majority"
    )


def test_the_newest_audit_of_a_node_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path / "new", cluster(servers=1, agents=0))
    write_fleet(
        tmp_path / "old",
        [
            audit_document(
                "cp-1",
                "server",
                values={"kernel.panic": "0"},
                generated=NOW - timedelta(minutes=30),
            )
        ],
    )
    code, out, _ = fleet(capsys, tmp_path)
    assert code == 0
    assert out.splitlines() == [
        (
            f"note: {tmp_path}/old/cp-1/audit.json: an older audit of cp-1; "
            f"{tmp_path}/new/cp-1/audit.json counts"
        ),
        "1 nodes (1 servers): servers agree; 0 differing value(s), 0 non-compliant, 0 stale",
    ]


def test_a_node_without_a_role_is_compared_with_the_others_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [audit_document(f"n-{i}", None) for i in range(3)] + cluster(agents=0)
    docs[0] = audit_document("n-0", None, values={"kernel.panic": "5"})
    write_fleet(tmp_path, docs)
    _code, out, _ = fleet(capsys, "--format", "json", tmp_path)
    report = json.loads(out)
    assert report["nodes"] == {"total": 6, "server": 3, "agent": 0, "unknown": 3}
    assert {(d["role"], d["nodes"][0]["node"]) for d in report["drift"]} == {("unknown", "n-0")}
    assert report["servers_agree"] is True


def test_markdown_is_a_table_with_servers_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(
        tmp_path,
        cluster(cp_3={"kernel.panic": ("10", "0", "10")}, worker_1={"vm.overcommit_memory": "0"}),
    )
    code, out, _ = fleet(capsys, "--format", "markdown", tmp_path)
    assert code == 1
    lines = out.splitlines()
    header = lines.index("| role | node | parameter | where | value | its peers |")
    assert lines[header + 2] == (
        "| server | **cp-3** | `kernel.panic` "
        "| next boot (systemd-sysctl) | `0` | 2 of 3 servers have 10 |"
    )
    assert lines[header + 3].startswith("| agent | **worker-1** | `vm.overcommit_memory` | live |")
    assert "| server | **cp-3** | 1 | 0 | kernel.panic latent |" in lines


def test_the_report_does_not_depend_on_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write_fleet(tmp_path, cluster(cp_1={"kernel.panic": "0"}))
    _, forward, _ = fleet(capsys, "--format", "json", *paths)
    _, backward, _ = fleet(capsys, "--format", "json", *reversed(paths))
    assert forward == backward


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"schema": "rke2image.audit/v1",\n  "node": }',
            (
                "{path}:2:11: invalid JSON: Expecting value; expected the output of "
                "`rke2image audit --format json`"
            ),
        ),
        (
            '{"schema": "something/v2"}',
            (
                "{path}: /schema: is 'something/v2', expected 'rke2image.audit/v1' (not an "
                "rke2image.audit/v1 document: regenerate it with `rke2image audit --format json`)"
            ),
        ),
        (
            "[]",
            (
                "{path}: the document: expected an object (not an rke2image.audit/v1 document: "
                "regenerate it with `rke2image audit --format json`)"
            ),
        ),
    ],
)
def test_an_invalid_file_is_named_and_nothing_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    write_fleet(tmp_path, cluster(servers=1, agents=1))
    bad = tmp_path / "broken.json"
    bad.write_text(content, encoding="utf-8")
    code, out, err = fleet(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert err == f"rke2image: error: {message.format(path=bad)}\n"


def test_a_field_of_the_wrong_type_is_named_by_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = audit_document("cp-1", "server")
    doc["parameters"][2]["live"] = 10
    (path,) = write_fleet(tmp_path, [doc])
    code, out, err = fleet(capsys, path)
    assert (code, out) == (2, "")
    assert err.startswith(
        f"rke2image: error: {path}: /parameters/2/live: expected str or null, "
        "got 10 (not an rke2image.audit/v1"
    )


def test_every_invalid_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe")
    code, out, err = fleet(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        (
            f"rke2image: error: {tmp_path}/a.json:1:2: invalid JSON: Expecting property name "
            "enclosed in double quotes; expected the output of `rke2image audit --format json`"
        ),
        f"rke2image: error: {tmp_path}/b.json: not UTF-8 text: not an audit document",
    ]


@pytest.mark.parametrize("argv", [["missing-folder"], ["--max-age", "soon", "."]])
def test_usage_errors_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(audit_document("cp-1", "server")))
    with pytest.raises(SystemExit) if argv[0] == "--max-age" else _no_raise():
        code, out, err = fleet(capsys, *argv)
        assert (code, out) == (2, "")
        assert err == "rke2image: error: missing-folder: no such file or folder\n"
    if argv[0] == "--max-age":
        assert "'soon' is not a duration like 2h, 90m or 1h30m" in capsys.readouterr().err


def test_a_folder_without_audits_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = fleet(capsys, tmp_path)
    assert (code, out, err) == (
        2,
        "",
        (f"rke2image: error: {tmp_path}: no *.json audit file in this folder\n"),
    )


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
