"""Go flag reading (rke2image.goflags): strconv.ParseBool's exact spellings, and which
``kubelet-arg`` item kubelet keeps after RKE2's util.GetArgs sorted them."""

from __future__ import annotations

import pytest

from rke2image.goflags import (
    GO_FALSE,
    GO_TRUE,
    NotABool,
    arg_list,
    on_or_invalid,
    parse_go_bool,
    winning_arg,
)

FLAG = "protect-kernel-defaults"


@pytest.mark.parametrize("text", sorted(GO_TRUE))
def test_every_spelling_go_reads_as_true(text: str) -> None:
    assert parse_go_bool(text) is True


@pytest.mark.parametrize("text", sorted(GO_FALSE))
def test_every_spelling_go_reads_as_false(text: str) -> None:
    assert parse_go_bool(text) is False


def test_the_spellings_are_strconv_parsebools() -> None:
    assert {"1", "t", "T", "TRUE", "true", "True"} == GO_TRUE
    assert {"0", "f", "F", "FALSE", "false", "False"} == GO_FALSE


def test_yaml_booleans_and_integers_are_read_as_a_flag_value() -> None:
    assert parse_go_bool(True) is True and parse_go_bool(False) is False
    assert parse_go_bool(1) is True and parse_go_bool(0) is False


@pytest.mark.parametrize("value", ["yes", "no", "on", "off", "tRUE", " true", "true\n", "", 2, -1])
def test_what_go_refuses_is_not_a_bool(value: object) -> None:
    """The error names the text Go was given (an integer as Go formats it)."""
    with pytest.raises(NotABool) as raised:
        parse_go_bool(value)
    assert str(raised.value) == repr(str(value))


@pytest.mark.parametrize("value", [None, 1.0, [], {}])
def test_a_value_of_another_type_is_not_a_bool_and_named(value: object) -> None:
    with pytest.raises(NotABool) as raised:
        parse_go_bool(value)
    assert str(raised.value) == repr(value)


def test_on_or_invalid_fails_closed() -> None:
    """Protection counts as on when Go reads true or refuses the value (the node would not
    start without it); only an absent or false value is off."""
    assert on_or_invalid(None) is False
    assert on_or_invalid("false") is False and on_or_invalid(0) is False
    assert on_or_invalid("true") is True and on_or_invalid(1) is True
    assert on_or_invalid("yes") is True and on_or_invalid(1.5) is True


def test_a_bare_flag_is_true_and_a_value_splits_at_the_first_equals() -> None:
    assert winning_arg([FLAG], FLAG) == (0, "true")
    assert winning_arg([f"--{FLAG}"], FLAG) == (0, "true")
    assert winning_arg([f"{FLAG}=false"], FLAG) == (0, "false")
    assert winning_arg([f"{FLAG}=a=b"], FLAG) == (0, "a=b")
    assert winning_arg([f"{FLAG}="], FLAG) == (0, "")


def test_the_last_repeat_of_one_spelling_wins() -> None:
    args = [f"{FLAG}=true", "v=2", f"--{FLAG}=false"]
    assert winning_arg(args, FLAG) == (2, "false")


def test_spellings_are_emitted_sorted_so_the_underscore_one_wins() -> None:
    """GetArgs sorts by name: ``_`` (0x5f) sorts after ``-`` (0x2d), and pflag reads it as
    ``-``, so the underscore spelling is the last one kubelet sees, wherever it stands."""
    underscore = FLAG.replace("-", "_")
    assert winning_arg([f"{underscore}=false", f"{FLAG}=true"], FLAG) == (0, "false")
    assert winning_arg([f"{FLAG}=true", f"{underscore}=false"], FLAG) == (1, "false")


def test_an_append_or_prepend_suffix_still_names_the_flag() -> None:
    assert winning_arg([f"{FLAG}+=false"], FLAG) == (0, "false")
    assert winning_arg([f"{FLAG}-=false"], FLAG) == (0, "false")


def test_no_item_naming_the_flag_is_none() -> None:
    assert winning_arg([], FLAG) is None
    assert winning_arg(["protect-kernel=true", f"x{FLAG}=true", 7], FLAG) is None


def test_kubelet_arg_is_a_list_or_one_item_alone() -> None:
    assert arg_list(f"{FLAG}=true") == [f"{FLAG}=true"]
    assert arg_list(7) == [7]
    given = ["a=1", "b=2"]
    assert arg_list(given) == given and arg_list(given) is not given
    assert arg_list(None) == [] and arg_list({"a": 1}) == []
