"""The etcd user and group RKE2 needs on servers with profile cis or etcd, made with the
system's own tools as RKE2's hardening guide does (``useradd -r -c 'etcd user' -s
/sbin/nologin -M etcd -U``), long options, ``--root`` for a root other than /.

``--no-log-init`` keeps useradd from writing /var/log/lastlog and faillog: fix writes
nothing outside the sysctl folders and the account files. useradd and groupadd replace
the account files atomically themselves (``passwd+`` then rename) and keep a ``passwd-``
backup; the journal saves every one of these files, so ``--undo`` restores them all.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from rke2image.accounts import ETCD
from rke2image.audit.catalog import ETCD_GROUP_MISSING, ETCD_USER_MISSING
from rke2image.audit.model import Report
from rke2image.errors import InputError, ToolNotFound
from rke2image.fix.model import AccountStep

# Written by useradd/groupadd (the databases, their `-` backups, shadow's lock file).
ACCOUNT_FILES = (
    *(f"/etc/{db}{end}" for db in ("passwd", "group", "shadow", "gshadow") for end in ("", "-")),
    "/etc/.pwd.lock",
)


def account_steps(report: Report, root: Path) -> tuple[AccountStep, ...]:
    """The commands that create what the audit found missing."""
    rules = {f.rule for f in report.findings}
    user, group = ETCD_USER_MISSING.id in rules, ETCD_GROUP_MISSING.id in rules
    at = [] if root == Path("/") else ["--root", str(root)]
    name = ETCD.name
    user_argv = [
        "useradd",
        *at,
        "--system",
        "--comment",
        ETCD.comment,
        "--shell",
        ETCD.shell,
        "--no-create-home",
        "--no-log-init",
    ]
    if user and group:
        return (AccountStep("user+group", name, (*user_argv, "--user-group", name)),)
    if group:
        return (AccountStep("group", name, ("groupadd", *at, "--system", name)),)
    if user:
        return (AccountStep("user", name, (*user_argv, "--gid", name, name)),)
    return ()


def check_tools(steps: Sequence[AccountStep]) -> None:
    for step in steps:
        if shutil.which(step.argv[0]) is None:
            raise ToolNotFound(
                f"{step.argv[0]} is not installed: cannot create the {step.name} {step.kind} "
                "(install the distribution's shadow/passwd package); nothing was changed"
            )


def run_step(step: AccountStep) -> None:
    result = subprocess.run(list(step.argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        words = (result.stderr or result.stdout).strip().replace("\n", " ")
        raise InputError(f"{' '.join(step.argv)} failed (exit {result.returncode}): {words}")
