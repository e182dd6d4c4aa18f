"""Persistence that wins under both boot tools: rke2image's sysctl file, and every line
that would still override a required value at the next boot commented out in place.

The boot semantics are the audit's own, not a second parser: the planned edits are laid
over each tool's ``BootPlan`` and the writers around it (``fix.afterfix``), and the
audit's models are asked again, until every key ends with its required value or with a
writer fix may not touch (the kernel command line, TuneD's profile, a file outside the
sysctl folders), which the plan names as ``fix-cannot-persist`` with the audit's fix.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from rke2image.audit.boot import BootWriters
from rke2image.audit.model import ParameterResult
from rke2image.audit.params import verdict
from rke2image.errors import InputError
from rke2image.fix.afterfix import (
    OURS,
    files_after,
    parse_ours,
    writers_after,
)
from rke2image.kernel import KERNEL_DEFAULTS, normalize_key
from rke2image.rootfs import RootFS
from rke2image.sysctld import SYSCTL_CONF, SYSCTL_DIRS, Assignment, BootPlan
from rke2image.sysctlkeys import is_glob, key_parts

HEADER = (
    "# Written by `rke2image fix` on {date}: the kernel parameters kubelet requires with\n"
    "# protect-kernel-defaults (and RKE2's profile: cis start check). The name sorts after\n"
    "# the distro's files and 99-sysctl.conf, so these values win at boot (sysctl.d(5)).\n"
)
MARKER = "# rke2image fix {date} commented out: "
_MAX_ROUNDS = 64  # each round comments out one line; a root has far fewer overriding lines
_WRITERS = {"cmdline": "the kernel command line", "tuned": "TuneD"}


class Edit(NamedTuple):
    """A line of a file to comment out, and why."""

    target: str  # node path of the file (after links)
    line: int
    reason: str
    key: str


class Stuck(NamedTuple):
    """A key fix cannot make right at the next boot: the writer that wins, in the
    audit's words, and how to change it by hand."""

    key: str
    why: str
    fix: str
    file: str | None = None
    line: int | None = None


class Persistence(NamedTuple):
    ours_old: bytes | None  # rke2image's file now (None: absent)
    ours_new: bytes | None  # None: left as it is
    ours_reasons: tuple[str, ...]
    ours_target: str
    edits: tuple[Edit, ...]
    stuck: tuple[Stuck, ...]  # keys fix cannot persist


class _Boot(NamedTuple):
    """The sysctl files and the writers around them, as one tool reads them at boot."""

    tool: str
    plan: BootPlan
    writers: BootWriters


def allowed(node_path: str) -> bool:
    """Files fix may write: the sysctl folders and /etc/sysctl.conf, nothing else."""
    folder = posixpath.dirname(node_path)
    return node_path == SYSCTL_CONF or folder in SYSCTL_DIRS


def plan_persistence(
    fs: RootFS,
    plans: Mapping[str, BootPlan],
    writers: BootWriters,
    params: Sequence[ParameterResult],
    date: str,
    create: bool = False,
) -> Persistence:
    """The edits that make every parameter of ``params`` that a tool leaves wrong at the
    next boot (the audit's ``next_boot_ok``) boot with its expected value; ``create``:
    write rke2image's file even when no value needs it (the audit misses it)."""
    wanted = {p.key: p.expected for p in params if p.verdict != "missing"}
    need = [
        p.key
        for p in params
        if p.key in wanted and not (p.next_boot_ok("systemd") and p.next_boot_ok("procps"))
    ]
    blocked = _unwritable(fs)
    if blocked is not None:
        # Writing through the link would write outside the sysctl folders (or /dev/null),
        # and replacing it would undo someone's choice: name it, change nothing.
        why = f"rke2image's sysctl file {OURS} is {blocked}: fix does not replace it"
        fix = f"replace {OURS} with a regular file (or remove it), then run rke2image fix again"
        return Persistence(None, None, (), OURS, (), tuple(Stuck(k, why, fix, OURS) for k in need))
    target = fs.resolve(OURS).node_path
    old = _read_bytes(fs, target)
    reasons: list[str] = []
    new: bytes | None = None
    if old is None and (need or create):
        body = [HEADER.format(date=date)] + [f"{k} = {v}\n" for k, v in wanted.items()]
        new = "".join(body).encode()
        reasons.append(f"rke2image's sysctl file sets the {len(wanted)} required values")
    elif old is not None and need:
        new, reasons = _update_ours(old, plans, wanted, need)
        new = None if new == old else new
    after = new if new is not None else old
    ours = {tool: parse_ours(plan, after) for tool, plan in plans.items()}

    def target_of(listed: str) -> str | None:
        return _target_of(fs, plans, listed)

    commented: dict[tuple[str, int], Edit] = {}
    stuck: list[Stuck] = []
    for key in need:
        for _ in range(_MAX_ROUNDS):
            boots = [
                _Boot(
                    tool,
                    files_after(plan, ours[tool], commented),
                    writers_after(writers, after, commented, target_of),
                )
                for tool, plan in plans.items()
            ]
            found = _blocker(boots, key, wanted[key])
            if found is None:
                break
            if isinstance(found, Stuck):
                stuck.append(found)
                break
            line, why = found
            where = target_of(line.file)
            if where is None or not allowed(where) or where == target:
                stuck.append(
                    Stuck(
                        key,
                        f"{line.file}:{line.line} sets {line.value}, outside what fix edits",
                        writers.fix_words(line.file, line.line, key, wanted[key]),
                        line.file,
                        line.line,
                    )
                )
                break
            commented[(where, line.line)] = Edit(where, line.line, why, key)
    if new is not None:
        stuck_keys = {s.key for s in stuck}
        reasons += [
            r for key in need if key not in stuck_keys for r in _beaten(plans, writers, key)
        ]
    return Persistence(old, new, tuple(reasons), target, tuple(commented.values()), tuple(stuck))


