"""Sysctl values as the kernel parses a write and kubelet compares them.

kubelet reads the key file (the kernel prints its integers canonically) and compares
integers, so a sysctl.d value is right when the kernel stores the right integers for it.
The kernel's proc_dointvec (kernel/sysctl.c, proc_get_long) skips leading whitespace,
takes an optional ``-`` and a number in base 0 (``012`` and ``0xa`` are 10), which must be
followed by a space, a tab, a newline or the end; a parameter of N integers reads at most N
such fields and ignores what follows. Anything else is refused (EINVAL) and the kernel
keeps the value it had: ``+1``, ``10`` with a no-break space, ``=``, ``08``.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)", re.S)
_SPACE = " \t\n\v\f\r"  # the kernel's isspace() for the skip before a field
_AFTER = " \t\n"  # proc_wspace_sep: what may follow a number


def kernel_ints(text: str, count: int) -> tuple[int, ...] | None:
    """The first ``count`` integers the kernel stores for a write of ``text``, or None
    when it refuses the write."""
    values: list[int] = []
    rest = text
    while len(values) < count:
        rest = rest.lstrip(_SPACE)
        if not rest:
            break
        match = _NUMBER.match(rest)
        if match is None or (match.group(3) and match.group(3)[0] not in _AFTER):
            return None
        digits = match.group(2)
        if digits[:2] in ("0x", "0X"):
            number = int(digits[2:], 16)
        elif digits.startswith("0"):
            number = int(digits, 8)
        else:
            number = int(digits)
        values.append(-number if match.group(1) else number)
        rest = match.group(3)
    return tuple(values) if values else None


def kernel_int(text: str) -> int | None:
    """The one integer a single-valued parameter (kubelet's six) stores, or None."""
    found = kernel_ints(text, 1)
    return found[0] if found else None


def same_value(value: str | None, expected: str | None) -> bool:
    """Equal as kubelet sees them: as many integers as ``expected`` holds, else as text."""
    if value is None or expected is None:
        return value is expected
    fields = len(expected.split())
    want = kernel_ints(expected, fields)
    if want is None or len(want) != fields:
        return value.split() == expected.split()
    return kernel_ints(value, fields) == want


def applied(value: str | None, expected: str) -> str | None:
    """What a boot write leaves: None when the kernel refuses it (its default stays)."""
    fields = len(expected.split())
    if value is not None and kernel_ints(expected, fields) and kernel_ints(value, fields) is None:
        return None
    return value
