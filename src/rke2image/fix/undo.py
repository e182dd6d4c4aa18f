"""``fix --undo [ID]``: put back every file a fix changed, byte for byte, from its journal.

Reads the journal apply wrote, never recomputes. Before restoring anything it checks
that each file still holds what the fix left (or what it found, for a step a kill cut
short): a file someone edited since is not overwritten, and nothing is restored.
Live values are not put back (they were the broken ones); they are listed instead.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rke2image.errors import InputError
from rke2image.fix import journal, safewrite
from rke2image.fix.model import FixReport, LiveWrite, Restored


def undo(root: Path, fix_id: str | None) -> FixReport:
    root = root.absolute()
    chosen = _choose(root, fix_id)
    folder = journal.base(root) / chosen
    steps = list(journal.entries(folder))
    files = _files(steps)
    done = {e["step"] for e in steps if e.get("event") == "done"}
    news = _new_hashes(steps)
    for entry in files:
        host = root / entry["path"].lstrip("/")
        current = _sha(host)
        allowed = {entry["sha256_old"], news.get(entry["path"])}
        if entry.get("accounts") and entry["step"] not in done:
            allowed.add(current)  # useradd cut short: its own files, each old or new
        if current not in allowed:
            raise InputError(
                f"{entry['path']} changed since fix {chosen}: nothing was restored "
                "(restore it from the journal by hand if you are sure)"
            )
    for folder_path in sorted({(root / e["path"].lstrip("/")).parent for e in files}):
        safewrite.check_writable(folder_path)
    restored = []
    for entry in reversed(files):
        restored.append(_restore(root, folder, entry))
    _clean_temps(root, files)
    marker = folder / journal.UNDONE
    marker.write_text(json.dumps({"restored": [r.path for r in restored]}) + "\n")
    kept = tuple(
        LiveWrite(e["key"], e["from"], e["to"])
        for e in steps
        if e.get("kind") == "live" and e.get("event") == "begin"
    )
    return FixReport("undo", None, chosen, restored=tuple(restored), kept_live=kept)


def _choose(root: Path, fix_id: str | None) -> str:
    ids = journal.fix_ids(root)
    if fix_id:
        if fix_id not in ids:
            raise InputError(
                f"no fix {fix_id} under {journal.base(root)} (have: {', '.join(ids) or 'none'})"
            )
        if (journal.base(root) / fix_id / journal.UNDONE).exists():
            raise InputError(f"fix {fix_id} was already undone")
        return fix_id
    open_ids = [i for i in ids if not (journal.base(root) / i / journal.UNDONE).exists()]
    if not open_ids:
        raise InputError(f"nothing to undo: no fix journal under {journal.base(root)}")
    return open_ids[-1]


def _files(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every file entry of a begun step, in the order the fix wrote them."""
    found = []
    for entry in steps:
        if entry.get("event") != "begin":
            continue
        if entry.get("kind") == "file":
            found.append(entry)
        elif entry.get("kind") == "accounts":
            found += [{**f, "step": entry["step"], "accounts": True} for f in entry["files"]]
    return found


def _new_hashes(steps: list[dict[str, Any]]) -> dict[str, str | None]:
    news: dict[str, str | None] = {}
    for entry in steps:
        if entry.get("event") == "begin" and entry.get("kind") == "file":
            news[entry["path"]] = entry.get("sha256_new")
        if entry.get("event") == "done" and isinstance(entry.get("sha256"), dict):
            news.update(entry["sha256"])
    return news


def _restore(root: Path, folder: Path, entry: dict[str, Any]) -> Restored:
    host = root / entry["path"].lstrip("/")
    if not entry["existed"]:
        if host.exists() or host.is_symlink():
            safewrite.remove(host)
            return Restored(entry["path"], "removed")
        return Restored(entry["path"], "unchanged")
    data = (folder / entry["original"]).read_bytes()
    meta = safewrite.Meta.from_dict(entry["meta"])
    if host.is_file() and host.read_bytes() == data and safewrite.meta_of(host) == meta:
        return Restored(entry["path"], "unchanged")
    safewrite.replace(host, data, meta)
    return Restored(entry["path"], "restored")


def _clean_temps(root: Path, files: list[dict[str, Any]]) -> None:
    """Temporary files a kill left beside the files (never read: not *.conf)."""
    for entry in files:
        host = root / entry["path"].lstrip("/")
        for temp in host.parent.glob(f".{host.name}.*{safewrite.TEMP_SUFFIX}"):
            safewrite.remove(temp)


def _sha(path: Path) -> str | None:
    if not path.is_file() or path.is_symlink():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
