"""The one helpers module of the tests: the repository, outside tools, a default
NodeSpec, golden headers of examples/invalid/, and running the preflight.

- ``REPO``: the repository root; tests name files relative to it.
- ``require_tool(name)``: a tool's path; with CI=true a missing tool FAILS the
  test, locally it skips with the reason.
- ``make_node(**fields)``: a NodeSpec built directly, valid by construction.
- The preflight is a shell script, so its tests run it for real under each shell
  a node may have as /bin/sh (``SHELLS``, ``run_preflight``, fake trees).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rke2image import resources
from rke2image.kernel import KUBELET_MISMATCH, REQUIRED_PARAMETERS
from rke2image.spec.check import check_bytes
from rke2image.spec.model import NodeSpec, TokenRef

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


def require_tool(name: str) -> str:
    """The tool's path; fail on CI (CI=true) and skip locally when it is absent.

    A tool installed beside this interpreter (the test venv's bin/, on PATH or not:
    pre-commit, check-jsonschema, rke2image) comes first.
    """
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: a missing tool is a failure)")
        pytest.skip(message)
    return path


# The fields of a typical CIS first master; tests override what they check.
NODE_DEFAULTS: dict[str, Any] = {
    "name": "cp-1",
    "role": "server",
    "cluster_init": True,
    "server": None,
    "os": "ubuntu-22.04",
    "rke2_version": "v1.31.4+rke2r1",
    "profile": "cis",
    "token": TokenRef(file="/etc/rancher/rke2/token"),
    "rke2_config": {"tls-san": ["cp.example.com"]},
    "sysctl": {"fs.inotify.max_user_instances": "8192"},
    "modules": ("overlay", "br_netfilter"),
    "preflight_mode": "remediate",
}


def make_node(**fields: Any) -> NodeSpec:
    """A NodeSpec of NODE_DEFAULTS with ``fields`` replacing them."""
    return NodeSpec(**{**NODE_DEFAULTS, **fields})


# --- the README's rules table, generated from rke2image.spec.catalog ---------

README = REPO / "README.md"


def readme_rules_table() -> str:
    """The rules table as it stands in the README: its head line and every row below."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| rule | severity |")
    return text[start : text.index("\n\n", start) + 1]


# --- golden headers of examples/invalid/ -------------------------------------
# A header is a block of '# ' lines ending with '# ---'; UPDATE_GOLDEN=1 rewrites
# the headers from what the validator prints now.

HEADER_END = b"# ---\n"


def split_header(raw: bytes) -> tuple[list[str], bytes]:
    if HEADER_END not in raw:
        return [], raw
    head, body = raw.split(HEADER_END, 1)
    lines = [line[2:] for line in head.decode().splitlines()]
    return lines, body


def diagnostics(raw: bytes, display: str) -> list[str]:
    return [p.format_text() for p in check_bytes(raw, display).problems]


def header_for(lines: list[str], display: str) -> bytes:
    block = [f"Running `rke2image validate {display}` prints:", *lines]
    return "".join(f"# {line}\n" for line in block).encode() + HEADER_END


def regenerate(path: Path, display: str) -> None:
    _, body = split_header(path.read_bytes())
    draft = header_for([""] * len(diagnostics(body, display)), display) + body
    # The header shifts every line; compute the diagnostics with it in place.
    path.write_bytes(header_for(diagnostics(draft, display), display) + body)


# --- the preflight ------------------------------------------------------------

PREFIX = "rke2image-preflight: "
REAL_PROC_SYS = "/proc/sys"

# (id, argv that runs a script file) for every common /bin/sh.
SHELLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dash", ("dash",)),
    ("bash-posix", ("bash", "--posix")),
    ("busybox-sh", ("busybox", "sh")),
)
SHELL_IDS = [name for name, _ in SHELLS]

MISMATCH_RE = re.compile(
    "^"
    + re.escape(PREFIX)
    + r"invalid kernel flag: (?P<flag>[^,]+), expected value: (?P<expected>.*?), "
    r"actual value: (?P<actual>.*?)(?: \(ignored: .*\))?$"
)


def shell_argv(shell_id: str) -> tuple[str, ...]:
    """The argv prefix for a shell id of SHELLS, after checking the shell exists."""
    argv = dict(SHELLS)[shell_id]
    require_tool(argv[0])
    return argv


