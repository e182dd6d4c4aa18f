"""The lines of one sysctl.d file as systemd-sysctl, procps 4 and procps 3.3 parse them.

Each parser follows its tool's source (cited per function) byte for byte; the
differential test (tests/acceptance/sysctld_oracle) proves them against the real tools.
Keys come out in the form the tool writes: systemd's normalised key, or procps's path
below /proc/sys. Text is decoded as UTF-8 with surrogate escapes, so no byte is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from rke2image.sysctlkeys import procps_path, systemd_normalize
from rke2image.sysctlread import getline_lines, systemd_lines

_SYSTEMD_SPACE = " \t\n\r"  # systemd's WHITESPACE: not \v, \f nor any Unicode space
_C_SPACE = " \t\n\v\f\r"  # isspace() in the C locale (procps 4)
_CR_OR_LF = re.compile("[\n\r]")


class Assignment(NamedTuple):
    """One line that sets (or, with value None, excludes) a key."""

    key: str  # systemd: normalised key; procps: path below /proc/sys; may be a glob
    value: str | None  # None: a bare ``-key`` (kept off globs; cancels under systemd)
    file: str
    line: int
    ignore_failure: bool = False


class SyntaxProblem(NamedTuple):
    file: str
    line: int | None  # None: the whole file
    message: str


Parsed = Iterator["Assignment | SyntaxProblem"]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def systemd_parse(data: bytes, file: str) -> Parsed:
    """src/sysctl/sysctl.c parse_file() (v247-v257): strstrip, ``#``/``;`` comments, the
    first ``=`` splits, a leading ``-`` marks ignore-failure or, without ``=``, exclusion."""
    for number, raw in systemd_lines(data):
        if number < 0:
            yield SyntaxProblem(
                file, -number, "line longer than 1 MiB: systemd-sysctl ignores the rest of the file"
            )
            return
        p = _text(raw).strip(_SYSTEMD_SPACE)
        if not p or p[0] in "#;":
            continue
        ignore = False
        if "=" in p:
            if p[0] == "-":
                ignore, p = True, p[1:]
            name, _, rest = p.partition("=")
            value: str | None = rest.strip(_SYSTEMD_SPACE)
        elif p[0] == "-":
            name, value = p[1:], None
        else:
            yield SyntaxProblem(file, number, f"line is not an assignment: {p!r}")
            continue
        yield Assignment(systemd_normalize(name.strip(_SYSTEMD_SPACE)), value, file, number, ignore)


def _c_string(raw: bytes) -> bytes:
    end = raw.find(b"\0")
    return raw if end < 0 else raw[:end]


def _rstrip_c(text: str) -> str:
    """procps 4 rstrip(): strips trailing isspace() but never the first character."""
    return _rstrip_c_from(text, _C_SPACE)


def procps4_parse(data: bytes, file: str) -> Parsed:
    """procps-ng 4.0 src/sysctl.c Preload() and parse_setting_line(): getline() lines,
    shorter than 2 bytes skipped, C strings (a NUL ends the line), isspace() stripping."""
    for number, raw in getline_lines(data):
        if len(raw) < 2:
            continue
        key = _text(_c_string(raw)).lstrip(_C_SPACE)
        if len(key) < 2 or key[0] in "#;":
            continue
        ignore = False
        if "=" not in key:
            if key[0] != "-":
                yield SyntaxProblem(file, number, f"invalid syntax: {key.strip()!r}")
                continue
            name, value = _rstrip_c(key[1:]), None
        else:
            name, _, rest = key.partition("=")
            if name[:1] == "-":
                ignore, name = True, name[1:]
            value = _rstrip_c(rest.lstrip(_C_SPACE)) if rest.lstrip(_C_SPACE) else ""
            name = _rstrip_c(name)
        if name[:1] == "-":  # setting_new() drops one more dash
            name = name[1:]
        yield Assignment(procps_path(name), value, file, number, ignore)


def procps3_parse(data: bytes, file: str) -> Parsed:
    """procps-ng 3.3.17 sysctl.c Preload(): getline() lines, blanks and tabs stripped
    (StripLeadingAndTrailingSpaces), ``strtok(t, "=")`` for the name (leading ``=`` skipped)
    and ``strtok(NULL, "\\n\\r")`` for the value.

    A line without ``=`` and without leading blanks is not rejected: strtok() leaves its
    pointer on the name's end, which the ``=`` written there turns into a value of ``=``
    followed by whatever the shared line buffer still held (undefined bytes). Its value
    here is ``=``: it always starts so, and no number the kernel parses does.
    """
    for number, raw in getline_lines(data):
        if len(raw) < 2:
            continue
        line = _text(_c_string(raw))
        body = _rstrip_c_from(line, " \t\n\r")
        t = body.lstrip(" \t")
        if len(t) < 2 or t[0] in "#;":
            continue
        stripped = t.lstrip("=")
        if not stripped:
            yield SyntaxProblem(file, number, f"invalid syntax: {t!r}")
            continue
        name, equals, rest = stripped.partition("=")
        name = _rstrip_c_from(name, " \t\n\r")
        if equals:
            value = _CR_OR_LF.split(rest.lstrip("\n\r"), maxsplit=1)[0]
        elif len(t) == len(body) and t[0] != "=":
            value = "="  # the undefined-buffer case above (the name must start the buffer)
        else:
            value = ""
        if not value:
            yield SyntaxProblem(file, number, f"invalid syntax: {t!r}")
            continue
        value = value.lstrip(" \t")
        ignore = name.startswith("-")
        yield Assignment(procps_path(name[1:] if ignore else name), value, file, number, ignore)


def _rstrip_c_from(text: str, chars: str) -> str:
    """Strip trailing ``chars`` but never the first character (procps's loops)."""
    end = len(text)
    while end > 1 and text[end - 1] in chars:
        end -= 1
    return text[:end]
