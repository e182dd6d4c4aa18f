"""Per parameter: live value, what each boot tool leaves, the verdict, and its finding."""

from __future__ import annotations

from typing import NamedTuple

from rke2image import paths
from rke2image.audit import catalog
from rke2image.audit.boot import BootWriters
from rke2image.audit.kvalues import applied, same_value
from rke2image.audit.live import Live, Unreadable
from rke2image.audit.model import (
    Finding,
    FindingSeverity,
    NextBoot,
    Override,
    ParameterResult,
    Verdict,
)
from rke2image.kernel import KERNEL_DEFAULTS, KUBELET_MISMATCH
from rke2image.sysctld import SYSCTL_CONF, BootPlan, Resolution


class Wanted(NamedTuple):
    key: str
    expected: str
    required: bool


class Context(NamedTuple):
    live: bool  # live values were read
    protected: bool
    remediated: bool  # rke2image's preflight re-applies the values before RKE2 starts


def next_boot(resolution: Resolution, writers: BootWriters | None = None) -> NextBoot:
    winner = resolution.winner

    def source(file: str) -> str:
        return (
            writers.source(file)
            if writers
            else ("sysctl.conf" if file == SYSCTL_CONF else "sysctl.d")
        )

    return NextBoot(
        resolution.value,
        winner.file if winner else None,
        winner.line if winner else None,
        tuple(
            Override(a.file, a.line, a.value or "", source(a.file)) for a in resolution.overridden
        ),
        source(winner.file) if winner else None,
    )


def verdict(
    expected: str, live: Live, boot: str | None, default: str | None, is_live: bool
) -> Verdict:
    """ok, wrong, latent, unpersisted, missing or unreadable (docs/audit-json.md,
    "Verdicts").

    Values compare as the kernel parses them; a boot value the kernel refuses leaves
    the kernel's default."""
    boot = applied(boot, expected)
    if not is_live:
        if boot is None:
            return "ok" if same_value(default, expected) else "unpersisted"
        return "ok" if same_value(boot, expected) else "wrong"
    if live is None:
        return "missing"
    if isinstance(live, Unreadable):
        return "unreadable"
    if not same_value(live, expected):
        return "wrong"
    if boot is None:
        return "ok" if same_value(default, expected) else "unpersisted"
    return "ok" if same_value(boot, expected) else "latent"


def judge(
    want: Wanted,
    live: Live,
    systemd: BootPlan,
    procps: BootPlan,
    ctx: Context,
    writers: BootWriters | None = None,
) -> tuple[ParameterResult, list[Finding]]:
    """The parameter's result and the findings it raises; ``writers``: the kernel command
    line and TuneD around each sysctl file tool (``audit.boot``)."""
    by_systemd, by_procps = systemd.resolve(want.key), procps.resolve(want.key)
    if writers is not None:
        by_systemd, by_procps = (
            writers.around(by_systemd, want.key),
            writers.around(by_procps, want.key),
        )
    default = KERNEL_DEFAULTS.get(want.key)
    result = verdict(want.expected, live, by_systemd.value, default, ctx.live)
    fix = _fix(want, result, by_systemd, writers)
    findings = _findings(want, live, result, by_systemd, ctx, fix)
    if isinstance(live, Unreadable):
        live = None
    w = by_procps.winner
    # what `sysctl --system` run by hand leaves; None: nothing, or a write the kernel refuses
    by_hand = applied(w.value, want.expected) if w is not None else None
    if (
        result == "ok"
        and w is not None
        and by_hand is not None
        and not same_value(by_hand, want.expected)
    ):
        # systemd-sysctl keeps it right, but `sysctl --system` run by hand would break it
        findings.append(
            catalog.PROCPS_VALUE_WRONG.finding(
                f"{want.key} = {w.value}: `sysctl --system` (procps) applies this file after the "
                f"others and leaves {want.key} at {w.value}, not {want.expected}",
                want.key,
                w.file,
                w.line,
                f"edit {w.file}:{w.line} to {want.key} = {want.expected} (or remove the line)",
            )
        )
    return ParameterResult(
        want.key,
        want.expected,
        want.required,
        live,
        next_boot(by_systemd, writers),
        next_boot(by_procps, writers),
        result,
        fix,
    ), findings


