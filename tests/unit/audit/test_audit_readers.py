"""The pure parts of the audit's readers: the kernel's command-line split, GRUB's shell
values, a unit's specifiers and the YAML limits."""

from __future__ import annotations

import pytest

from rke2image.audit.cmdline import _shell_value, split_words
from rke2image.audit.nodeyaml import MAX_DEPTH, YamlRefused, compose_bounded
from rke2image.audit.unit import _service_lines, _specifiers


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ro  quiet\tsysctl.kernel.panic=10\n", ["ro", "quiet", "sysctl.kernel.panic=10"]),
        ('a="b c" "sysctl.vm.x=1"', ["a=b c", "sysctl.vm.x=1"]),
        ("panic=0 -- panic=5 init args", ["panic=0"]),
        ("", []),
    ],
)
def test_the_command_line_splits_as_the_kernel_splits_it(line: str, words: list[str]) -> None:
    assert split_words(line) == words


@pytest.mark.parametrize(
    ("value", "known", "expected"),
    [
        ('"quiet splash"', {}, "quiet splash"),
        ("'a $b'", {"b": "x"}, "a $b"),
        (
            '"$GRUB_CMDLINE_LINUX sysctl.kernel.panic=10"',
            {"GRUB_CMDLINE_LINUX": "ro"},
            "ro sysctl.kernel.panic=10",
        ),
        ('"${X}y" # comment', {"X": "x"}, "xy"),
        ("plain", {}, "plain"),
    ],
)
def test_grub_values_read_as_the_shell_reads_them(
    value: str, known: dict[str, str], expected: str
) -> None:
    assert _shell_value(value, known) == expected


def test_unit_specifiers_and_continued_lines() -> None:
    assert _specifiers("-/etc/default/%N", "rke2-server.service") == "-/etc/default/rke2-server"
    assert _specifiers("%n 100%%", "rke2-agent.service") == "rke2-agent.service 100%"
    text = "[Unit]\nEnvironment=A=1\n[Service]\n# c\nEnvironment=B=2 \\\n  C=3\nExecStartPre=\n"
    lines = [(k, v.value, v.line) for k, v in _service_lines(text, "/u")]
    assert lines == [("Environment", "B=2  C=3", 5), ("ExecStartPre", "", 7)]


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        text += f"b{i}: &b{i} [" + ", ".join(["*a" if i == 1 else f"*b{i - 1}"] * 10) + "]\n"
    with pytest.raises(YamlRefused) as refused:
        compose_bounded(text)
    assert refused.value.rke2_refuses and refused.value.line is not None


def test_aliases_that_stay_small_are_fine() -> None:
    node = compose_bounded("base: &b {a: 1}\none: *b\ntwo: *b\n")
    assert len(node.value) == 3


def test_depth_beyond_the_limit_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(YamlRefused) as refused:
        compose_bounded("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert not refused.value.rke2_refuses
    assert compose_bounded("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
