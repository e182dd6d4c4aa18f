"""What is installed in the root beyond the sysctl values: RKE2's unit (the node's role),
the etcd account RKE2 needs on servers, and rke2image's own drop-in, preflight and sysctl
file (whether rke2image rendered the node, and whether its preflight re-applies the
values)."""

from __future__ import annotations

import os
import shlex
from typing import Literal, NamedTuple

from rke2image import paths, rke2
from rke2image.accounts import ETCD
from rke2image.audit import catalog
from rke2image.audit.model import Finding, Protection
from rke2image.audit.unit import Line, read_unit
from rke2image.errors import InputError
from rke2image.rke2 import ROLES, Role
from rke2image.rootfs import RootFS

# RKE2's hardening guide creates the account this way.
ETCD_FIX = f"useradd -r -c '{ETCD.comment}' -s {ETCD.shell} -M {ETCD.name} -U"
# The kinds of account RKE2 needs, in its own words ("missing required: user: unknown user
# etcd"), and the file it looks each up in (Go's os/user without cgo reads the files and
# ignores NSS).
AccountKind = Literal["user", "group"]
ACCOUNT_DATABASES: dict[AccountKind, str] = {"user": "/etc/passwd", "group": "/etc/group"}
_ETCD_RULES = {"user": catalog.ETCD_USER_MISSING, "group": catalog.ETCD_GROUP_MISSING}
_WANTS = "/etc/systemd/system/multi-user.target.wants/{unit}"


class Dropin(NamedTuple):
    path: str
    mode: str | None  # the preflight's --mode, None when the unit does not run it
    dropped_by: Line | None = None  # the empty ExecStartPre= of a later drop-in
    preflight: str = paths.PREFLIGHT  # the preflight it runs (paths.PREFLIGHTS)


def detect_role(fs: RootFS) -> Role | None:
    """server or agent from rke2image's drop-in or an enabled RKE2 unit; None if neither."""
    for role in ROLES:
        if _is_file(fs, paths.dropin_path(role)):
            return role
    for role in ROLES:
        if os.path.lexists(fs.host(_WANTS.format(unit=paths.service_name(role)))):
            return role
    return None


def has_account(fs: RootFS, database: str, name: str) -> bool:
    """Whether /etc/passwd or /etc/group names ``name``, read directly as RKE2 does (Go's
    os/user without cgo reads the files and ignores NSS)."""
    text = fs.read_text(database) or ""
    return any(line.split(":", 1)[0] == name for line in text.splitlines())


def missing_etcd(fs: RootFS) -> list[AccountKind]:
    """The kinds of etcd account (user, group) the root lacks."""
    return [kind for kind, db in ACCOUNT_DATABASES.items() if not has_account(fs, db, ETCD.name)]


def etcd_findings(fs: RootFS, role: Role | None, protection: Protection) -> list[Finding]:
    """RKE2 with profile cis or etcd refuses to start a server without an etcd user and group."""
    if role != "server" or protection.profile not in rke2.ETCD_USER_PROFILES:
        return []
    return [
        _ETCD_RULES[kind].finding(
            f"missing required: {kind}: unknown {kind} {ETCD.name} (RKE2 with profile "
            f"{protection.profile} refuses to start a server without it)",
            file=ACCOUNT_DATABASES[kind],
            fix=ETCD_FIX,
        )
        for kind in missing_etcd(fs)
    ]


def read_dropin(fs: RootFS, role: Role) -> Dropin | None:
    """rke2image's drop-in and the preflight mode the unit runs, read from the unit as
    systemd merges it: a later drop-in's empty ``ExecStartPre=`` drops the preflight."""
    path = paths.dropin_path(role)
    if not _is_file(fs, path):
        return None
    unit = read_unit(fs, paths.service_name(role))
    mode, preflight = None, paths.PREFLIGHT
    for line in unit.get("ExecStartPre"):
        found = preflight_mode(line.value)
        if found is not None:
            mode = found
            preflight = _command(line.value)
    reset = unit.resets.get("ExecStartPre")
    dropped = reset if mode is None and reset is not None and reset.file != path else None
    return Dropin(path, mode, dropped, preflight)


