"""choose_accelerator: KVM only with a virtualisation CPU flag and a usable /dev/kvm."""

from __future__ import annotations

from pathlib import Path

import pytest

from rke2image.bake.accel import choose_accelerator, cpu_has_virtualisation, kvm_usable
from rke2image.errors import UserError

CPUINFO_PLAIN = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr sse2 hypervisor\n\n"
CPUINFO_VMX = "processor\t: 0\nflags\t\t: fpu vme vmx sse2\n\n"
CPUINFO_SVM = "processor\t: 0\nflags\t\t: fpu svm sse2\n\n"


def _cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def _fake_kvm(tmp_path: Path, mode: int = 0o600) -> Path:
    """A regular file stands in for /dev/kvm: what matters is whether it opens rw."""
    path = tmp_path / "kvm"
    path.write_text("")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("text", [CPUINFO_VMX, CPUINFO_SVM])
def test_auto_picks_kvm_with_flag_and_device(tmp_path: Path, text: str) -> None:
    assert choose_accelerator("auto", _cpuinfo(tmp_path, text), _fake_kvm(tmp_path)) == "kvm"


def test_auto_picks_tcg_without_cpu_flag_even_if_device_opens(tmp_path: Path) -> None:
    # The nested-PVM trap: /dev/kvm opens but the CPU has no vmx/svm.
    got = choose_accelerator("auto", _cpuinfo(tmp_path, CPUINFO_PLAIN), _fake_kvm(tmp_path))
    assert got == "tcg"


def test_auto_picks_tcg_without_device(tmp_path: Path) -> None:
    got = choose_accelerator("auto", _cpuinfo(tmp_path, CPUINFO_VMX), tmp_path / "missing")
    assert got == "tcg"


def test_unreadable_device_is_not_usable(tmp_path: Path) -> None:
    # A directory never opens read-write, for root too.
    assert kvm_usable(tmp_path) is False


def test_missing_cpuinfo_means_no_virtualisation(tmp_path: Path) -> None:
    assert cpu_has_virtualisation(tmp_path / "nope") is False


def test_flag_only_counts_on_the_flags_line(tmp_path: Path) -> None:
    text = "model name\t: vmx svm marketing\nflags\t\t: fpu sse2\n"
    assert cpu_has_virtualisation(_cpuinfo(tmp_path, text)) is False


@pytest.mark.parametrize("forced", ["kvm", "tcg"])
def test_forced_choice_is_returned_as_is(tmp_path: Path, forced: str) -> None:
    # Forcing needs no probing: missing paths must not change the answer.
    assert choose_accelerator(forced, tmp_path / "a", tmp_path / "b") == forced


def test_unknown_accelerator_is_a_user_error() -> None:
    with pytest.raises(UserError, match="hvf"):
        choose_accelerator("hvf")


def test_this_machine_matches_its_own_facts() -> None:
    """On the real host, auto agrees with the two checks done by hand."""
    expected = "kvm" if cpu_has_virtualisation() and kvm_usable() else "tcg"
    assert choose_accelerator() == expected
