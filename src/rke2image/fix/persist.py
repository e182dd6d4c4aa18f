"""Persistence that wins under both boot tools: rke2image's sysctl file, and every line
that would still override a required value at the next boot commented out in place.

The boot semantics are the audit's own (``rke2image.sysctld``: ``BootPlan.outcome``), not
a second parser: the planned edits are laid over each tool's BootPlan (the lines of
rke2image's file replaced, the commented lines taken out) and ``outcome`` is asked
again, until every key ends with its required value or with a line fix may not touch.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from rke2image import paths
from rke2image.rootfs import RootFS
from rke2image.sysctld import SYSCTL_CONF, SYSCTL_DIRS, Assignment, BootPlan

OURS = paths.SYSCTL_FILE
OURS_NAME = posixpath.basename(OURS)
HEADER = (
    "# Written by `rke2image fix` on {date}: the kernel parameters kubelet requires with\n"
    "# protect-kernel-defaults (and RKE2's profile: cis start check). The name sorts after\n"
    "# the distro's files and 99-sysctl.conf, so these values win at boot (sysctl.d(5)).\n"
)
MARKER = "# rke2image fix {date} commented out: "
_MAX_ROUNDS = 64  # each round comments out one line; a root has far fewer overriding lines


class Edit(NamedTuple):
    """A line of a file to comment out, and why."""

    target: str  # node path of the file (after links)
    line: int
    reason: str
    key: str


class Persistence(NamedTuple):
    ours_old: bytes | None  # rke2image's file now (None: absent)
    ours_new: bytes | None  # None: left as it is
    ours_reasons: tuple[str, ...]
    ours_target: str
    edits: tuple[Edit, ...]
    stuck: tuple[tuple[str, str], ...]  # (key, why) fix cannot persist


def allowed(node_path: str) -> bool:
    """Files fix may write: the sysctl folders and /etc/sysctl.conf, nothing else."""
    folder = posixpath.dirname(node_path)
    return node_path == SYSCTL_CONF or folder in SYSCTL_DIRS


def plan_persistence(
    fs: RootFS,
    plans: Mapping[str, BootPlan],
    wanted: Mapping[str, str],
    needs: Iterable[str],
    date: str,
) -> Persistence:
    """The edits that make every key of ``needs`` boot with its ``wanted`` value."""
    resolved = fs.resolve(OURS)
    target = resolved.node_path
    if resolved.is_dev_null or not allowed(target):
        target = OURS  # a mask or a link out of the sysctl folders: replace the link itself
    old = _read_bytes(fs, target) if not resolved.is_dev_null else None
    lines = _split(old) if old is not None else []
    need = [k for k in wanted if k in set(needs)]
    reasons: list[str] = []
    if need and old is None:
        lines = [HEADER.format(date=date).encode()]
        lines += [f"{k} = {wanted[k]}\n".encode() for k in wanted]
        reasons.append(f"rke2image's sysctl file sets the {len(wanted)} required values")
    elif need:
        lines, reasons = _update_ours(lines, wanted, need, plans)
    new = b"".join(lines) if need else None
    if new == old:
        new = None
    ours = _assignments_of(new if new is not None else old, wanted)
    commented: dict[tuple[str, int], Edit] = {}
    stuck: list[tuple[str, str]] = []
    for key in need:
        for _ in range(_MAX_ROUNDS):
            blocker = _blocker(plans, ours, commented, key, wanted[key])
            if blocker is None:
                break
            tool, winner = blocker
            if winner is None:
                stuck.append((key, f"{tool} leaves {key} unset"))
                break
            where = _target_of(plans, winner.file)
            if where is None or not allowed(where) or where == target:
                stuck.append(
                    (
                        key,
                        f"{winner.file}:{winner.line} sets {winner.value}, outside what fix edits",
                    )
                )
                break
            commented[(where, winner.line)] = Edit(
                where,
                winner.line,
                f"{winner.file}:{winner.line} `{key} = {winner.value}` overrides "
                f"{wanted[key]} at the next boot ({_tool_name(tool)})",
                key,
            )
    return Persistence(old, new, tuple(reasons), target, tuple(commented.values()), tuple(stuck))


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


def _update_ours(
    lines: list[bytes], wanted: Mapping[str, str], need: list[str], plans: Mapping[str, BootPlan]
) -> tuple[list[bytes], list[str]]:
    """rke2image's own file: each needed key's lines rewritten in place, or appended."""
    mine = {
        (a.key, a.line)
        for plan in plans.values()
        for a in plan.assignments
        if a.file == OURS and a.value is not None
    }
    reasons = []
    for key in need:
        numbers = sorted(n for k, n in mine if k == key)
        setting = f"{key} = {wanted[key]}\n".encode()
        if numbers:
            for n in numbers:
                if lines[n - 1] != setting:
                    lines[n - 1] = setting
            reasons.append(f"{OURS} sets {key} = {wanted[key]}")
        else:
            if lines and not lines[-1].endswith(b"\n"):
                lines[-1] += b"\n"
            lines.append(setting)
            reasons.append(f"{OURS} gains {key} = {wanted[key]}")
    return lines, reasons


def _assignments_of(data: bytes | None, wanted: Mapping[str, str]) -> list[Assignment]:
    """The lines of rke2image's file after the fix: the keys it writes, where."""
    if data is None:
        return []
    found = []
    for number, raw in enumerate(_split(data), start=1):
        name, equals, value = raw.decode("utf-8", "replace").partition("=")
        key = name.strip()
        if equals and key in wanted and value.strip() == wanted[key]:
            found.append(Assignment(key, value.strip(), OURS, number))
    return found


def _blocker(
    plans: Mapping[str, BootPlan],
    ours: list[Assignment],
    commented: Mapping[tuple[str, int], Edit],
    key: str,
    value: str,
) -> tuple[str, Assignment | None] | None:
    """The first tool whose next boot still leaves ``key`` wrong, and the line that wins."""
    for tool, plan in plans.items():
        outcome = _overlay(plan, ours, commented).outcome(key)
        if outcome.value != value:
            return tool, outcome.winner
    return None


def _overlay(
    plan: BootPlan, ours: list[Assignment], commented: Mapping[tuple[str, int], Edit]
) -> BootPlan:
    """The plan as it reads after the fix: rke2image's lines in its file's place (a file
    of that name in a later folder is masked by it), the commented lines gone."""
    order = [f.path for f in plan.files]
    position = next(
        (
            i
            for i, path in enumerate(order)
            if path != SYSCTL_CONF and posixpath.basename(path) >= OURS_NAME
        ),
        len(order) - (SYSCTL_CONF in order),
    )
    targets = {f.path: f.target for f in plan.files}
    before: list[Assignment] = []
    after: list[Assignment] = []
    for a in plan.assignments:
        if posixpath.basename(a.file) == OURS_NAME and a.file != SYSCTL_CONF:
            continue
        if (targets.get(a.file, a.file), a.line) in commented:
            continue
        index = order.index(a.file) if a.file in order else len(order)
        (before if index < position else after).append(a)
    return plan._replace(assignments=(*before, *ours, *after))


def _target_of(plans: Mapping[str, BootPlan], listed: str) -> str | None:
    for plan in plans.values():
        for conf in plan.files:
            if conf.path == listed:
                return None if conf.masked or conf.missing else conf.target
    return None


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
