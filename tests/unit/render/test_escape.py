"""Each format's escaping: YAML through the emitter, shell through quoting, systemd quoting."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from rke2image.errors import RenderError
from rke2image.render import escape

# Text a node file may hold: any printable unicode, tabs, newlines, trailing blanks.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\x85\u2028\u2029"),
    max_size=60,
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(TEXT, VALUES, max_size=5))
def test_to_yaml_round_trips(value: dict[str, Any]) -> None:
    assert yaml.safe_load(escape.to_yaml(value)) == (value or {})


@given(st.dictionaries(TEXT, VALUES, max_size=5))
def test_to_yaml_equals_one_plain_dump(value: dict[str, Any]) -> None:
    # The key-by-key, item-by-item emission (cached) must be the very same bytes.
    assert escape.to_yaml(value) == escape._dump(value)


def test_multi_line_strings_are_literal_blocks_even_with_tabs() -> None:
    script = "#!/bin/sh\ntab='\t'\necho \"$tab\"\n"
    text = escape.to_yaml({"write_files": [{"content": script, "path": "/x"}]})
    assert "- content: |\n" in text
    assert "    tab='\t'\n" in text
    assert yaml.safe_load(text)["write_files"][0]["content"] == script


def test_cache_keeps_types_apart() -> None:
    assert escape.to_yaml({"k": [{"v": 1}]}) == "k:\n- v: 1\n"
    assert escape.to_yaml({"k": [{"v": "1"}]}) == "k:\n- v: '1'\n"
    assert escape.to_yaml({"k": [{"v": True}]}) == "k:\n- v: true\n"
    assert escape.to_yaml({"k": [{1: "v"}]}) == "k:\n- 1: v\n"
    assert escape.to_yaml({"k": [{"1": "v"}]}) == "k:\n- '1': v\n"


def test_single_line_tab_is_never_plain() -> None:
    text = escape.to_yaml({"k": "a\tb"})
    assert yaml.safe_load(text) == {"k": "a\tb"}
    assert "\t" not in text


@pytest.mark.parametrize(
    "value", ["plain", "v1.31.4+rke2r1", "it's", "a b", "$(reboot)", "`x`", "", "*", "a\nb"]
)
def test_shell_quote_is_one_word(value: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf '%s' {escape.shell_quote(value)}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out == value
    assert shlex.split(escape.shell_quote(value)) == [value]


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("/usr/local/libexec/rke2image/preflight", "/usr/local/libexec/rke2image/preflight"),
        ("--mode", "--mode"),
        ("100%", "100%%"),
        ("$HOME", '"$$HOME"'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        (";", '";"'),
        ("", '""'),
    ],
)
def test_systemd_quote(word: str, quoted: str) -> None:
    assert escape.systemd_quote(word) == quoted


def test_systemd_refuses_newlines_and_relative_programs() -> None:
    with pytest.raises(RenderError):
        escape.systemd_quote("a\nExecStart=/bin/evil")
    with pytest.raises(RenderError):
        escape.systemd_command(["preflight", "--mode", "warn"])


@pytest.mark.parametrize(
    "key", ["vm.overcommit_memory", "net/ipv4/ip_forward", "net.ipv4.conf.*.rp_filter"]
)
def test_sysctl_key_accepts_kernel_names(key: str) -> None:
    assert escape.sysctl_key(key) == key


@pytest.mark.parametrize("key", ["a = b", "x\ny", "-vm.panic", "#c", ";c", ""])
def test_sysctl_key_refuses_what_the_format_cannot_carry(key: str) -> None:
    with pytest.raises(RenderError):
        escape.sysctl_key(key)


@pytest.mark.parametrize("value", ["1\nkernel.panic = 0", " 1", "1\x00", ""])
def test_sysctl_value_refuses_line_breaks_and_padding(value: str) -> None:
    if value == "":
        assert escape.sysctl_value(value) == ""
        return
    with pytest.raises(RenderError):
        escape.sysctl_value(value)


def test_sysctl_value_keeps_tab_separated_fields() -> None:
    assert escape.sysctl_value("4096\t87380\t6291456") == "4096\t87380\t6291456"


@pytest.mark.parametrize("name", ["br_netfilter", "nf-conntrack"])
def test_module_name(name: str) -> None:
    assert escape.module_name(name) == name


@pytest.mark.parametrize("name", ["", "a b", "x\ny", "../evil"])
def test_module_name_refuses(name: str) -> None:
    with pytest.raises(RenderError):
        escape.module_name(name)


# Found by the property above: a value ending in a line break is a keep-chomped block
# scalar, which closes its own document with `...`; mid-document that cut config.yaml.
@pytest.mark.parametrize(
    "value",
    [
        {"": "\n", "0": None},
        {"a": "x\n\n", "b": "y"},
        {"a": ["x\n", "y"]},
        {"a": ["x\n"], "b": 1},
    ],
)
def test_keep_chomped_values_do_not_end_the_document_early(value: dict[str, Any]) -> None:
    text = escape.to_yaml(value)
    assert text == escape._dump(value)
    assert yaml.safe_load(text) == value
