"""The exception tree.

Only the CLI turns these into stderr and an exit code. A ``UserError`` carries a
message meant for a person (shown as is, no traceback); anything else escaping
the library is a bug and is allowed to show its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rke2image.spec.problems import Problem

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class Rke2ImageError(Exception):
    """Root of every error rke2image raises on purpose."""


class UserError(Rke2ImageError):
    """A problem the user can fix; the message is shown as is."""

    exit_code = EXIT_USAGE


class InputError(UserError):
    """A file is missing, unreadable or not ours to read (exit 2)."""


class SpecError(UserError):
    """One or more spec files are invalid; carries every problem found (exit 1)."""

    exit_code = EXIT_FINDINGS

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the spec")


class RenderError(UserError):
    """Rendering could not complete (exit 2: the environment, not the spec, is wrong)."""


class SecretError(RenderError):
    """A secret reference cannot be resolved. The message never holds the secret."""


class ToolNotFound(UserError):
    """An outside program (packer, qemu …) is not installed (exit 2)."""


class PackerFailed(UserError):
    """Packer ran and failed; carries its exit code and the tail of its output (exit 1)."""

    exit_code = EXIT_FINDINGS

    def __init__(self, message: str, returncode: int, tail: str = "") -> None:
        self.returncode = returncode
        self.tail = tail
        text = message if not tail else f"{message}\n--- last lines of packer output ---\n{tail}"
        super().__init__(text)

    @classmethod
    def from_process(cls, action: str, returncode: int, output: str) -> PackerFailed:
        """Build the error from a finished packer process and what it printed."""
        return cls(f"packer {action} failed with exit code {returncode}", returncode, tail(output))


def tail(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of a program's output: what an error shows of it."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
