"""Hostile input to render: whatever validate passes is written, emitted YAML reads
the same in a YAML 1.1/Go parser, and no signal or foreign folder loses a file.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import REPO
from rke2image import paths
from rke2image.cli.main import main
from rke2image.errors import InputError
from rke2image.render import escape, render_node, write, write_outputs
from rke2image.render.files import RenderedNode
from rke2image.render.manifest import MARKER
from rke2image.spec.check import check_bytes
from rke2image.spec.model import NodeSpec

ROOT = REPO
MakeNode = Callable[..., NodeSpec]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- 4. Anything validate passes, render writes ------------------------------------

printable = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
free_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | printable,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(printable, inner, max_size=3),
    max_leaves=6,
)


def mostly(pattern: str) -> st.SearchStrategy[str]:
    """Strings of the schema's (or a rule's) own shape, and now and then any text."""
    shaped = st.from_regex(pattern, fullmatch=True)
    return st.one_of(shaped, shaped, shaped, printable)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid NodeSpecs but for one or all free-form parts (sysctl, modules, rke2.config,
    token), drawn from the schema's own patterns and from arbitrary text."""
    varied = draw(st.sampled_from(["sysctl", "config", "token", "modules", "all"]))
    sysctl: dict[str, Any] = {"fs.inotify.max_user_instances": 8192}
    config: dict[str, Any] = {"tls-san": ["cp.example.com"]}
    token: dict[str, str] = {"file": "/etc/rancher/rke2/token"}
    modules = ["overlay", "br_netfilter"]
    if varied in ("sysctl", "all"):
        sysctl = draw(
            st.dictionaries(
                mostly(r"[a-z]{1,6}([./][a-zA-Z0-9_@:-]{1,6}){1,3}"),
                st.one_of(st.integers(-(2**65), 2**65), mostly(r"[A-Za-z0-9_.:,@+ -]{1,12}")),
                max_size=4,
            )
        )
    if varied in ("config", "all"):
        config = draw(st.dictionaries(mostly(r"[a-z0-9][a-z0-9-]{0,12}"), free_values, max_size=4))
    if varied in ("token", "all"):
        token = draw(
            st.one_of(
                st.builds(lambda p: {"file": p}, mostly(r"/[^\s]{0,20}")),
                st.builds(lambda e: {"env": e}, mostly(r"[A-Za-z_][A-Za-z0-9_]{0,8}")),
            )
        )
    if varied in ("modules", "all"):
        modules = draw(st.lists(mostly(r"[A-Za-z0-9_-]{1,10}"), max_size=3, unique=True))
    return {
        "apiVersion": "rke2image/v1",
        "kind": "NodeSpec",
        "metadata": {
            "name": draw(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True))
        },
        "spec": {
            "role": draw(st.sampled_from(["server", "agent"])),
            "clusterInit": False,
            "server": "https://cp.example.com:9345",
            "rke2": {
                "version": "v1.31.4+rke2r1",
                "profile": draw(st.sampled_from(["none", "cis"])),
                "token": token,
                "config": config,
            },
            "kernel": {"sysctl": sysctl, "modules": modules},
        },
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs())
def test_what_validate_passes_render_writes(tmp_path: Path, doc: dict[str, Any]) -> None:
    report = check_bytes(yaml.safe_dump(doc, allow_unicode=True).encode(), "spec.yaml")
    if report.errors:
        return
    (node,) = report.nodes
    env = node.token.env if node.token else None
    rendered = render_node(node, environ={env: "not-a-real-token"} if env else {})
    out = tmp_path / "out"
    write_outputs([rendered], out, force=True)
    rootfs = out / node.name / "rootfs"
    config = yaml.safe_load((rootfs / paths.RKE2_CONFIG.lstrip("/")).read_text())
    for key, value in node.rke2_config.items():
        assert config[key] == value  # the emitted YAML reads back as the spec said
    sysctl = (rootfs / paths.SYSCTL_FILE.lstrip("/")).read_text()
    for key in node.sysctl:
        assert f"\n{key} = " in sysctl
    shutil.rmtree(out)