def preflight_mode(command: str) -> str | None:
    """The ``--mode`` (``--mode X`` or ``--mode=X``; remediate by default) of an
    ``ExecStartPre=`` that runs rke2image's preflight; None for any other command."""
    try:
        words = shlex.split(command.lstrip("-@+!:|"))
    except ValueError:
        return None
    if not words or words[0] not in paths.PREFLIGHTS:
        return None
    mode = "remediate"
    for i, word in enumerate(words[1:], start=1):
        if word == "--mode" and i + 1 < len(words):
            mode = words[i + 1]
        elif word.startswith("--mode="):
            mode = word.split("=", 1)[1]
    return mode


def _command(command: str) -> str:
    """The program an ``ExecStartPre=`` runs (one that ``preflight_mode`` accepted)."""
    return shlex.split(command.lstrip("-@+!:|"))[0]


def _is_file(fs: RootFS, path: str) -> bool:
    """A regular file after links; False for a link loop (systemd cannot load it either)."""
    try:
        return fs.is_file(path)
    except InputError:
        return False


def is_managed(fs: RootFS) -> bool:
    """Whether rke2image rendered this node (its drop-in, preflight or modules file is
    here): its own checks apply only then."""
    files = [*paths.RENDERED_ONLY_FILES, *(paths.dropin_path(r) for r in ROLES)]
    return any(os.path.lexists(fs.host(f)) for f in files)


def rke2image_findings(fs: RootFS, role: Role | None) -> list[Finding]:
    """rke2image's drop-in, its executable preflight, and its sysctl file."""
    findings = []
    roles = [role] if role else list(ROLES)
    dropins = [d for d in (read_dropin(fs, r) for r in roles) if d is not None]
    if not dropins:
        findings.append(
            catalog.DROPIN_MISSING.finding(
                f"no rke2image drop-in ({paths.dropin_path(roles[0])}): nothing re-applies the "
                "kernel values before RKE2 starts",
                file=paths.dropin_path(roles[0]),
                fix="install the rendered rootfs/ of this node (rke2image render)",
            )
        )
    for dropin in dropins:
        if dropin.dropped_by is not None:
            where = dropin.dropped_by
            findings.append(
                catalog.PREFLIGHT_MISSING.with_severity("warning").finding(
                    f"an empty ExecStartPre= in {where.file}:{where.line} resets the list, so "
                    f"the unit no longer runs {dropin.preflight} from {dropin.path}",
                    file=where.file,
                    line=where.line,
                    fix=f"add the preflight's ExecStartPre= again after line {where.line} "
                    f"of {where.file}, or remove the empty one",
                )
            )
        elif dropin.mode is None:
            findings.append(
                catalog.PREFLIGHT_MISSING.with_severity("warning").finding(
                    f"the drop-in does not run {' or '.join(paths.PREFLIGHTS)}",
                    file=dropin.path,
                    fix="re-render and reinstall the drop-in",
                )
            )
        elif not fs.is_executable(dropin.preflight):
            findings.append(
                catalog.PREFLIGHT_MISSING.with_severity("error").finding(
                    f"the drop-in runs {dropin.preflight}, which is missing or not executable: "
                    "RKE2 will not start",
                    file=dropin.preflight,
                    fix=f"reinstall {dropin.preflight} with mode 0755",
                )
            )
    if not fs.is_file(paths.SYSCTL_FILE):
        findings.append(
            catalog.SYSCTL_FILE_MISSING.finding(
                f"{paths.SYSCTL_FILE} is missing",
                file=paths.SYSCTL_FILE,
                fix="install the rendered rootfs/ of this node",
            )
        )
    return findings


def remediating(fs: RootFS, role: Role | None) -> bool:
    """Whether rke2image's preflight re-applies the values before every RKE2 start."""
    roles = [role] if role else list(ROLES)
    return any(
        (d := read_dropin(fs, r)) is not None
        and d.mode == "remediate"
        and fs.is_executable(d.preflight)
        for r in roles
    )
