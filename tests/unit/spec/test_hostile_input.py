"""Hostile files and folders: bad tag content, huge integers, deep nesting, what
discovery finds, FIFOs, unreadable folders, and a Cluster at the schema's maximum.
Each ends in diagnostics with their own rule ids, never a traceback or a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from rke2image.errors import InputError
from rke2image.render import render_node
from rke2image.spec import check_paths
from rke2image.spec.check import check_bytes
from rke2image.spec.discover import is_spec_text, spec_files
from rke2image.spec.schema import main_schema

ROOT = REPO
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEAD = "apiVersion: rke2image/v1\nkind: NodeSpec\nmetadata: {name: cp-1}\nspec:\n"


def rules(raw: bytes) -> list[str]:
    return [p.rule for p in check_bytes(raw, "spec.yaml").problems]


# --- 5. No traceback: tags, huge integers, nesting ----------------------------------


@SETTINGS
@given(
    st.sampled_from(["int", "float", "bool", "null"]),
    st.text(alphabet="abcxyz019._-+ eE", max_size=12),
)
def test_explicit_tags_with_any_content_end_in_diagnostics(tag: str, content: str) -> None:
    raw = f"{HEAD}  role: !!{tag} {content!r}\n".encode()
    found = rules(raw)  # never raises
    assert set(found) <= {"yaml-bad-scalar", "bad-value", "wrong-type", "missing-key"}, found


@pytest.mark.parametrize(
    "text", ["!!int abc", "!!bool maybe", "!!float zz", "!!int ''", "!!int 0x", "!!bool ''"]
)
def test_bad_tag_content_is_yaml_bad_scalar(text: str) -> None:
    assert rules(f"{HEAD}  role: {text}\n".encode()) == ["yaml-bad-scalar"]


@SETTINGS
@given(st.integers(4301, 20_000), st.sampled_from(["", "-", "+", "!!int "]))
def test_integers_past_pythons_digit_limit_are_reported(digits: int, prefix: str) -> None:
    raw = f"{HEAD}  kernel:\n    sysctl:\n      vm.x: {prefix}{'7' * digits}\n".encode()
    assert rules(raw) == ["yaml-bad-scalar"]


@SETTINGS
@given(st.integers(65, 4000), st.sampled_from(["[", "{a: ", "- "]))
def test_deep_nesting_is_its_own_rule(depth: int, opener: str) -> None:
    if opener == "- ":  # block style: compact nested sequences
        raw = f"{HEAD}  x:\n    {opener * depth}1\n".encode()
    else:
        raw = f"{HEAD}  x: {opener * depth}".encode()
    assert rules(raw) == ["yaml-too-deep"]


def test_a_self_referencing_alias_is_an_alias_bomb() -> None:
    assert rules(f"{HEAD}  x: &a [*a]\n".encode()) == ["yaml-alias-bomb"]


# --- 8. Discovery by parsed top-level apiVersion ------------------------------------

api_version_lines = st.sampled_from(
    [
        "apiVersion: rke2image/v1\n",
        "apiVersion: 'rke2image/v1'\n",
        'apiVersion: "rke2image/v1"\n',
        "apiVersion: !!str rke2image/v1\n",
        "apiVersion:\n  rke2image/v1\n",
        "? apiVersion\n: rke2image/v1\n",
        '"apiVersion": rke2image/v1\n',
        "apiVersion: >-\n  rke2image/v1\n",
        "base: &b {apiVersion: rke2image/v1}\n<<: *b\n",
        "{apiVersion: rke2image/v1}\n",
    ]
)
noise = st.sampled_from(["", "# comment\n", "---\n", "kind: NodeSpec\n", "%YAML 1.1\n---\n"])


@SETTINGS
@given(noise, api_version_lines)
def test_any_spelling_of_the_api_version_is_found(before: str, line: str) -> None:
    text = before + line if not line.startswith("{") or not before.startswith("kind") else line
    assert is_spec_text(text.encode()), text


@SETTINGS
@given(
    st.sampled_from(
        [
            "run: |\n  cat <<EOF\n  apiVersion: rke2image/v1\n  EOF\n",
            "jobs:\n  x:\n    apiVersion: rke2image/v1\n",
            "- apiVersion: rke2image/v1\n",
            "note: 'apiVersion: rke2image/v1'\n",
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  spec: 'apiVersion: rke2image/v1'\n",
            "# apiVersion: rke2image/v1\nkey: value\n",
        ]
    )
)
def test_text_that_only_mentions_the_api_version_is_not_a_spec(text: str) -> None:
    assert not is_spec_text(text.encode())


def test_folder_discovery_picks_exactly_the_specs(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "workflow.yml").write_text(
        "run: |\n  cat > spec.yaml <<EOF\n  apiVersion: rke2image/v1\n  EOF\n"
    )
    spec = tmp_path / "quoted.yaml"
    spec.write_text('"apiVersion":\n  !!str "rke2image/v1"\n' + HEAD.split("\n", 1)[1])
    assert spec_files([tmp_path]) == [spec]


def test_an_unreadable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads every folder, so the refusal is injected where os.walk lists it."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match="locked: cannot read folder: Permission denied"):
        spec_files([tmp_path])


def test_an_unreadable_file_in_a_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").symlink_to(tmp_path / "spec.yaml")  # a loop: ELOOP on open
    with pytest.raises(InputError, match=r"spec\.yaml"):
        check_paths([tmp_path])


# --- 6. No hang: --only-specs never opens a FIFO ------------------------------------


@pytest.mark.parametrize("flags", [["--only-specs"], []])
def test_a_fifo_is_refused_before_opening(tmp_path: Path, flags: list[str]) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "rke2image", "validate", *flags, str(fifo)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"rke2image: error: {fifo}: not a regular file (a pipe or device would block)"
    )


def test_a_device_is_refused_with_only_specs() -> None:
    with pytest.raises(InputError, match="not a regular file"):
        spec_files([Path("/dev/zero")], only_specs=True)


# --- 11. Large honest input ----------------------------------------------------------


def test_a_cluster_at_the_maximum_node_count_validates_and_renders() -> None:
    most = main_schema()["$defs"]["clusterSpec"]["properties"]["nodes"]["maxItems"]
    # Honest anchors too: every agent aliases one kernel mapping.
    agents = "".join(f"    - {{name: w-{i}, role: agent, kernel: *k}}\n" for i in range(most - 1))
    raw = (
        "apiVersion: rke2image/v1\nkind: Cluster\nmetadata: {name: big}\nspec:\n"
        "  server: https://cp.example.com:9345\n"
        "  defaults:\n    rke2: {version: v1.31.4+rke2r1, token: {file: /etc/rancher/rke2/token}}\n"
        "    kernel: &k {sysctl: {fs.inotify.max_user_instances: 8192},\n"
        "                modules: [overlay, br_netfilter]}\n"
        "  nodes:\n    - {name: cp-1, role: server, clusterInit: true}\n" + agents
    ).encode()
    report = check_bytes(raw, "big.yaml")
    assert report.problems == []
    assert len(report.nodes) == most
    for node in report.nodes[:: most // 50]:  # every node renders alike; a sample proves it
        assert render_node(node).user_data.startswith(b"#cloud-config\n")
    yaml.safe_load(raw)  # and it is plain YAML