BASE: dict[str, Any] = {
    "apiVersion": "rke2image/v1",
    "kind": "NodeSpec",
    "metadata": {"name": "cp-1"},
    "spec": {
        "role": "server",
        "clusterInit": True,
        "rke2": {"version": "v1.31.4+rke2r1", "token": {"file": "/etc/rancher/rke2/token"}},
    },
}


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text("abz019_.:@/-=* ", min_size=1, max_size=14),
        st.one_of(st.integers(-(2**66), 2**66), st.text("az09_.:,@+-= \t'/", max_size=12)),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.text("az09_-.", min_size=1, max_size=8), max_size=3, unique=True),
)
def test_every_sysctl_entry_and_module_validate_passes_renders(
    sysctl: dict[str, Any], modules: list[str]
) -> None:
    doc = copy.deepcopy(BASE)
    doc["spec"]["kernel"] = {"sysctl": sysctl, "modules": modules}
    report = check_bytes(yaml.safe_dump(doc).encode(), "spec.yaml")
    if not report.errors:
        render_node(report.nodes[0])  # raises RenderError where the file cannot hold it


# --- 10. Emitted YAML reads the same in a YAML 1.1 / Go parser ----------------------

go_non_strings = st.one_of(
    st.sampled_from(
        [
            "y",
            "Y",
            "n",
            "N",
            "yes",
            "no",
            "on",
            "off",
            "true",
            "False",
            "~",
            "null",
            "1e3",
            "0o17",
            "0x1F",
            "08",
            "-inf",
            "+Inf",
            ".5",
            "1_000",
            "0b101",
            "-1e-3",
            "1E+3",
            "NaN",
            ".nan",
            "2024-01-01",
            "<<",
        ]
    ),
    st.from_regex(r"[-+]?[0-9]{1,4}(\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"0[xXoObB][0-9a-fA-F_]{1,6}", fullmatch=True),
)


@SETTINGS
@given(go_non_strings)
def test_strings_a_yaml11_parser_reads_as_another_type_are_quoted(value: str) -> None:
    for text in (
        escape.to_yaml({"k": value}),
        escape.to_yaml({"k": [value]}),
        escape.to_yaml({value: "v"}),
    ):
        assert yaml.safe_load(text) in ({"k": value}, {"k": [value]}, {value: "v"})
        plain = f": {value}\n" in text or f"- {value}\n" in text or text.startswith(f"{value}:")
        assert not plain, text


def test_config_yaml_quotes_what_go_would_retype(make_node: MakeNode) -> None:
    node = make_node(
        rke2_config={"node-label": ["y", "n", "yes", "1e3", "0o17", "0x1F", "~"], "node-name": "08"}
    )
    files = {f.path: f.content.decode() for f in render_node(node).files}
    text = files[paths.RKE2_CONFIG]
    for word in ("y", "n", "yes", "1e3", "0o17", "0x1F", "~"):
        assert f"- '{word}'\n" in text
    assert "node-name: '08'\n" in text


# --- 7. No lost file ------------------------------------------------------------------


def rendered(make_node: MakeNode) -> list[RenderedNode]:
    return [render_node(make_node())]


def tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(folder).as_posix(): (
            stat.S_IMODE(p.lstat().st_mode),
            p.read_bytes() if p.is_file() else b"",
        )
        for p in sorted(folder.rglob("*"))
    }


def test_empty_output_argument_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["render", str(ROOT / "examples/node.yaml"), "-o", ""])
    assert exited.value.code == 2
    assert "OUT is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["spec.yaml", "sub/spec.yaml", "."])
