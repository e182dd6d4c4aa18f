"""Property: any root, however damaged or hostile, is audited without an internal error, a
hang or unbounded memory, and its outputs carry no control character (issue 22, "Done
when"). Hypothesis builds the root from a stock one by laying shapes at the places the audit
reads: sparse files, links (inside, out of the root, in loops, to devices and /proc), FIFOs,
folders, non-UTF-8 bytes and control characters in names and contents.

Memory is the test process's peak RSS (``resource.getrusage``), checked after every
example; a hang is ended by an alarm that fails the example (no timing is asserted).
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acceptance.audit.roots import build_root, install_node, proc_sys
from acceptance.audit.support import REQUIRED
from acceptance.test_cli_hostile import no_last_resort  # noqa: F401 (a fixture)
from helpers import make_node
from rke2image.cli.main import main

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
GROWTH_LIMIT = 256 << 20  # bytes of peak RSS an audit may add: files are read bounded
HANG_GUARD = 120  # seconds before an example counts as hung

# Node paths the audit reads (relative to the root), and /proc/sys values.
PLACES = [
    "etc/sysctl.d/{name}.conf",
    "usr/lib/sysctl.d/{name}.conf",
    "run/sysctl.d/{name}.conf",
    "etc/sysctl.conf",
    "etc/hostname",
    "etc/passwd",
    "etc/group",
    "etc/rancher/rke2/config.yaml",
    "etc/rancher/rke2/config.yaml.d/{name}.yaml",
    "etc/default/rke2-server",
    "var/lib/rancher/rke2/agent/logs/kubelet.log",
    "var/lib/rancher/rke2/agent/logs/kubelet.log.{name}",
    "var/lib/rancher/rke2/agent/logs/kubelet.log.{name}.gz",
    "etc/systemd/system/rke2-server.service.d/10-rke2image-preflight.conf",
    "PROC/kernel/panic",
    "PROC/vm/overcommit_memory",
]
SHAPES = [
    "sparse",  # 1 GiB of NULs without a newline
    "fifo",
    "folder",
    "link-out",  # an absolute host path: inside the root it does not exist
    "link-loop",
    "link-zero",  # /dev/zero: inside the root, absent; under --proc-sys, the device
    "link-pagemap",
    "binary",
    "text",
    "missing",
]
names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
    st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b),
)
contents = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"kernel.panic = 0\n",
            b"kernel.panic = \xd9\xa1\xd9\xa0\n",
            b"profile: cis\n" + b"a: &a [" + b"*a," * 20 + b"]\n",
            b"\x1b[2J\x1b]0;owned\x07compliant\n",
            b"-kernel.panic\n",
            b"invalid kernel flag: kernel/panic, expected value: 10, actual value: 0",
        ]
    ),
)


class Hung(Exception):
    pass


@pytest.fixture
def alarm() -> Iterator[None]:
    def hung(_signum: int, _frame: FrameType | None) -> None:
        raise Hung(f"an audit ran over {HANG_GUARD} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _lay(root: Path, live: Path, place: str, name: object, shape: str, data: bytes) -> None:
    rel = place.format(name="N")
    base, target = (live, rel[len("PROC/") :]) if rel.startswith("PROC/") else (root, rel)
    path = os.path.join(os.fsencode(base), os.fsencode(target))
    if "{name}" in place:
        raw = name if isinstance(name, bytes) else os.fsencode(str(name))
        path = path.replace(b"N", raw.replace(b"/", b"_").replace(b"\0", b"_") or b"x", 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            return
        os.unlink(path)
    if shape == "sparse":
        with open(path, "wb") as handle:
            handle.truncate(1 << 30)
    elif shape == "fifo":
        os.mkfifo(path)
    elif shape == "folder":
        os.mkdir(path)
    elif shape == "link-out":
        os.symlink(os.fsencode(root.parent / "outside"), path)
    elif shape == "link-loop":
        os.symlink(os.path.basename(path), path)
    elif shape == "link-zero":
        os.symlink(b"/dev/zero", path)
    elif shape == "link-pagemap":
        os.symlink(b"/proc/self/pagemap", path)
    elif shape in {"binary", "text"}:
        with open(path, "wb") as handle:
            handle.write(data)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(PLACES), names, st.sampled_from(SHAPES), contents),
        min_size=1,
        max_size=5,
    )
)
def test_any_root_is_audited_without_internal_error_hang_or_growth(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    alarm: None,
    no_last_resort: None,  # noqa: F811
    layout: list[tuple[str, object, str, bytes]],
) -> None:
    base = tmp_path_factory.mktemp("root")
    root = build_root(base, "ubuntu-22.04")
    install_node(root, make_node(sysctl={}))
    (base / "outside").write_text("kernel.panic = 0\n" + "invalid kernel flag: kernel/panic, ")
    live = proc_sys(base, REQUIRED)
    for place, name, shape, data in layout:
        _lay(root, live, place, name, shape, data)
    empty = base / "empty.log"
    empty.write_text("")
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    args = ["audit", "--root", str(root), "--proc-sys", str(live), "--rke2-log", str(empty)]
    for fmt in ("text", "npd", "json"):
        signal.alarm(HANG_GUARD)
        try:
            code = main([*args, "--format", fmt])
        finally:
            signal.alarm(0)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), err
        assert "Traceback" not in err and "internal error" not in err
        assert (out == "") == (code == 2), err
        if code == 2:
            assert err.startswith("rke2image: error: ") and err.count("\n") == 1, err
        elif fmt == "json":
            json.dumps(json.loads(out), ensure_ascii=False).encode("utf-8")  # no lone surrogate
        else:
            assert not CONTROL.search(out), out
        if fmt == "npd":
            assert code == 2 or out.count("\n") == 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak - start < GROWTH_LIMIT, (start, peak)
    sys.stdout.flush()


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.sampled_from(["audit", "fleet"]), st.data())
def test_random_audit_and_fleet_arguments_never_reach_the_last_resort(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    alarm: None,
    no_last_resort: None,  # noqa: F811
    command: str,
    data: st.DataObject,
) -> None:
    base = tmp_path_factory.mktemp("args")
    root = build_root(base, "debian-12")
    live = proc_sys(base, REQUIRED)
    empty = base / "empty.log"
    empty.write_text("")
    os.mkfifo(base / "fifo.prom")
    os.symlink(os.devnull, base / "null.prom")  # never /dev/null itself: a bug would replace it
    words = st.one_of(
        st.sampled_from(
            [
                "--root",
                "",
                "/nonexistent",
                str(root),
                "--proc-sys",
                str(live),
                "--format",
                "text",
                "json",
                "npd",
                "prometheus",
                "markdown",
                "--textfile",
                str(base / "null.prom"),
                str(base / "fifo.prom"),
                str(base / "out.prom"),
                "--kubelet-log",  # a pipe named here is read, as `<(journalctl …)` must be
                str(empty),
                "--role",
                "server",
                "--node-name",
                "\x1b[2J",
                "--now",
                "9999-12-31T23:59:59-01:00",
                "2026-11-26T04:00:00Z",
                "--max-age",
                "9" * 5000,
                "1h30m",
                str(base),
            ]
        ),
        st.text(max_size=8),
    )
    argv = data.draw(st.lists(words, max_size=6))
    fixed = ["--root", str(root), "--rke2-log", str(empty)] if command == "audit" else [str(base)]
    signal.alarm(HANG_GUARD)
    try:
        code = main([command, *fixed, *argv])
    except SystemExit as exited:  # argparse: --help, usage errors
        code = int(exited.code or 0)
    finally:
        signal.alarm(0)
    _, err = capsys.readouterr()
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
