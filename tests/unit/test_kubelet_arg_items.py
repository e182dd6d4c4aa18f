"""One kubelet-arg item as RKE2 hands it to kubelet (k3s util.GetArgs): the one place that
splits ``--name=value``, used by the spec's rules and the audit alike."""

from __future__ import annotations

import pytest

from rke2image import rke2
from rke2image.goflags import split_arg, winning_arg


@pytest.mark.parametrize(
    ("item", "split"),
    [
        ("--protect-kernel-defaults=true", ("protect-kernel-defaults", "true")),
        ("protect-kernel-defaults=false", ("protect-kernel-defaults", "false")),
        ("--protect-kernel-defaults", ("protect-kernel-defaults", "true")),  # bare: true
        ("fail-swap-on=", ("fail-swap-on", "")),  # an empty value is not a bare flag
        ("eviction-hard=memory.available<5%=x", ("eviction-hard", "memory.available<5%=x")),
        ("----x=1", ("--x", "1")),  # one leading -- only
        ("feature-gates+=A=true", ("feature-gates+", "A=true")),  # append marker kept
        (5, ("5", "true")),
    ],
)
def test_an_item_splits_at_its_first_equals_sign(item: object, split: tuple[str, str]) -> None:
    assert split_arg(item) == split


def test_the_last_item_naming_a_flag_wins_with_its_value() -> None:
    args = [f"--{rke2.FAIL_SWAP_ON}=true", "max-pods=250", f"{rke2.FAIL_SWAP_ON}=false"]
    assert winning_arg(args, rke2.FAIL_SWAP_ON) == (2, "false")
    assert winning_arg([f"--{rke2.PROTECT_KERNEL_DEFAULTS}"], rke2.PROTECT_KERNEL_DEFAULTS) == (
        0,
        "true",
    )
