"""textsafe: the escapes every reporter uses for text from nodes and forks."""

from __future__ import annotations

import os
import re

from hypothesis import given
from hypothesis import strategies as st

from rke2image.textsafe import (
    code_span,
    markdown,
    no_surrogates,
    printable,
    reversible,
    unreversible,
)

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


@given(st.binary(max_size=64))
def test_a_file_names_bytes_come_back_from_its_json_form(raw: bytes) -> None:
    name = os.fsdecode(raw)  # what os.listdir gives for these bytes
    shown = reversible(name)
    shown.encode("utf-8")  # strict: no lone surrogate reaches a JSON reader
    assert os.fsencode(unreversible(shown)) == raw


def test_the_reversible_form_is_the_documented_one() -> None:
    assert reversible(os.fsdecode(b"a\xffb\\x41.conf")) == "a\\xffb\\\\x41.conf"
    assert reversible("kernel/panic é.conf") == "kernel/panic é.conf"


@given(st.text())
def test_printable_text_is_one_line_without_control_characters(text: str) -> None:
    shown = printable(text)
    assert not CONTROL.search(shown)
    shown.encode("utf-8")
    assert "\t" not in text or "\t" in shown  # a tab (a live value's field separator) stays


@given(st.text())
def test_no_surrogates_changes_only_surrogates(text: str) -> None:
    shown = no_surrogates(text)
    shown.encode("utf-8")
    if not re.search("[\ud800-\udfff]", text):
        assert shown == text


@given(st.text())
def test_a_markdown_cell_carries_no_markup(text: str) -> None:
    cell = markdown(text)
    assert "\n" not in cell and "<" not in cell and not CONTROL.search(cell)
    assert not re.search(r"(?<!\\)[\[\]|`*_]", cell)


def test_examples() -> None:
    assert (
        printable("cp-1\n0 error(s): compliant\x1b[2J") == "cp-1\\x0a0 error(s): compliant\\x1b[2J"
    )
    assert markdown("![x](https://e/p.png) <b>") == "\\!\\[x\\](https://e/p.png) &lt;b&gt;"
    assert code_span("a|b`c\n") == "a\\|b'c\\x0a"
    assert markdown("x" * 10, limit=4) == "xxxx…"
