"""Kernel parameters set on the kernel command line: this boot's and the boot loader's.

Linux 5.8+ (Documentation/admin-guide/kernel-parameters.txt, ``sysctl.*=``) writes
``sysctl.KEY=VALUE`` right before starting init, as if written to /proc/sys, with ``.`` or
``/`` as the separator (kernel/sysctl.c process_sysctl_arg); systemd-sysctl and procps run
later, so a sysctl.d line for the same key wins. ``panic=N`` sets kernel.panic and
``oops=panic`` kernel.panic_on_oops = 1 earlier still (kernel/panic.c early params), so a
``sysctl.`` word beats them. Words are split as the kernel splits them (lib/cmdline.c
next_arg: whitespace, double quotes around a value or a whole word); ``--`` ends the
kernel's own parameters.

The next boot's command line comes from the boot loader's files: GRUB's
/etc/default/grub (and grub.d/*.cfg) ``GRUB_CMDLINE_LINUX`` and
``GRUB_CMDLINE_LINUX_DEFAULT``, /etc/kernel/cmdline (kernel-install), then the generated
entries GRUB boots: the first ``linux`` line of grub.cfg and the ``options`` of the newest
Boot Loader Specification entry (/boot/loader/entries). Each file that puts a key there
counts; a generated entry is read after the files it is generated from, so it wins where
they differ. This boot's /proc/cmdline stands in when the root holds none of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from rke2image.audit.nodefile import read_node_text
from rke2image.errors import InputError
from rke2image.rootfs import RootFS

PROC_CMDLINE = "/proc/cmdline"
GRUB_DEFAULT = "/etc/default/grub"
GRUB_DEFAULT_D = "/etc/default/grub.d"
KERNEL_CMDLINE = "/etc/kernel/cmdline"
GRUB_CFGS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
BLS_ENTRIES = "/boot/loader/entries"
_GRUB_VARS = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
# Parameters older than sysctl.*= that set a required key (kernel/panic.c).
_EARLY = {"panic": "kernel.panic"}


class Write(NamedTuple):
    """One writer's value for a key at boot."""

    key: str  # dotted
    value: str
    file: str
    line: int


def next_boot_cmdline(fs: RootFS, proc: Path | None) -> list[Write]:
    """The writes of the next boot's command line, in the order they take effect.
    ``proc``: the live /proc (the parent of --proc-sys), read when the root holds no boot
    loader file."""
    found: list[tuple[str, int, str]] = []  # (file, line, command line)
    found += _grub_default(fs)
    found += _whole_file(fs, KERNEL_CMDLINE)
    found += _grub_cfg(fs)
    found += _bls_entry(fs)
    if not found and proc is not None:
        try:
            text = (proc / "cmdline").read_text(encoding="utf-8", errors="replace")[:65536]
        except OSError:
            text = ""
        found.append((PROC_CMDLINE, 1, text))
    early: list[Write] = []
    late: list[Write] = []
    for file, line, text in found:
        for word in split_words(text):
            name, equals, value = word.partition("=")
            if name.startswith("sysctl.") and equals:
                late.append(Write(name[len("sysctl.") :].replace("/", "."), value, file, line))
            elif name in _EARLY and equals:
                early.append(Write(_EARLY[name], value, file, line))
            elif word == "oops=panic":
                early.append(Write("kernel.panic_on_oops", "1", file, line))
    return early + late


def split_words(text: str) -> list[str]:
    """The command line's parameters as the kernel splits them, quotes removed."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start, quoted = i, False
        while i < n and (quoted or not text[i].isspace()):
            if text[i] == '"':
                quoted = not quoted
            i += 1
        word = text[start:i].replace('"', "")
        if word == "--":
            break
        words.append(word)
    return words


def _grub_default(fs: RootFS) -> list[tuple[str, int, str]]:
    """GRUB_CMDLINE_LINUX then _DEFAULT, as grub-mkconfig joins them for the default entry,
    after /etc/default/grub and every grub.d/*.cfg (sourced in that order) set them."""
    values: dict[str, tuple[str, int, str]] = {}
    files = [GRUB_DEFAULT] + [f"{GRUB_DEFAULT_D}/{n}" for n in _names(fs, GRUB_DEFAULT_D, ".cfg")]
    for path in files:
        text = read_node_text(fs, path).text or ""
        for number, raw in enumerate(text.splitlines(), start=1):
            match = re.match(r"\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$", raw)
            if match:
                expanded = _shell_value(match[2], {k: v[2] for k, v in values.items()})
                values[match[1]] = (path, number, expanded)
    return [values[name] for name in _GRUB_VARS if name in values]


def _shell_value(text: str, known: dict[str, str]) -> str:
    """A shell assignment's value: quotes removed, $VAR and ${VAR} of known names expanded."""
    out, i, quote = [], 0, ""
    text = text.strip()
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                out.append(c)
        elif c in "'\"" and (not quote or c == quote):
            quote = "" if quote else c
        elif c == "$":
            match = re.match(r"\$(?:\{(\w+)\}|(\w+))", text[i:])
            if match:
                out.append(known.get(match[1] or match[2], ""))
                i += match.end()
                continue
            out.append(c)
        elif not quote and (c.isspace() or (c == "#" and (not out or out[-1].isspace()))):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _whole_file(fs: RootFS, path: str) -> list[tuple[str, int, str]]:
    text = read_node_text(fs, path).text
    return [(path, 1, " ".join(text.split()))] if text and text.strip() else []


def _grub_cfg(fs: RootFS) -> list[tuple[str, int, str]]:
    """The first linux line of grub.cfg: the default entry's command line."""
    for path in GRUB_CFGS:
        text = read_node_text(fs, path).text or ""
        for number, raw in enumerate(text.splitlines(), start=1):
            words = raw.split(None, 2)
            if len(words) == 3 and words[0] in ("linux", "linuxefi", "linux16"):
                return [(path, number, words[2])]
    return []


def _bls_entry(fs: RootFS) -> list[tuple[str, int, str]]:
    """The options of the newest BLS entry (GRUB's and systemd-boot's default sorts entries
    by version, newest first)."""
    names = sorted(_names(fs, BLS_ENTRIES, ".conf"), key=_version_key)
    if not names:
        return []
    path = f"{BLS_ENTRIES}/{names[-1]}"
    text = read_node_text(fs, path).text or ""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        key, _, value = raw.strip().partition(" ")
        if key == "options":
            found.append((path, number, value))
    return found


def _names(fs: RootFS, folder: str, suffix: str) -> list[str]:
    try:
        return [n for n in fs.listdir(folder) if n.endswith(suffix)]
    except InputError:
        return []


def _version_key(name: str) -> list[tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name)]
