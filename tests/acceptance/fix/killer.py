"""Run `fix --apply` on a root and SIGKILL it at one point, as a power cut or an OOM kill
would: ``python killer.py ROOT PROC_SYS EVENT N``. EVENT is ``begin`` (the journal entry
of step N is written, its change not made), ``done`` (step N finished) or ``rename``
(the Nth atomic replace has its temporary file written and fsynced, not yet renamed)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from rke2image.audit import AuditOptions
from rke2image.fix import FixOptions, apply_plan, make_plan
from rke2image.fix.plan import audit


def main(root: str, proc_sys: str, event: str, number: str) -> None:
    options = FixOptions(AuditOptions(root=Path(root), proc_sys=Path(proc_sys)))
    plan = make_plan(options, audit(options))
    renames = [0]
    real_rename = os.rename

    def rename(src: str, dst: str) -> None:
        renames[0] += 1
        if event == "rename" and renames[0] == int(number):
            os.kill(os.getpid(), signal.SIGKILL)
        real_rename(src, dst)

    def hook(at: str, step: int) -> None:
        if at == event and step == int(number):
            os.kill(os.getpid(), signal.SIGKILL)

    os.rename = rename  # type: ignore[assignment]
    apply_plan(options, plan, hook=hook)


if __name__ == "__main__":
    main(*sys.argv[1:5])