def _fix(
    want: Wanted, result: Verdict, boot: Resolution, writers: BootWriters | None = None
) -> str | None:
    """One line: which file to change and, for a live value, `sysctl -w` (never a restart of
    systemd-sysctl: it resets what the CNI set, rancher/rke2#2021)."""
    setting = f"{want.key} = {want.expected}"
    winner = boot.winner
    wrong_boot = winner is not None and not same_value(boot.value, want.expected)
    if winner is not None and wrong_boot and writers is not None:
        persist = writers.fix_words(winner.file, winner.line, want.key, want.expected)
    elif winner is not None and wrong_boot:
        persist = f"edit {winner.file}:{winner.line} to {setting} (or remove the line)"
    elif winner is None and result in {"wrong", "unpersisted", "missing"}:
        persist = f"add {setting} to {paths.SYSCTL_FILE}"
    else:
        persist = ""
    live = f"sysctl -w {want.key}={want.expected}" if result == "wrong" else ""
    if result == "missing":
        return f"load the module that provides {want.key}, then {persist}"
    if result == "unreadable":
        return "; ".join(p for p in (f"run the audit as root to read {want.key}", persist) if p)
    return "; ".join(p for p in (live, persist) if p) or None


def _findings(
    want: Wanted, live: Live, result: Verdict, boot: Resolution, ctx: Context, fix: str | None
) -> list[Finding]:
    if result == "ok":
        return []
    severe: FindingSeverity = "error" if ctx.protected and want.required else "warning"
    source = boot.winner
    off = (
        ("; protection is off, so kubelet rewrites it; switching protection on will stop the node")
        if not ctx.protected and want.required
        else ""
    )
    wrong_source = source is not None and not same_value(boot.value, want.expected)
    file = source.file if source is not None and wrong_source else None
    line = source.line if source is not None and wrong_source else None
    if result == "wrong" and ctx.live:
        words = KUBELET_MISMATCH.format(
            flag=want.key.replace(".", "/"), expected=want.expected, actual=live
        )
        if wrong_source:
            boot_note = f"; this line sets {boot.value} at every boot"
        elif source is not None:
            boot_note = (
                f"; the next boot sets {boot.value} ({source.file}:{source.line}): only "
                "the live value is wrong"
            )
        else:
            boot_note = "; nothing sets it at boot"
        return [
            catalog.LIVE_VALUE_WRONG.with_severity(severe).finding(
                f"{words}{boot_note}{off}", want.key, file, line, fix
            )
        ]
    if result == "wrong":
        return [
            catalog.NEXT_BOOT_WRONG.with_severity(severe).finding(
                f"{want.key} = {boot.value} at boot, kubelet requires {want.expected}{off}",
                want.key,
                file,
                line,
                fix,
            )
        ]
    if result == "latent":
        held = "; rke2image's preflight re-applies it before RKE2 starts" if ctx.remediated else ""
        level: FindingSeverity = "warning" if ctx.remediated else severe
        return [
            catalog.LATENT_VALUE.with_severity(level).finding(
                f"{want.key} is {live} now, but the next boot sets {boot.value}: "
                f"the node breaks at the next reboot{held}{off}",
                want.key,
                file,
                line,
                fix,
            )
        ]
    if isinstance(live, Unreadable):
        return [
            catalog.LIVE_VALUE_UNREADABLE.finding(
                f"{want.key}: the live value cannot be read ({live.reason}), so whether "
                "kubelet accepts it is unknown",
                want.key,
                fix=fix,
            )
        ]
    if result == "missing":
        return [
            catalog.PARAMETER_MISSING.with_severity(severe).finding(
                f"{want.key} does not exist in this kernel's /proc/sys",
                want.key,
                fix=fix,
            )
        ]
    default = KERNEL_DEFAULTS.get(want.key, "unknown")
    now = f"is {live} now but " if ctx.live else ""
    return [
        catalog.UNPERSISTED_VALUE.finding(
            f"{want.key} {now}no sysctl.d file sets it: the kernel starts with "
            f"{default}, kubelet requires {want.expected}{off}",
            want.key,
            fix=fix,
        )
    ]
