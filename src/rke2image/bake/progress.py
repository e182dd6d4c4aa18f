"""Turn Packer's -machine-readable lines into readable steps with elapsed time.

A machine-readable line is ``timestamp,target,type,data...`` with commas in the
data written as ``%!(PACKER_COMMA)`` and newlines as a literal ``\\n``. Lines
that are not in that form (Packer prints some errors plainly) pass through as
they are, so nothing Packer says is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMA = "%!(PACKER_COMMA)"


@dataclass(frozen=True)
class PackerEvent:
    """One thing Packer said, already unescaped."""

    elapsed: float  # seconds since the packer command started
    target: str  # the build it concerns ("qemu.rke2image"), or ""
    kind: str  # "say", "message", "error", "artifact", "plain", ...
    text: str

    def readable(self) -> str:
        """The event as one or more lines a person reads in a terminal."""
        prefix = f"[{_clock(self.elapsed)}] "
        lines = [line for line in self.text.splitlines() if line.strip()] or [""]
        return "\n".join(prefix + line for line in lines)


def unescape(text: str) -> str:
    """Undo Packer's machine-readable escaping of commas and line breaks."""
    return text.replace(COMMA, ",").replace("\\n", "\n").replace("\\r", "\r")


def parse_line(line: str, elapsed: float) -> PackerEvent | None:
    """Parse one line of output; None for lines that say nothing to a person."""
    line = line.rstrip("\r\n")
    parts = line.split(",")
    if len(parts) < 3 or not parts[0].isdigit():
        return PackerEvent(elapsed, "", "plain", line) if line.strip() else None
    target, kind, data = parts[1], parts[2], [unescape(p) for p in parts[3:]]
    if kind == "ui" and data:
        return PackerEvent(elapsed, target, data[0], ",".join(data[1:]))
    return PackerEvent(elapsed, target, kind, ",".join(data))


def is_shown(event: PackerEvent) -> bool:
    """Whether a person watching the build wants to see the event."""
    return event.kind in ("say", "message", "error", "plain")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"
