"""Every writer of a kernel value at boot, in the order they run, around the sysctl files.

The kernel applies its command line first (``audit.cmdline``), then systemd-sysctl (or
procps ``sysctl --system``) applies the sysctl files, overriding it, then TuneD writes its
profile's options, overriding those, and re-applies /etc/sysctl.d and /etc/sysctl.conf
after itself when ``reapply_sysctl`` is on (``audit.tuned``). A file tool's resolution
(``sysctld.Resolution``) becomes the resolution of the whole boot, its lines named by source.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from rke2image.audit.cmdline import PROC_CMDLINE, Write, next_boot_cmdline
from rke2image.audit.tuned import read_tuned
from rke2image.rootfs import RootFS
from rke2image.sysctld import SYSCTL_CONF, Assignment, Resolution


class BootWriters(NamedTuple):
    cmdline: tuple[Write, ...]
    tuned: tuple[Write, ...]
    tuned_reapply: tuple[Write, ...]
    tuned_profile: str | None

    def around(self, resolution: Resolution, key: str) -> Resolution:
        """``resolution`` of a sysctl file tool with the command line before it and TuneD
        after it: the value the boot leaves, the line that wins, the lines it beats."""
        steps: list[Assignment] = [_line(w) for w in self.cmdline if w.key == key]
        if resolution.winner is not None:
            steps += [*resolution.overridden, resolution.winner]
        steps += [_line(w) for w in self.tuned if w.key == key]
        # every key of /run and /etc/sysctl.d, not only the profile's (empty when TuneD
        # has no sysctl unit or reapply_sysctl is off)
        steps += [_line(w) for w in self.tuned_reapply if w.key == key]
        if not steps:
            return resolution
        winner = steps[-1]
        beaten = [*resolution.overridden] if resolution.winner is None else []
        return Resolution(
            winner.value, winner, tuple(s for s in [*beaten, *steps] if s is not winner)
        )

    def source(self, file: str) -> str:
        """cmdline, tuned, sysctl.conf or sysctl.d: who wrote a line of ``file``."""
        if any(w.file == file for w in self.cmdline):
            return "cmdline"
        if any(w.file == file for w in self.tuned):
            return "tuned"
        return "sysctl.conf" if file == SYSCTL_CONF else "sysctl.d"

    def fix_words(self, file: str, line: int, key: str, expected: str) -> str:
        """How to change the line that sets a wrong value, in its writer's terms."""
        source = self.source(file)
        if file == PROC_CMDLINE:
            return (
                f"remove the {key} setting from the kernel command line the boot loader "
                f"passes (this boot's {file} has it; the boot loader's config is not in the root)"
            )
        if source == "cmdline":
            return (
                f"remove the {key} setting from the kernel command line in {file}:{line} "
                "(then regenerate the boot loader's config: update-grub or grub2-mkconfig; "
                "grubby --remove-args for BLS entries)"
            )
        if source == "tuned":
            return (
                f"edit {file}:{line} to {key} = {expected} in TuneD profile "
                f"{self.tuned_profile} (or remove the line)"
            )
        return f"edit {file}:{line} to {key} = {expected} (or remove the line)"


def read_boot_writers(fs: RootFS, proc: Path | None) -> BootWriters:
    """``proc``: the live /proc of this boot (None for an image root)."""
    tuned = read_tuned(fs)
    return BootWriters(
        tuple(next_boot_cmdline(fs, proc)),
        tuple(tuned.writes),
        tuple(tuned.reapply),
        tuned.profile,
    )


def _line(write: Write) -> Assignment:
    return Assignment(write.key, write.value, write.file, write.line)