def _blocker(boots: list[_Boot], key: str, expected: str) -> tuple[Assignment, str] | Stuck | None:
    """The first tool whose next boot, after the edits so far, still leaves ``key`` wrong:
    the sysctl line to comment out and why, or why fix cannot."""
    for boot in boots:
        in_files = boot.plan.resolve(key)
        whole = boot.writers.around(in_files, key)
        if _right(whole.value, key, expected):
            continue
        tool = _tool_name(boot.tool)
        winner = whole.winner
        source = boot.writers.source(winner.file) if winner is not None else None
        if winner is not None and source in ("sysctl.d", "sysctl.conf"):
            reapplied = winner != in_files.winner
            by = f"{tool}, then TuneD's re-application" if reapplied else tool
            return (
                winner,
                f"{winner.file}:{winner.line} `{key} = {winner.value}` overrides "
                f"{expected} at the next boot ({by})",
            )
        cancel = _cancelling(boot.plan, key)
        if cancel is not None:
            return (
                cancel,
                f"{cancel.file}:{cancel.line} `-{key}` cancels {key} = {expected} "
                f"at the next boot ({tool})",
            )
        if winner is not None and source in _WRITERS:
            when = (
                "after every sysctl file"
                if source == "tuned"
                else f"and {tool} writes no line over it"
            )
            why = (
                f"{_WRITERS[source]} sets {key} = {winner.value} ({winner.file}:{winner.line}) "
                f"{when}, and fix edits only sysctl files"
            )
            if source == "tuned" and not boot.writers.tuned_reapply:
                # BootWriters cannot tell "reapply_sysctl off" from "on, nothing to re-apply"
                why += (
                    "; unless TuneD re-applies /etc/sysctl.d after its profile (reapply_sysctl): "
                    "then rke2image's file wins, as the audit after --apply shows"
                )
            return Stuck(
                key,
                why,
                boot.writers.fix_words(winner.file, winner.line, key, expected),
                winner.file,
                winner.line,
            )
        if boot.plan.blocked_at is not None:
            return Stuck(
                key,
                f"{tool} blocks on a FIFO or device among its files and writes nothing",
                "replace that file with a regular file (the audit's sysctl-file-unreadable)",
            )
        return Stuck(key, f"{tool} leaves {key} unset", f"add {key} = {expected} by hand")
    return None


def _right(value: str | None, key: str, expected: str) -> bool:
    """The audit's verdict on a boot value: compared as the kernel parses it, a refused
    write or no write leaving the kernel's default."""
    return verdict(expected, None, value, KERNEL_DEFAULTS.get(key), False) == "ok"


def _cancelling(plan: BootPlan, key: str) -> Assignment | None:
    """systemd-sysctl only: the bare ``-key`` line that ends its ordered map's entry for
    ``key`` (sysctl.c parse_file: a different value replaces the entry, same values keep
    the first; apply_all skips an entry without a value), so nothing writes the key."""
    if plan.tool != "systemd":
        return None
    name = "/".join(key_parts(normalize_key(key)))
    entry = None
    for a in plan.assignments:
        if a.key != name or (entry is not None and entry.value == a.value):
            continue
        entry = a
    return entry if entry is not None and entry.value is None else None


