"""The YAML loader: positions for every key and value, and safe refusals of bad input."""

from __future__ import annotations

import pytest

from rke2image.spec.check import check_bytes
from rke2image.spec.yamlload import MAX_BYTES, LoadFailed, decode, load_text


def refusal(text: str | bytes) -> tuple[str, int, int]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(LoadFailed) as caught:
        load_text("f.yaml", decode("f.yaml", raw))
    problem = caught.value.problem
    return problem.rule, problem.line, problem.column


def test_every_key_and_value_has_a_one_based_position() -> None:
    doc = load_text("f.yaml", "a: 1\nb:\n  c: [x, y]\n")
    assert (doc.key_positions["/b/c"].line, doc.key_positions["/b/c"].column) == (3, 3)
    assert (doc.value_positions["/b/c/1"].line, doc.value_positions["/b/c/1"].column) == (3, 10)
    assert doc.position("/b/c/1/missing").line == 3


def test_pointer_tokens_are_escaped() -> None:
    doc = load_text("f.yaml", "a/b: {c~d: 1}\n")
    assert "/a~1b/c~0d" in doc.key_positions


def test_timestamps_stay_strings_and_yaml11_booleans_are_booleans() -> None:
    doc = load_text("f.yaml", "when: 2024-01-01\nflag: on\nnum: 0x10\n")
    assert doc.data == {"when": "2024-01-01", "flag": True, "num": 16}


def test_merge_keys_merge_without_overriding() -> None:
    doc = load_text("f.yaml", "base: &b {x: 1, y: 2}\nnode:\n  <<: *b\n  y: 3\n")
    assert doc.data["node"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", ("yaml-duplicate-key", 2, 1)),
        ("x:\n  a: 1\n  b: 2\n  a: 3\n", ("yaml-duplicate-key", 4, 3)),
        ("", ("yaml-empty", 1, 1)),
        ("# only a comment\n", ("yaml-empty", 1, 1)),
        ("a: 1\n---\nb: 2\n", ("yaml-multi-doc", 3, 1)),
        ("- 1\n", ("yaml-not-mapping", 1, 1)),
        ("just text\n", ("yaml-not-mapping", 1, 1)),
        ("? [a]\n: 1\n", ("yaml-key-type", 1, 3)),
        ("yes: 1\n", ("yaml-key-type", 1, 1)),
        ("a: [1\nb: 2\n", ("yaml-syntax", 2, 2)),
        ("a: &x [*x]\n", ("yaml-alias-bomb", 1, 4)),
    ],
)
def test_bad_documents_are_refused_with_a_position(text: str, expected: tuple[str, int, int]) -> None:
    assert refusal(text) == expected


def test_invalid_utf8_names_the_line_and_column_of_the_bad_byte() -> None:
    assert refusal(b"a: 1\nname: caf\xe9\n") == ("yaml-encoding", 2, 10)


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert load_text("f.yaml", decode("f.yaml", b"\xef\xbb\xbfa: 1\n")).data == {"a": 1}


def test_files_over_one_mebibyte_are_refused_before_parsing() -> None:
    raw = b"a: " + b"x" * MAX_BYTES + b"\n"
    assert refusal(raw) == ("yaml-too-large", 1, 1)
    (problem,) = check_bytes(raw, "big.yaml").problems
    assert problem.rule == "yaml-too-large"


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    rule, _, _ = refusal("\n".join(lines) + "\n")
    assert rule == "yaml-alias-bomb"


def test_modest_anchor_reuse_is_fine() -> None:
    doc = load_text("f.yaml", "d: &d {a: 1}\nx: *d\ny: *d\n")
    assert doc.data["x"] == doc.data["y"] == {"a": 1}
