"""A problem found in a spec: where it is, how bad, which rule, and what to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

# A spec problem is an error or a warning (the audit's FindingSeverity adds "info").
ProblemSeverity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One diagnostic, ordered by file, then position.

    ``message`` says what is wrong and what to do about it. ``pointer`` is a JSON
    Pointer into the document (into the Cluster document for expanded nodes).
    """

    file: str
    line: int
    column: int
    severity: ProblemSeverity
    rule: str
    message: str
    pointer: str = ""

    def format_text(self) -> str:
        """One line, whatever a file name or a value held (a fork names the files)."""
        from rke2image.textsafe import printable

        message = printable(" ".join(self.message.split()))
        where = printable(self.file)
        return f"{where}:{self.line}:{self.column}: {self.severity}: {message} [{self.rule}]"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def escape_pointer_token(token: object) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: object) -> str:
    return pointer + "".join("/" + escape_pointer_token(t) for t in tokens)