def _beaten(plans: Mapping[str, BootPlan], writers: BootWriters, key: str) -> list[str]:
    """The kernel command line or TuneD setting the boot's wrong value today, which
    rke2image's file overrides after the fix (fix does not edit them)."""
    seen = []
    for plan in plans.values():
        winner = writers.around(plan.resolve(key), key).winner
        source = writers.source(winner.file) if winner is not None else None
        if winner is not None and source in _WRITERS:
            text = (
                f"{key} = {winner.value} from {_WRITERS[source]} ({winner.file}:{winner.line}) "
                "is overridden by this file at the next boot, and left as it is"
            )
            if text not in seen:
                seen.append(text)
    return seen


def comment_out(data: bytes, numbers: Iterable[int], date: str) -> bytes:
    """``data`` with the given lines (1-based) turned into comments that keep the old line."""
    lines = _split(data)
    marker = MARKER.format(date=date).encode()
    for number in sorted(set(numbers)):
        line = lines[number - 1]
        body = line.rstrip(b"\n")
        lines[number - 1] = marker + body + line[len(body) :]
    return b"".join(lines)


def commentable(data: bytes, number: int) -> bool:
    """Whether line ``number`` exists and is a setting (not already a comment)."""
    lines = _split(data)
    if not 1 <= number <= len(lines):
        return False
    text = lines[number - 1].strip()
    return bool(text) and text[:1] not in (b"#", b";")


def _unwritable(fs: RootFS) -> str | None:
    """Why rke2image's file cannot be written where the tools read it, or None."""
    try:
        resolved = fs.resolve(OURS)
    except InputError:
        return "a link loop"
    if resolved.is_dev_null:
        return "masked (a link to /dev/null)"
    if not allowed(resolved.node_path):
        return f"a link to {resolved.node_path}, outside the sysctl folders"
    if os.path.lexists(resolved.host_path) and not fs.is_file(resolved.node_path):
        return "not a regular file"
    return None


def _update_ours(
    old: bytes, plans: Mapping[str, BootPlan], wanted: Mapping[str, str], need: list[str]
) -> tuple[bytes, list[str]]:
    """rke2image's own file: each needed key's wrong lines rewritten in place (a bare
    ``-key`` included), or the setting appended when no line names the key. Which lines
    name a key is each tool's own answer (``resolve`` over this file's lines alone)."""
    lines = _split(old)
    naming: dict[str, set[int]] = {key: set() for key in need}
    wrong: dict[str, set[int]] = {key: set() for key in need}
    for plan in plans.values():
        alone = plan._replace(assignments=tuple(parse_ours(plan, old)), blocked_at=None)
        for key in need:
            found = alone.resolve(key)
            named = [a for a in (found.winner, *found.overridden) if a and not is_glob(a.key)]
            cancel = _cancelling(alone, key)
            for a in [*named, *([cancel] if cancel else [])]:
                naming[key].add(a.line)
                if a.value is None or not _right(a.value, key, wanted[key]):
                    wrong[key].add(a.line)
    reasons = []
    for key in need:
        setting = f"{key} = {wanted[key]}\n".encode()
        if wrong[key]:
            for n in sorted(wrong[key]):
                lines[n - 1] = setting
            reasons.append(f"{OURS} sets {key} = {wanted[key]}")
        elif not naming[key]:
            if lines and not lines[-1].endswith(b"\n"):
                lines[-1] += b"\n"
            lines.append(setting)
            reasons.append(f"{OURS} gains {key} = {wanted[key]}")
    return b"".join(lines), reasons


def _target_of(fs: RootFS, plans: Mapping[str, BootPlan], listed: str) -> str | None:
    """The file a listed path reads (after links), or None when it is masked or absent."""
    for plan in plans.values():
        for conf in plan.files:
            if conf.path == listed:
                return None if conf.masked or conf.missing else conf.target
    try:
        resolved = fs.resolve(listed)
    except InputError:
        return None
    return None if resolved.is_dev_null else resolved.node_path


def _tool_name(tool: str) -> str:
    return "systemd-sysctl" if tool == "systemd" else "sysctl --system"


def _read_bytes(fs: RootFS, node_path: str) -> bytes | None:
    if not fs.is_file(node_path):
        return None
    return fs.resolve(node_path).host_path.read_bytes()


def _split(data: bytes) -> list[bytes]:
    """Lines as systemd-sysctl and procps split them: at LF only, each keeping its end."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines
