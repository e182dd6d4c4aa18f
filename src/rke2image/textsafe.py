"""Text from a node or a pull request made safe for the reader it goes to.

File names, host names, live values and node names are written by whoever controls the
node or the fork: a newline forges a report line (a ``compliant`` summary, a GitHub
``::error`` workflow command), an escape sequence drives the terminal, a Markdown link or
``<img>`` reaches a ticket, and bytes that are not UTF-8 become lone surrogates that JSON
readers reject. One home for each escape, used by every reporter:

- ``printable``: text outputs (a terminal, a log, npd's one line, a Prometheus label):
  every control character (C0 but tab, DEL, C1, the Unicode line and paragraph
  separators) and every byte that is not UTF-8 becomes ``\\xNN`` (``\\uNNNN`` above
  0xFF); nothing else changes.
- ``reversible``: a file name in JSON, the one form a tool can turn back into the bytes:
  a backslash is doubled and a byte that is not UTF-8 (Python's ``surrogateescape``,
  U+DC80..U+DCFF) is ``\\xNN``; everything else is the name itself. Decode with
  ``unreversible``.
- ``markdown``: one Markdown table cell (GitHub's step summary, fleet's markdown): one
  line, HTML escaped, Markdown's punctuation backslash-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_OR_BACKSLASH = re.compile(r"[\\\udc80-\udcff]")
_ESCAPE = re.compile(r"\\(\\|x[89a-f][0-9a-f])")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~#!])")


def _hex(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line, with no control character and no lone surrogate."""
    return _CONTROL.sub(lambda m: _hex(m.group()), text)


def no_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a byte that was not UTF-8) as ``\\xNN``: JSON
    readers refuse lone surrogates; every other character stays as it is."""
    return _SURROGATE.sub(lambda m: _hex(m.group()), text)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A JSON-shaped value (dicts, lists, scalars) with ``change`` applied to every string."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, change) for item in value]
    return value


def reversible(name: str) -> str:
    """A file name for JSON: ``\\`` doubled, each byte that is not UTF-8 as ``\\xNN``."""
    return _SURROGATE_OR_BACKSLASH.sub(
        lambda m: "\\\\" if m.group() == "\\" else _hex(m.group()), name
    )


def unreversible(text: str) -> str:
    """The name ``reversible`` escaped (``os.fsencode`` of it gives the bytes)."""
    return _ESCAPE.sub(
        lambda m: "\\" if m.group(1) == "\\" else chr(0xDC00 + int(m.group(1)[1:], 16)), text
    )


def markdown(text: str, limit: int | None = None) -> str:
    """One Markdown table cell: no line break, HTML, link, image or emphasis gets through."""
    import html  # lazy: only the markdown formats need it

    text = printable(" ".join(text.split()))
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))


def code_span(text: str) -> str:
    """Text inside a Markdown code span of a table cell: shown as is, so only what would
    end the span, the cell or the line is replaced."""
    return printable(text).replace("|", "\\|").replace("`", "'")
