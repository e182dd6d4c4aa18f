"""The audit's result as plain typed values; ``as_dict`` is the JSON contract
(docs/audit-json.md)."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, get_args

from rke2image.audit.kvalues import applied, same_value
from rke2image.kernel import KERNEL_DEFAULTS
from rke2image.rke2 import Role

FindingSeverity = Literal["error", "warning", "info"]
SCHEMA = "rke2image.audit/v1"

# The verdict of one parameter (docs/audit-json.md, "Verdicts"), worst first: VERDICTS is
# that order, which the text report and npd use.
Verdict = Literal["wrong", "missing", "unreadable", "latent", "unpersisted", "ok"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


# Who writes a value at boot, in the order they run: the kernel command line (before
# init), sysctl.d files and /etc/sysctl.conf (systemd-sysctl or procps), then TuneD.
SOURCES = ("cmdline", "sysctl.d", "sysctl.conf", "tuned")


class Override(NamedTuple):
    file: str
    line: int
    value: str
    source: str = "sysctl.d"  # one of SOURCES


class NextBoot(NamedTuple):
    """What one tool (systemd-sysctl or procps) writes at boot, and which line says so."""

    value: str | None
    file: str | None
    line: int | None
    overrides: tuple[Override, ...] = ()
    source: str | None = None  # one of SOURCES; None when nothing sets the key

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "source": self.source,
            "file": self.file,
            "line": self.line,
            "overrides": [
                {"source": o.source, "file": o.file, "line": o.line, "value": o.value}
                for o in self.overrides
            ],
        }


class ParameterResult(NamedTuple):
    key: str
    expected: str
    required: bool  # kubelet's six; False for a spec's own key
    live: str | None
    systemd: NextBoot
    procps: NextBoot
    verdict: Verdict
    fix: str | None

    def next_boot_ok(self, tool: str) -> bool:
        """Whether that tool leaves the required value at boot (the kernel default counts
        when nothing sets the key)."""
        boot = self.systemd if tool == "systemd" else self.procps
        value = applied(boot.value, self.expected)
        value = value if value is not None else KERNEL_DEFAULTS.get(self.key)
        return same_value(value, self.expected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "expected": self.expected,
            "required": self.required,
            "live": self.live,
            "next_boot": {"systemd": self.systemd.as_dict(), "procps": self.procps.as_dict()},
            "verdict": self.verdict,
            "fix": self.fix,
        }


class Finding(NamedTuple):
    severity: FindingSeverity
    rule: str
    message: str
    key: str | None = None
    file: str | None = None
    line: int | None = None
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "key": self.key,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
        }


class ProtectionSource(NamedTuple):
    file: str
    line: int | None
    setting: str  # e.g. "profile: cis", "RKE2_CIS_PROFILE=cis"


class Protection(NamedTuple):
    on: bool  # from what could be read; see ``known``
    sources: tuple[ProtectionSource, ...] = ()
    profile: str | None = None  # the profile RKE2 runs with, after merging
    fail_swap_on: bool = False
    unreadable: tuple[tuple[str, str], ...] = ()  # (file, why) the audit could not read

    @property
    def known(self) -> bool:
        """False when a file that may turn protection on could not be read (no root)."""
        return self.on or not self.unreadable

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "known": self.known,
            "profile": self.profile,
            "sources": [
                {"file": s.file, "line": s.line, "setting": s.setting} for s in self.sources
            ],
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
        }


class Report(NamedTuple):
    generated: str  # RFC 3339, UTC
    generated_epoch: float
    node_name: str
    role: Role | None
    root: str
    live: bool
    protection: Protection
    parameters: tuple[ParameterResult, ...]
    findings: tuple[Finding, ...]
    files: dict[str, list[str]]  # tool -> files in order
    # tool -> {"version", "source"}: which systemd-sysctl and procps the root holds
    boot_tools: dict[str, dict[str, str | None]] | None = None
    managed: bool = False  # rke2image's own checks applied (its files in the root, or --spec)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def compliant(self) -> bool:
        return self.errors == 0 and self.warnings == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "generated": self.generated,
            "node": {"name": self.node_name, "role": self.role},
            "root": self.root,
            "managed": self.managed,
            "live": self.live,
            "protection": self.protection.as_dict(),
            "parameters": [p.as_dict() for p in self.parameters],
            "findings": [f.as_dict() for f in self.findings],
            "files": self.files,
            "boot_tools": self.boot_tools or {},
            "summary": {
                "errors": self.errors,
                "warnings": self.warnings,
                "info": sum(f.severity == "info" for f in self.findings),
                "compliant": self.compliant,
            },
        }
