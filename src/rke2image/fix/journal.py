"""The record of one ``fix --apply``: the plan, each file's original, and the steps.

Lives in ``/var/lib/rke2image/fix/ID/`` inside the root. Every entry is written and
fsynced *before* its step runs, so a kill at any point leaves a journal that
``--undo`` can read: a step begun but not finished left its file old or new (each
write is atomic), and either way the saved original puts it back. Names end in
``.orig``, ``.json`` and ``.jsonl``: no tool reads them as configuration.
The folder is 0700 and the originals 0600: /etc/shadow is among them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rke2image.errors import InputError
from rke2image.fix.safewrite import sync_folder

FOLDER = "/var/lib/rke2image/fix"
STEPS = "journal.jsonl"
PLAN = "plan.json"
UNDONE = "undone.json"


def base(root: Path) -> Path:
    return root / FOLDER.lstrip("/")


def new_id(root: Path, now: float) -> str:
    """A name that sorts by time: 20261204T143012Z, then -2, -3 within one second."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(now)))
    name, n = stamp, 1
    while (base(root) / name).exists():
        n += 1
        name = f"{stamp}-{n:03d}"
    return name


class Journal:
    """Append-only, one JSON object per line, fsynced per entry."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._originals = 0

    @classmethod
    def create(cls, root: Path, fix_id: str, plan: dict[str, Any]) -> Journal:
        folder = base(root) / fix_id
        try:
            os.makedirs(base(root), mode=0o700, exist_ok=True)
            os.mkdir(folder, 0o700)
        except OSError as error:
            raise InputError(f"{folder}: cannot create the fix journal: {error.strerror}") from None
        journal = cls(folder)
        journal._write_new(PLAN, (json.dumps(plan, indent=2) + "\n").encode())
        sync_folder(folder.parent)
        return journal

    def save_original(self, data: bytes) -> str:
        """Keep a file's bytes before the fix; returns the name to put in the entry."""
        self._originals += 1
        name = f"{self._originals:03d}.orig"
        self._write_new(name, data)
        return name

    def record(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(
            self.folder / STEPS, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        sync_folder(self.folder)

    def _write_new(self, name: str, data: bytes) -> None:
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        sync_folder(self.folder)


def entries(folder: Path) -> Iterator[dict[str, Any]]:
    """The journal's entries; a last line cut by a kill mid-write is ignored."""
    try:
        text = (folder / STEPS).read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


def fix_ids(root: Path) -> list[str]:
    """Every fix journal under the root, oldest first."""
    try:
        return sorted(
            name for name in os.listdir(base(root)) if (base(root) / name / PLAN).is_file()
        )
    except FileNotFoundError:
        return []
