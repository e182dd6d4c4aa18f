"""kubelet's and RKE2's refusals, and systemd-sysctl's failures, found in logs.

Logs are streamed in 1 MiB blocks (a kubelet.log can be gigabytes): a fast
``bytes.find`` for each fixed phrase, then a regex on the one line around a hit.
Only the latest line per (rule, key) is kept, so memory stays constant.

The phrases, word for word from upstream:
- kubelet setupKernelTunables: ``invalid kernel flag: vm/overcommit_memory, expected
  value: 1, actual value: 0`` (``Invalid`` before ~2020);
- RKE2 pkg/cli/cmds/profile_linux.go: ``invalid kernel parameter value kernel.panic=0 -
  expected 10``, ``missing required: user: unknown user etcd`` and
  ``--protect-kernel-defaults must be true when using --profile=cis``;
- systemd-sysctl (src/sysctl/sysctl.c): ``Couldn't write '0' to 'kernel/panic'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from rke2image.errors import InputError
from rke2image.kernel import normalize_key

BLOCK = 1 << 20


class LogHit(NamedTuple):
    """The latest log line of one kind about one thing."""

    rule: str
    subject: str  # the dotted key, or "user"/"group", or the profile
    file: str
    line: int
    text: str  # the matched words, not the whole line
    actual: str | None = None
    expected: str | None = None


_KUBELET = re.compile(
    rb"[Ii]nvalid kernel flag: (?P<key>[\w./-]+), expected value: (?P<expected>-?\d+), "
    rb"actual value: (?P<actual>-?\d+)"
)
_RKE2_VALUE = re.compile(
    rb"invalid kernel parameter value (?P<key>[\w./-]+)=(?P<actual>-?\d+) - expected "
    rb"(?P<expected>-?\d+)"
)
# needle -> the (rule, pattern) pairs tried on a line holding it. One needle serves
# both "invalid kernel" phrases: each needle is one more pass over the block.
_PATTERNS: tuple[tuple[bytes, tuple[tuple[str, re.Pattern[bytes]], ...]], ...] = (
    (
        b"nvalid kernel ",
        (("kubelet-invalid-kernel-flag", _KUBELET), ("rke2-invalid-kernel-parameter", _RKE2_VALUE)),
    ),
    (
        b"missing required: ",
        (
            (
                "rke2-missing-etcd-account",
                re.compile(
                    rb"missing required: (?P<key>user|group): unknown (?:user|group) [\w.-]+"
                ),
            ),
        ),
    ),
    (
        b"--protect-kernel-defaults must be true",
        (
            (
                "rke2-protect-kernel-defaults",
                re.compile(
                    rb"--protect-kernel-defaults must be true when using --profile=(?P<key>[\w.-]+)"
                ),
            ),
        ),
    ),
    (
        b"Couldn't write '",
        (
            (
                "systemd-sysctl-failed",
                re.compile(rb"Couldn't write '(?P<actual>[^']*)' to '(?P<key>[^']+)'[^\n]*"),
            ),
        ),
    ),
)


def scan(stream: IO[bytes], name: str, hits: dict[tuple[str, str], LogHit]) -> None:
    """Add the hits of one log to ``hits``; a later line replaces an earlier one."""
    base = 1  # line number of the first line in ``block``
    carry = b""
    while True:
        data = stream.read(BLOCK)
        block = carry + data
        if not data:
            if block:
                _scan_block(block, base, name, hits)
            return
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry = block
            continue
        _scan_block(block[:cut], base, name, hits)
        base += block.count(b"\n", 0, cut)
        carry = block[cut:]


def _scan_block(block: bytes, base: int, name: str, hits: dict[tuple[str, str], LogHit]) -> None:
    found: list[tuple[int, str, re.Match[bytes]]] = []
    for needle, patterns in _PATTERNS:
        at = block.find(needle)
        while at >= 0:
            start = block.rfind(b"\n", 0, at) + 1
            end = block.find(b"\n", at)
            end = len(block) if end < 0 else end
            for rule, pattern in patterns:
                for match in pattern.finditer(block, start, end):
                    found.append((match.start(), rule, match))
            at = block.find(needle, end)
    found.sort(key=lambda item: item[0])  # file order, so the latest line wins
    for offset, rule, match in found:
        groups = {k: v.decode("utf-8", "replace") for k, v in match.groupdict().items() if v}
        subject = groups["key"]
        if rule in {
            "kubelet-invalid-kernel-flag",
            "rke2-invalid-kernel-parameter",
            "systemd-sysctl-failed",
        }:
            subject = normalize_key(subject.lstrip("/"))
        line = base + block.count(b"\n", 0, offset)
        hits[(rule, subject)] = LogHit(
            rule,
            subject,
            name,
            line,
            match.group(0).decode("utf-8", "replace"),
            groups.get("actual"),
            groups.get("expected"),
        )


def scan_files(paths: Iterable[tuple[Path, str]]) -> dict[tuple[str, str], LogHit]:
    """Scan (host path, name to report) pairs oldest first; ``.gz`` rotations are unpacked."""
    import gzip  # lazy: only rotated logs need it

    hits: dict[tuple[str, str], LogHit] = {}
    for host, name in paths:
        try:
            opener = gzip.open if host.name.endswith(".gz") else open
            with opener(host, "rb") as stream:
                scan(stream, name, hits)  # type: ignore[arg-type]
        except OSError as error:
            raise InputError(f"{name}: cannot read the log: {error}") from None
    return hits


def rotations(folder: Path, name: str) -> Iterator[Path]:
    """``name`` and its rotations (``name.1``, ``name.2.gz``, lumberjack's ``stem-TIME.log``),
    oldest first by modification time."""
    stem = name.rsplit(".", 1)[0]
    try:
        entries = [
            p
            for p in folder.iterdir()
            if p.is_file()
            and (
                p.name == name
                or p.name.startswith(name + ".")
                or (p.name.startswith(stem + "-") and ".log" in p.name)
            )
        ]
    except OSError:
        return iter(())
    return iter(sorted(entries, key=lambda p: (p.stat().st_mtime, p.name == name, -_age(p.name))))


def _age(name: str) -> int:
    """The rotation number of ``kubelet.log.3.gz`` (3): a higher one is older."""
    digits = [part for part in name.split(".") if part.isdigit()]
    return int(digits[-1]) if digits else 0
