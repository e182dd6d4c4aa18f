"""The audit's Prometheus text (audit/formats.py ``prometheus``) parsed back with
prometheus_client, as node_exporter's textfile collector reads it: every family of
docs/audit-json.md's metric table, a gauge with help, and every sample's labels and value
those of the Report, no more, no less."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from helpers import REPO
from rke2image.audit.formats import prometheus
from rke2image.audit.model import (
    Finding,
    NextBoot,
    ParameterResult,
    Protection,
    Report,
    Verdict,
)
from rke2image.rke2 import Role

# The metric table of the contract: every family the audit writes.
FAMILIES = set(
    re.findall(
        r"^\| `(rke2image_\w+)` \|",
        (REPO / "docs" / "audit-json.md").read_text(encoding="utf-8"),
        re.M,
    )
)
NOTHING = NextBoot(None, None, None)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def boot(value: str) -> NextBoot:
    return NextBoot(value, "/etc/sysctl.d/60-test.conf", 1, (), "sysctl.d")


def parameter(
    key: str, expected: str, live: str | None, at_boot: NextBoot, verdict: Verdict
) -> ParameterResult:
    fix = None if verdict == "ok" else "..."
    return ParameterResult(key, expected, True, live, at_boot, at_boot, verdict, fix)


def report(
    parameters: tuple[ParameterResult, ...],
    findings: tuple[Finding, ...] = (),
    *,
    role: Role | None = "server",
    protection: bool = True,
    name: str = "cp-1",
) -> Report:
    return Report(
        generated="2026-11-26T00:00:00Z",
        generated_epoch=1795665600.25,
        node_name=name,
        role=role,
        root="/",
        live=any(p.live is not None for p in parameters),
        protection=Protection(protection),
        parameters=parameters,
        findings=findings,
        files={"systemd": [], "procps": []},
    )


def parsed(text: str) -> tuple[dict[str, tuple[str, str]], Samples]:
    """(family -> (type, help)), and every sample by name and labels."""
    families = list(text_string_to_metric_families(text))
    kinds = {f.name: (f.type, f.documentation) for f in families}
    samples = {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}
    assert len(samples) == sum(len(f.samples) for f in families), "a sample twice"
    return kinds, samples


def sample(name: str, value: float, **labels: str) -> Samples:
    return {(name, frozenset(labels.items())): value}


LIVE = report(
    (
        parameter("kernel.panic", "10", "10", boot("0"), "latent"),
        parameter("vm.panic_on_oom", "0", "0", NOTHING, "ok"),
        # a multi-field value and one of other digits: no live sample (node_exporter would
        # drop the whole file), the verdict still
        parameter("kernel.printk", "4 4 1 7", "4\t4\t1\t7", boot("4 4 1 7"), "ok"),
        parameter("vm.swappiness", "10", "\u0661\u0660", boot("10"), "wrong"),
    ),
    (
        Finding("error", "latent-value", "..."),
        Finding("error", "live-value-wrong", "..."),
        Finding("info", "systemd-sysctl-failed", "..."),
    ),
)


def test_every_family_is_a_gauge_with_help() -> None:
    kinds, _ = parsed(prometheus(LIVE))
    assert len(FAMILIES) == 8
    assert set(kinds) == FAMILIES
    assert all(kind == "gauge" and help_text for kind, help_text in kinds.values())


def test_every_sample_is_the_reports() -> None:
    _, got = parsed(prometheus(LIVE))
    want: Samples = {}
    for key, verdict in (
        ("kernel.panic", "latent"),
        ("vm.panic_on_oom", "ok"),
        ("kernel.printk", "ok"),
        ("vm.swappiness", "wrong"),
    ):
        want |= sample("rke2image_sysctl_compliant", verdict == "ok", key=key, verdict=verdict)
    want |= sample("rke2image_sysctl_live_value", 10, key="kernel.panic")
    want |= sample("rke2image_sysctl_live_value", 0, key="vm.panic_on_oom")
    for key, value in (("kernel.panic", 10), ("vm.panic_on_oom", 0), ("vm.swappiness", 10)):
        want |= sample("rke2image_sysctl_expected_value", value, key=key)
    # kernel.panic: 0 at boot; vm.panic_on_oom: nothing set, the kernel's 0 is right
    for source in ("systemd", "procps"):
        for key, ok in (
            ("kernel.panic", 0),
            ("vm.panic_on_oom", 1),
            ("kernel.printk", 1),
            ("vm.swappiness", 1),
        ):
            want |= sample("rke2image_sysctl_next_boot_compliant", ok, key=key, source=source)
    want |= sample("rke2image_protect_kernel_defaults", 1)
    for severity, count in (("error", 2), ("warning", 0), ("info", 1)):
        want |= sample("rke2image_audit_findings", count, severity=severity)
    want |= sample("rke2image_audit_last_run_timestamp_seconds", 1795665600.25)
    want |= sample("rke2image_node_info", 1, node="cp-1", role="server")
    assert got == want


def test_an_image_without_a_role_has_no_live_sample_and_an_unknown_role() -> None:
    image = report(
        (parameter("kernel.panic", "10", None, NOTHING, "unpersisted"),),
        role=None,
        protection=False,
        name="img",
    )
    kinds, got = parsed(prometheus(image))
    assert set(kinds) == FAMILIES - {"rke2image_sysctl_live_value"}
    assert got[("rke2image_node_info", frozenset({("node", "img"), ("role", "unknown")}))] == 1
    assert got[("rke2image_protect_kernel_defaults", frozenset())] == 0
    assert {labels for name, labels in got if name == "rke2image_audit_findings"} == {
        frozenset({("severity", s)}) for s in ("error", "warning", "info")
    }
    assert sum(v for (name, _), v in got.items() if name == "rke2image_audit_findings") == 0


def test_a_node_name_of_any_text_parses_back_as_itself_but_its_control_characters() -> None:
    """The exposition format's escapes (quote, backslash) round-trip; a line feed or an
    escape character is written as the text ``\\xNN`` (never a raw one in the file)."""
    name = 'cp-1 "a" \\ b\nc\x1bd\u00e9'
    _, got = parsed(prometheus(report(LIVE.parameters, name=name)))
    (labels,) = [dict(pairs) for n, pairs in got if n == "rke2image_node_info"]
    assert labels == {"node": 'cp-1 "a" \\ b\\x0ac\\x1bd\u00e9', "role": "server"}