def write_script(folder: Path) -> Path:
    """Write the shipped preflight (read as the renderer reads it) into folder."""
    path = folder / "preflight"
    path.write_text(resources.read_text("templates", "preflight.sh"), encoding="utf-8")
    path.chmod(0o755)
    return path


def kubelet_line(flag: str, expected: str, actual: str) -> str:
    """The exact line the preflight prints for a mismatch."""
    return PREFIX + KUBELET_MISMATCH.format(flag=flag, expected=expected, actual=actual)


def required_values() -> dict[str, str]:
    """The six kubelet parameters as {dotted key: value}, from rke2image.kernel."""
    return {p.key: p.value for p in REQUIRED_PARAMETERS}


def sysctl_text(values: Mapping[str, str]) -> str:
    """A sysctl.d file setting values, one `key = value` line each."""
    return "".join(f"{key} = {value}\n" for key, value in values.items())


@dataclass
class FakeTree:
    """A fake /proc/sys: one file per key, holding the value and a newline."""

    root: Path

    def path(self, key: str) -> Path:
        """The file of a dotted or slashed key."""
        return self.root / (key.replace(".", "/") if "." in key.split("/")[0] else key)

    def set(self, key: str, value: str) -> None:
        """Create or overwrite a key the way the kernel prints it."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="utf-8")

    def get(self, key: str) -> str:
        """The raw content of a key, without the final newline."""
        return self.path(key).read_text(encoding="utf-8").rstrip("\n")

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the tree and its bytes, to prove nothing changed."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }


def make_tree(root: Path, values: Mapping[str, str]) -> FakeTree:
    """A fake tree holding values."""
    tree = FakeTree(root)
    root.mkdir(parents=True, exist_ok=True)
    for key, value in values.items():
        tree.set(key, value)
    return tree


@dataclass
class Result:
    """What a preflight run printed and returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def out_lines(self) -> list[str]:
        return self.stdout.splitlines()

    def mismatches(self) -> dict[str, tuple[str, str]]:
        """{flag: (expected, actual)} from the kubelet-worded lines."""
        found = {}
        for line in self.err_lines:
            match = MISMATCH_RE.match(line)
            if match:
                found[match["flag"]] = (match["expected"], match["actual"])
        return found


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment: PATH, and no RKE2IMAGE_* leaking from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKE2IMAGE_")}
    env.update(extra or {})
    return env


def run_preflight(
    shell_id: str,
    script: Path,
    args: Iterable[str],
    env: Mapping[str, str] | None = None,
    prefix: Iterable[str] = (),
) -> Result:
    """Run the preflight under a shell; refuse anything that could remediate this kernel."""
    args = list(args)
    full_env = base_env(env)
    _refuse_real_remediation(args, full_env)
    argv = [*prefix, *shell_argv(shell_id), str(script), *args]
    done = subprocess.run(
        argv, env=full_env, check=False, capture_output=True, text=True, timeout=60
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _refuse_real_remediation(args: list[str], env: Mapping[str, str]) -> None:
    """Tests never change this machine's kernel parameters: enforce or warn on /proc/sys only."""
    mode = "remediate"
    proc_sys = env.get("RKE2IMAGE_PROC_SYS") or REAL_PROC_SYS
    for i, arg in enumerate(args):
        if arg in ("--mode", "--proc-sys") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(("--mode=", "--proc-sys=")):
            value = arg.split("=", 1)[1]
        else:
            continue
        if arg.startswith("--mode"):
            mode = value
        else:
            proc_sys = value
    if os.path.realpath(proc_sys).startswith("/proc") and mode not in ("enforce", "warn"):
        raise AssertionError("a test tried to run the preflight in remediate mode on /proc/sys")


def unprivileged_prefix() -> tuple[str, ...]:
    """argv prefix that runs a command as nobody, so file modes apply even to root."""
    if os.geteuid() != 0:
        return ()
    setpriv = require_tool("setpriv")
    return (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")


def promtool_series(exposition: str, instance: str) -> list[dict[str, str]]:
    """The audit's gauges as promtool input series of one scrape target, held for 30 min."""
    series = []
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name_labels, value = line.rsplit(" ", 1)
            name, _, labels = name_labels.partition("{")
            target = f'job="node",instance="{instance}"'
            labels = f"{target},{labels.rstrip('}')}" if labels else target
            series.append({"series": f"{name}{{{labels}}}", "values": f"{value}x30"})
    return series
