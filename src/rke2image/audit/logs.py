"""kubelet's and RKE2's refusals, and systemd-sysctl's failures, found in logs.

Logs are streamed in 1 MiB blocks (a kubelet.log can be gigabytes): a fast
``bytes.find`` for each fixed phrase, then a regex anchored at the hit. Only the latest
line per (rule, key) is kept, so memory stays constant, and every byte is looked at a
fixed number of times, so time is linear, whatever the lines' lengths.

The phrases, word for word from upstream:
- kubelet setupKernelTunables: ``invalid kernel flag: vm/overcommit_memory, expected
  value: 1, actual value: 0`` (``Invalid`` before ~2020);
- RKE2 pkg/cli/cmds/profile_linux.go: ``invalid kernel parameter value kernel.panic=0 -
  expected 10``, ``missing required: user: unknown user etcd`` and
  ``--protect-kernel-defaults must be true when using --profile=cis``;
- systemd-sysctl (src/sysctl/sysctl.c): ``Couldn't write '0' to 'kernel/panic'``.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, NamedTuple

from rke2image import rke2
from rke2image.audit import catalog
from rke2image.audit.catalog import VaryingRule
from rke2image.errors import InputError, UserError
from rke2image.kernel import normalize_key
from rke2image.rootfs import RootFS, UnreadableFile, kind

BLOCK = 1 << 20
OVERLAP = 4096  # longer than any phrase matched: a hit cut by a block edge is found whole
# The most a ``.gz`` rotation is unpacked to: a rotated kubelet.log is some hundred MB at
# most (lumberjack's default is 100 MB); a gzip bomb of a few MiB unpacks to gigabytes.
MAX_UNPACKED = 1 << 30


class LogSubject(NamedTuple):
    """What a log line is about: its rule and the thing it names (the key a hit is kept
    under, and how the audit joins it to what is true now)."""

    rule: VaryingRule
    subject: str  # as LogHit.subject


class LogHit(NamedTuple):
    """The latest log line of one kind about one thing."""

    rule: VaryingRule
    subject: str  # the dotted key, or "user"/"group", or the profile
    file: str
    line: int
    text: str  # the matched words, not the whole line
    actual: str | None = None
    expected: str | None = None


_KUBELET = re.compile(
    rb"[Ii]nvalid kernel flag: (?P<key>[\w./-]{1,256}), expected value: "
    rb"(?P<expected>-?\d{1,32}), actual value: (?P<actual>-?\d{1,32})"
)
_RKE2_VALUE = re.compile(
    rb"invalid kernel parameter value (?P<key>[\w./-]{1,256})=(?P<actual>-?\d{1,32}) - "
    rb"expected (?P<expected>-?\d{1,32})"
)
# RKE2's words up to the profile (rke2.PROTECTION_OFF_WORDS)
_PROTECTION_OFF = rke2.PROTECTION_OFF_WORDS.partition("{profile}")[0].encode()
# needle -> the (rule, pattern) pairs tried on a line holding it. One needle serves
# both "invalid kernel" phrases: each needle is one more pass over the block.
# ``back``: how many bytes before the needle a match starts ("[Ii]nvalid" is one).
_PATTERNS: tuple[tuple[bytes, int, tuple[tuple[VaryingRule, re.Pattern[bytes]], ...]], ...] = (
    (
        b"nvalid kernel ",
        1,
        (
            (catalog.KUBELET_INVALID_KERNEL_FLAG, _KUBELET),
            (catalog.RKE2_INVALID_KERNEL_PARAMETER, _RKE2_VALUE),
        ),
    ),
    (
        b"missing required: ",
        0,
        (
            (
                catalog.RKE2_MISSING_ETCD_ACCOUNT,
                re.compile(
                    rb"missing required: (?P<key>user|group): unknown (?:user|group) [\w.-]{1,256}"
                ),
            ),
        ),
    ),
    (
        _PROTECTION_OFF,
        0,
        (
            (
                catalog.RKE2_PROTECT_KERNEL_DEFAULTS,
                re.compile(re.escape(_PROTECTION_OFF) + rb"(?P<key>[\w.-]{1,256})"),
            ),
        ),
    ),
    (
        b"Couldn't write '",
        0,
        (
            (
                catalog.SYSTEMD_SYSCTL_FAILED,
                re.compile(
                    rb"Couldn't write '(?P<actual>[^'\n]{0,256})' to '(?P<key>[^'\n]{1,256})'"
                    rb"[^\n]{0,256}"
                ),
            ),
        ),
    ),
)


# The phrases above as text: what makes a log line say why RKE2 or kubelet stopped.
PHRASES: tuple[str, ...] = tuple(needle.decode() for needle, _, _ in _PATTERNS)


def scan(stream: IO[bytes], name: str, hits: dict[LogSubject, LogHit]) -> None:
    """Add the hits of one log to ``hits``; a later line replaces an earlier one.

    Linear time and constant memory for any log: a line longer than a block (what a crash
    leaves: NUL bytes up to the file's size, no newline) is scanned a block at a time,
    keeping only a tail the length of the longest phrase, never the whole line."""
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
            if len(block) > BLOCK:  # one line longer than a block: scan it, keep a tail
                _scan_block(block, base, name, hits)
                block = block[-OVERLAP:]
            carry = block
            continue
        _scan_block(block[:cut], base, name, hits)
        base += block.count(b"\n", 0, cut)
        carry = block[cut:]


# The rules whose subject is a kernel parameter, written with slashes or dots.
_ABOUT_A_KEY = frozenset(
    {
        catalog.KUBELET_INVALID_KERNEL_FLAG,
        catalog.RKE2_INVALID_KERNEL_PARAMETER,
        catalog.SYSTEMD_SYSCTL_FAILED,
    }
)


def _scan_block(block: bytes, base: int, name: str, hits: dict[LogSubject, LogHit]) -> None:
    found: list[tuple[int, VaryingRule, re.Match[bytes]]] = []
    for needle, back, patterns in _PATTERNS:
        at = block.find(needle)
        while at >= 0:
            for rule, pattern in patterns:
                match = pattern.match(block, max(at - back, 0))
                if match is not None:
                    found.append((match.start(), rule, match))
            at = block.find(needle, at + len(needle))
    found.sort(key=lambda item: item[0])  # file order, so the latest line wins
    line, counted = base, 0
    for offset, rule, match in found:
        groups = {k: v.decode("utf-8", "replace") for k, v in match.groupdict().items() if v}
        subject = groups["key"]
        if rule in _ABOUT_A_KEY:
            subject = normalize_key(subject.lstrip("/"))
        line += block.count(b"\n", counted, offset)  # counted once: linear in the block
        counted = offset
        hits[LogSubject(rule, subject)] = LogHit(
            rule,
            subject,
            name,
            line,
            match.group(0).decode("utf-8", "replace"),
            groups.get("actual"),
            groups.get("expected"),
        )


class Damaged(NamedTuple):
    """A log that could not be read to its end (a truncated or corrupt rotation): what was
    read before the damage counts, and the audit goes on."""

    file: str
    reason: str


# Opens the log: a raw handle and the bytes to read (None: to its end), and its name.
LogSource = tuple[Callable[[], "tuple[IO[bytes], int | None]"], str]


def scan_logs(sources: Iterable[LogSource]) -> tuple[dict[LogSubject, LogHit], list[Damaged]]:
    """Scan logs oldest first: each source opens (a raw handle, the size at open) and names
    the log. Only the size at open is read (a log that grows while read, or a /proc file
    that claims size 0, cannot make the scan endless); ``.gz`` rotations are unpacked, and
    a damaged one is reported, not fatal."""
    import gzip  # lazy: only rotated logs need it
    import zlib

    hits: dict[LogSubject, LogHit] = {}
    damaged: list[Damaged] = []
    for opener, name in sources:
        try:
            raw, size = opener()
        except (FileNotFoundError, NotADirectoryError):  # rotated away since it was listed
            continue
        except UnreadableFile as error:  # replaced by a FIFO or a folder since listed
            damaged.append(Damaged(name, error.reason))
            continue
        with raw:
            bounded = _Bounded(raw, size)
            try:
                if name.endswith(".gz"):
                    with gzip.GzipFile(fileobj=bounded, mode="rb") as stream:
                        unpacked = _Bounded(stream, MAX_UNPACKED)  # type: ignore[arg-type]
                        scan(unpacked, name, hits)  # type: ignore[arg-type]
                        if unpacked.full and stream.read(1):
                            damaged.append(
                                Damaged(name, f"unpacks to over {MAX_UNPACKED >> 20} MiB")
                            )
                else:
                    scan(bounded, name, hits)  # type: ignore[arg-type]
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                damaged.append(Damaged(name, f"not a readable gzip file ({error})"))
            except OSError as error:
                damaged.append(Damaged(name, f"cannot read: {error.strerror or error}"))
    return hits, damaged


class _Bounded(io.RawIOBase):
    """The first ``left`` bytes of a raw file (all of it when ``left`` is None)."""

    def __init__(self, raw: IO[bytes], left: int | None) -> None:
        self._raw, self._left = raw, (1 << 62) if left is None else left

    @property
    def full(self) -> bool:
        """Every byte allowed was read (the file may hold more)."""
        return self._left <= 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        want = min(len(view), self._left)
        if want <= 0:
            return 0
        got = self._raw.readinto(view[:want])  # type: ignore[attr-defined]
        self._left -= got or 0
        return got or 0

    def read(self, size: int = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._raw.read(want) if want > 0 else b""
        self._left -= len(data)
        return data


def host_log(path: Path) -> LogSource:
    """A log the user named on the command line, read as given to its end: a file, or a
    pipe such as ``<(journalctl -u rke2-server)``; ``/dev/null`` reads as empty. A device
    (``/dev/zero`` never ends), a folder, or an absent or unreadable path is a usage error
    (exit 2), not a finding."""

    def opener() -> tuple[IO[bytes], int | None]:
        try:
            info = os.stat(path)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode) or _null(info)):
                raise InputError(f"{path}: is {kind(info.st_mode)}, not a log file or a pipe")
            return open(path, "rb"), None  # closed by scan_logs
        except OSError as error:
            raise InputError(f"{path}: cannot read the log: {error.strerror}") from None

    return opener, str(path)


def _null(info: os.stat_result) -> bool:
    """The null device, which users name for "no log"."""
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == os.stat(os.devnull).st_rdev


def rotations(fs: RootFS, node_path: str) -> list[LogSource]:
    """``node_path`` and its rotations in the root (``name.1``, ``name.2.gz``, lumberjack's
    ``stem-TIME.log``), oldest first by modification time, each resolved inside the root and
    read only if it is a regular file there. A rotation renamed or removed while listed is
    left out."""
    folder, name = node_path.rsplit("/", 1)
    stem = name.rsplit(".", 1)[0]
    dated: list[tuple[float, bool, int, str]] = []
    for entry in fs.listdir(folder or "/"):
        if not (
            entry == name
            or entry.startswith(name + ".")
            or (entry.startswith(stem + "-") and ".log" in entry)
        ):
            continue
        path = f"{folder}/{entry}"
        try:
            info = os.stat(fs.resolve(path).host_path)
        except (OSError, UserError):  # gone since listed, a link loop, a dangling link
            continue
        if stat.S_ISREG(info.st_mode):
            dated.append((info.st_mtime, entry == name, -_rotation(entry), path))
    return [(_opener(fs, path), path) for *_, path in sorted(dated)]


def _opener(fs: RootFS, path: str) -> Callable[[], tuple[IO[bytes], int | None]]:
    return lambda: fs.open_binary(path)


def _rotation(name: str) -> int:
    """The rotation number of ``kubelet.log.3.gz`` (3): a higher one is older."""
    digits = [part for part in name.split(".") if part.isdigit()]
    return int(digits[-1]) if digits else 0