def test_out_holding_an_input_spec_is_refused(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    spec = out / where if where != "." else out / "spec.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_bytes((ROOT / "examples/node.yaml").read_bytes())
    (out / MARKER).write_text("")  # even a folder rke2image claims keeps its specs
    before = tree(tmp_path)
    given_path = spec if where != "." else out
    assert main(["render", str(given_path), "-o", str(out), "--force"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert tree(tmp_path) == before


@SETTINGS
@given(
    st.lists(
        st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8}){0,2}", fullmatch=True),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    st.booleans(),
)
def test_foreign_files_are_listed_and_kept_unless_forced(
    tmp_path: Path, make_node: MakeNode, names: list[str], marked: bool
) -> None:
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    if marked:
        write_outputs(rendered(make_node), out)
    for name in names:
        target = out / "cp-1" / name if marked and name.startswith("c") else out / name
        if target.exists() or any(p.is_file() for p in target.parents if out in p.parents):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text("someone's work")
    foreign = write.foreign_files(out)
    if not foreign:
        return
    before = tree(out)
    with pytest.raises(InputError) as refused:
        write_outputs(rendered(make_node), out)
    assert f"{len(foreign)} file(s) rke2image did not write" in str(refused.value)
    assert foreign[0] in str(refused.value)
    assert tree(out) == before
    write_outputs(rendered(make_node), out, force=True)
    assert write.foreign_files(out) == []


@pytest.mark.parametrize("check", [False, True])
def test_an_unreadable_out_is_an_input_error(
    tmp_path: Path, make_node: MakeNode, monkeypatch: pytest.MonkeyPatch, check: bool
) -> None:
    """Root reads every folder, so the refusal is injected where OUT is listed."""
    out = tmp_path / "out"
    write_outputs(rendered(make_node), out)

    def scandir(path: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=r"cannot read .*out: Permission denied"):
        if check:
            write.check_outputs(rendered(make_node), out)
        else:
            write_outputs(rendered(make_node), out)


def test_cli_lists_foreign_files_and_force_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    spec = str(ROOT / "examples/node.yaml")
    assert main(["render", spec, "-o", str(out)]) == 0
    (out / "cp-1" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["render", spec, "-o", str(out)]) == 2
    assert "cp-1/notes.txt" in capsys.readouterr().err
    assert (out / "cp-1" / "notes.txt").exists()
    assert main(["render", spec, "-o", str(out), "--force"]) == 0
    assert not (out / "cp-1" / "notes.txt").exists()


@pytest.mark.parametrize("mode", [0o700, 0o750, 0o2775])
def test_an_empty_foreign_folder_keeps_its_mode(
    tmp_path: Path, make_node: MakeNode, mode: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, mode)
    write_outputs(rendered(make_node), out)
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert (out / MARKER).is_file()


def test_leftovers_of_a_killed_render_are_removed(tmp_path: Path, make_node: MakeNode) -> None:
    dead = tmp_path / ".out.999999999.x1.tmp"
    (dead / "cp-1").mkdir(parents=True)
    (dead / "cp-1" / "user-data").write_text("token: K10secret")
    alive = tmp_path / f".out.{os.getppid()}.x2.tmp"  # a render still running: kept
    alive.mkdir()
    write_outputs(rendered(make_node), tmp_path / "out")
    assert not dead.exists() and alive.exists()


@pytest.fixture(autouse=True)
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as Python sets it up for a person at a terminal,
    even when this run inherited SIGINT ignored (a background job of a shell script)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_at(monkeypatch: pytest.MonkeyPatch, target: str, at: int) -> list[int]:
    """Deliver a real SIGINT to this process on the ``at``-th call of write.<target>."""
    calls = [0]
    real = getattr(write, target) if target != "rmtree" else shutil.rmtree

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == at:
            signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)

    if target == "rmtree":
        monkeypatch.setattr(shutil, "rmtree", wrapped)
    else:
        monkeypatch.setattr(write, target, wrapped)
    return calls


@SETTINGS
@given(st.integers(1, 8))  # the 8 files of one node: marker, user-data, manifest, 5 rootfs
def test_ctrl_c_while_staging_leaves_the_old_tree_and_no_staging(
    tmp_path: Path, make_node: MakeNode, at: int
) -> None:
    out = tmp_path / f"out-{at}"
    write_outputs(rendered(make_node), out)
    before = tree(out)
    with pytest.MonkeyPatch.context() as patch:
        interrupt_at(patch, "_write", at)
        with pytest.raises(KeyboardInterrupt):
            write_outputs([render_node(make_node(sysctl={"vm.swappiness": "1"}))], out)
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")] == []


def test_a_second_ctrl_c_during_cleanup_still_removes_staging(
    tmp_path: Path, make_node: MakeNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_at(monkeypatch, "_write", 3)
    interrupt_at(monkeypatch, "rmtree", 1)  # the cleanup itself is interrupted
    with pytest.raises(KeyboardInterrupt):
        write_outputs(rendered(make_node), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["_swap_into_place", "rmtree"])
def test_ctrl_c_once_the_new_tree_goes_in_is_a_success(
    tmp_path: Path, make_node: MakeNode, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    out = tmp_path / "out"
    write_outputs(rendered(make_node), out)
    interrupt_at(monkeypatch, target, 1)
    new = [render_node(make_node(sysctl={"vm.swappiness": "7"}))]
    write_outputs(new, out)  # no KeyboardInterrupt: the swap and the cleanup finished
    sysctl = out / "cp-1/rootfs" / paths.SYSCTL_FILE.lstrip("/")
    assert b"vm.swappiness = 7" in sysctl.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no old tree with a token


# --- 9. Render and build report what validate warns ----------------------------------

WARNED = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata: {name: w-1}
spec:
  role: agent
  server: https://cp.example.com:6443
  rke2: {version: v1.31.4+rke2r1, token: {file: /etc/rancher/rke2/token}}
"""


@pytest.mark.parametrize("command", ["render", "build"])
def test_render_and_build_print_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(WARNED)
    code = main([command, str(spec), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == (0 if command == "render" else 2)  # build: no builders, but warned first
    assert f"{spec}:6:3: warning:" in err and "[server-port]" in err
