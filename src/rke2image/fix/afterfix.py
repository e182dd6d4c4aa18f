"""The next boot as it reads after fix's edits, asked of the audit's own models.

Fix never judges a line itself: it takes each tool's ``BootPlan`` (``rke2image.sysctld``)
and the writers around it (``audit.boot.BootWriters``: the kernel command line before,
TuneD after), replaces the lines of rke2image's file by its new content (parsed by that
tool's own parser), drops the lines it comments out, and asks ``BootPlan.resolve`` and
``BootWriters.around`` again.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection

from rke2image import paths
from rke2image.audit.boot import BootWriters
from rke2image.audit.cmdline import Write
from rke2image.audit.tuned import sysctl_file_lines
from rke2image.sysctld import SYSCTL_CONF, Assignment, BootPlan, ConfFile
from rke2image.sysctlparse import procps3_parse, procps4_parse, systemd_parse

OURS = paths.SYSCTL_FILE
OURS_NAME = posixpath.basename(OURS)
Commented = Collection[tuple[str, int]]  # (node path after links, line number)


def is_ours(file: str) -> bool:
    """A line of rke2image's sysctl file (by name: the one a tool reads under that name)."""
    return file != SYSCTL_CONF and posixpath.basename(file) == OURS_NAME


def parse_ours(plan: BootPlan, data: bytes | None) -> list[Assignment]:
    """rke2image's file as ``plan``'s tool and version parse it (``sysctld.read_plan``
    picks the parser the same way)."""
    if data is None:
        return []
    if plan.tool == "systemd":
        parsed = systemd_parse(data, OURS)
    elif (plan.version.major or 4) >= 4:
        parsed = procps4_parse(data, OURS)
    else:
        parsed = procps3_parse(data, OURS)
    return [item for item in parsed if isinstance(item, Assignment)]


def files_after(plan: BootPlan, ours: list[Assignment], commented: Commented) -> BootPlan:
    """``plan`` as its tool reads it after the fix: rke2image's lines in its file's place
    in the order (a file of that name in a later folder stays masked by it), the
    commented lines gone."""
    targets = {f.path: f.target for f in plan.files}
    rank = {f.path: i for i, f in enumerate(plan.files)}
    at = _position(plan.files)
    kept = [
        a
        for a in plan.assignments
        if not is_ours(a.file) and (targets.get(a.file, a.file), a.line) not in commented
    ]
    before = [a for a in kept if rank.get(a.file, len(plan.files)) < at]
    after = kept[len(before) :]
    blocked_at = plan.blocked_at
    if blocked_at is not None:
        stop = next(i for i, f in enumerate(plan.files) if f.kind == "blocks")
        if is_ours(plan.files[stop].path):
            blocked_at = None  # the fix replaces that FIFO or device with its file
        else:  # nothing after the blocking file was read; rke2image's file only if before it
            blocked_at = len(kept) + (len(ours) if at <= stop else 0)
            if at > stop:
                before, after = kept, []
                ours = []
    return plan._replace(assignments=(*before, *ours, *after), blocked_at=blocked_at)


def _position(files: tuple[ConfFile, ...]) -> int:
    """Where rke2image's file sits in a tool's order: by name, before /etc/sysctl.conf."""
    for index, conf in enumerate(files):
        if conf.path != SYSCTL_CONF and posixpath.basename(conf.path) >= OURS_NAME:
            return index
    return len(files) - (bool(files) and files[-1].path == SYSCTL_CONF)


def writers_after(
    writers: BootWriters,
    ours: bytes | None,
    commented: Commented,
    target_of: Callable[[str], str | None],
) -> BootWriters:
    """The writers around the file tools after the fix: TuneD's re-application of
    /etc/sysctl.d and /etc/sysctl.conf (when it re-applies them) reads rke2image's new
    file and no longer the commented lines. The kernel command line and TuneD's profile
    are not fix's to change.

    An empty re-application is read as none: whether TuneD would re-apply rke2image's
    file when the node's own files set nothing is not in ``BootWriters``, so the plan
    never counts on it."""
    if not writers.tuned_reapply:
        return writers
    kept = [
        w
        for w in writers.tuned_reapply
        if not is_ours(w.file) and (target_of(w.file), w.line) not in commented
    ]
    at = next(
        (
            i
            for i, w in enumerate(kept)
            if w.file == SYSCTL_CONF or posixpath.basename(w.file) > OURS_NAME
        ),
        len(kept),
    )
    mine = tuned_lines(ours)
    return writers._replace(tuned_reapply=(*kept[:at], *mine, *kept[at:]))


def tuned_lines(data: bytes | None) -> list[Write]:
    """rke2image's file as TuneD re-applies a sysctl file (audit/tuned.py)."""
    return [] if data is None else sysctl_file_lines(data.decode("utf-8", "replace"), OURS)
