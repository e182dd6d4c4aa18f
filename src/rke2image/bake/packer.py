"""The one module that talks to Packer, through packer-py's PackerExecutable.

It passes the Packer path explicitly, checks every return code, streams
Packer's output as it comes, forwards Ctrl-C/SIGTERM so Packer can clean up,
and turns failures into PackerFailed with the tail of Packer's own output.

Packer 1.6.6 (Debian's) has the builders built in and rejects a
required_plugins block; from 1.7 on they are plugins that `packer init`
installs from required_plugins (from 1.10 on no longer bundled at all). So a
project gets packer/plugins/required-plugins.pkr.hcl and a `packer init` only
from 1.7 on: see ``needs_plugins``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packerpy import PackerExecutable  # type: ignore[import-untyped]

from rke2image.bake.progress import PackerEvent, is_shown, parse_line
from rke2image.bake.stopper import Stopper
from rke2image.errors import PackerFailed, ToolNotFound, tail

EventSink = Callable[[PackerEvent], None]
FIRST_PLUGIN_VERSION = (1, 7, 0)

INSTALL_HINT = (
    "install Packer (Debian/Ubuntu: `apt-get install packer`, or a release from "
    "https://developer.hashicorp.com/packer/install) or pass --packer PATH"
)


class BuildInterrupted(PackerFailed):
    """The build was stopped by Ctrl-C or SIGTERM after Packer cleaned up."""

    exit_code = 130


class _StreamingPackerExecutable(PackerExecutable):  # type: ignore[misc]
    """PackerExecutable that streams.

    packer-py 0.3.0's execute_cmd runs ``Popen(...).communicate()``, so nothing
    is seen until Packer exits and a signal cannot be forwarded. This subclass
    keeps packer-py's command line building (configuration, _explode_args) and
    replaces only the process handling. Extra settings arrive through
    packer-py's public ``config`` dict: ``cwd``, ``env``, ``on_line`` (called
    with each output line) and ``timeout`` (seconds, or None).
    """

    stopped_by: str | None = None  # "SIGINT", "SIGTERM" or "timeout" once stopped

    def execute_cmd(
        self, packer_cmd: str, template: str | None = None, **kwargs: Any
    ) -> tuple[int, str, str]:
        conf = self.configuration
        args = [conf[PackerExecutable.PATH], packer_cmd]
        if "machine-readable" in conf:
            args.append("-machine-readable")
        args.extend(self._explode_args(**kwargs))
        if template:
            args.append(template)
        # A session of its own: see rke2image.bake.stopper.
        proc = subprocess.Popen(
            args,
            cwd=conf.get("cwd"),
            env=conf.get("env"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        stopper = Stopper(proc, conf.get("timeout"))
        on_line: Callable[[str], None] = conf.get("on_line") or (lambda _line: None)
        lines: list[str] = []
        with proc, stopper:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line)
            returncode = proc.wait()
        self.stopped_by = stopper.reason
        return returncode, "".join(lines), ""


class Packer:
    """A Packer binary, run in one project folder."""

    def __init__(
        self,
        path: str | None = None,
        on_event: EventSink | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.path = resolve_packer(path)
        self.on_event = on_event
        self.env = env

    def version(self) -> tuple[int, int, int]:
        """The (major, minor, patch) of `packer version`."""
        code, output = self._run("version", Path.cwd(), None)
        self._check("version", code, output)
        match = re.search(r"\bversion,(\d+)\.(\d+)\.(\d+)", output) or re.search(
            r"Packer v(\d+)\.(\d+)\.(\d+)", output
        )
        if not match:
            raise PackerFailed.from_process("version (unrecognised output)", 0, output)
        major, minor, patch = (int(g) for g in match.groups())
        return major, minor, patch

    def needs_plugins(self) -> bool:
        """True for Packer versions that install builders with `packer init` (>= 1.7)."""
        return self.version() >= FIRST_PLUGIN_VERSION

    def init(self, project: Path) -> None:
        """Install the plugins of required_plugins (Packer >= 1.7 only)."""
        self._check("init", *self._run("init", project, ".", machine_readable=False))

    def validate(self, project: Path, only: str, var_file: str) -> None:
        """`packer validate` of one source with one variables file; PackerFailed if invalid."""
        self._check("validate", *self._run("validate", project, ".", only=only, var_file=var_file))

    def build(self, project: Path, only: str, var_file: str, timeout: float | None = None) -> str:
        """Run the build; return Packer's output (the manifest holds the artifacts)."""
        code, output = self._run(
            "build", project, ".", timeout, only=only, var_file=var_file, force=True
        )
        self._check("build", code, output)
        return output

    def _check(self, action: str, code: int, output: str) -> None:
        if code != 0:
            raise PackerFailed.from_process(action, code, _plain(output))

    def _run(
        self,
        command: str,
        cwd: Path,
        template: str | None,
        timeout: float | None = None,
        machine_readable: bool = True,
        **kwargs: Any,
    ) -> tuple[int, str]:
        started = time.monotonic()
        loud = command != "version"  # progress only for the work itself

        def on_line(line: str) -> None:
            event = parse_line(line, time.monotonic() - started)
            if event is not None and self.on_event is not None and is_shown(event) and loud:
                self.on_event(event)

        config = {"cwd": str(cwd), "env": self.env, "on_line": on_line, "timeout": timeout}
        executable = _StreamingPackerExecutable(self.path, machine_readable, config)
        # packer-py's own methods where it has one (build, validate, version).
        method = getattr(executable, command, None)
        try:
            if method is None:
                code, output, _ = executable.execute_cmd(command, template, **kwargs)
            elif template is None:
                code, output, _ = method(**kwargs)
            else:
                code, output, _ = method(template, **kwargs)
        except OSError as error:
            raise ToolNotFound(f"cannot run {self.path}: {error}; {INSTALL_HINT}") from error
        reason = executable.stopped_by
        if reason == "timeout":
            raise PackerFailed(
                f"packer {command} timed out after {timeout}s and was stopped",
                code,
                tail(_plain(output)),
            )
        if reason is not None:
            raise BuildInterrupted(
                f"packer {command} stopped by {reason}; Packer cleaned up and exited {code}",
                code,
                tail(_plain(output)),
            )
        return code, output


def resolve_packer(path: str | None) -> str:
    """The Packer executable to run, or ToolNotFound with an install hint (exit 2)."""
    found = shutil.which(path or "packer")
    if found is None:
        what = f"packer binary {path!r}" if path else "packer"
        raise ToolNotFound(f"{what} not found; {INSTALL_HINT}")
    return found


def _plain(output: str) -> str:
    """Packer's output as a person reads it (machine-readable escaping undone)."""
    events = (parse_line(line, 0.0) for line in output.splitlines())
    return "\n".join(e.text for e in events if e is not None and is_shown(e))
