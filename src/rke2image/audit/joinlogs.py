"""Log lines joined to the verdicts: a refusal still true is an error, one fixed since is
history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rke2image.audit import catalog
from rke2image.audit.catalog import VaryingRule
from rke2image.audit.logs import Damaged, LogHit, LogSubject
from rke2image.audit.model import Finding, ParameterResult

_WHO: Mapping[VaryingRule, str] = {
    catalog.KUBELET_INVALID_KERNEL_FLAG: "kubelet refused to start",
    catalog.RKE2_INVALID_KERNEL_PARAMETER: "RKE2 refused to start",
    catalog.RKE2_MISSING_ETCD_ACCOUNT: "RKE2 refused to start",
    catalog.RKE2_PROTECT_KERNEL_DEFAULTS: "RKE2 refused to start",
    catalog.SYSTEMD_SYSCTL_FAILED: "systemd-sysctl failed at boot",
}


def log_findings(
    hits: Mapping[LogSubject, LogHit],
    parameters: Mapping[str, ParameterResult],
    still_true: Mapping[LogSubject, bool],
    damaged: Iterable[Damaged] = (),
) -> list[Finding]:
    """One finding per latest log line. ``still_true`` says, for the lines not about a
    parameter (the etcd user or group, protect-kernel-defaults false with cis), whether the
    cause is still there; a line it does not name counts as still true. A damaged log (a
    truncated rotation) is a warning: its history may be incomplete."""
    findings = [
        catalog.LOG_UNREADABLE.with_severity("warning").finding(
            f"{d.reason}: the lines before the damage were read, the rest is unknown",
            file=d.file,
            fix=f"check {d.file}: remove it if it is a damaged old rotation",
        )
        for d in damaged
    ]
    for about, hit in sorted(hits.items(), key=lambda kv: (kv[1].file, kv[1].line)):
        rule, subject = about
        param = parameters.get(subject)
        if rule is catalog.SYSTEMD_SYSCTL_FAILED:
            if param is None:
                findings.append(
                    rule.with_severity("info").finding(
                        f"{_WHO[rule]}: {hit.text}", subject, hit.file, hit.line
                    )
                )
                continue
            current = param.verdict != "ok"
        elif param is not None:
            current = param.verdict in {"wrong", "missing"} or (
                param.live is None and param.verdict != "ok"
            )
        else:
            current = still_true.get(about, True)
        if current:
            fix = param.fix if param is not None else None
            state = f"; {subject} is {param.live} now" if param is not None and param.live else ""
            findings.append(
                rule.with_severity(rule.severity).finding(
                    f"{_WHO[rule]}: {hit.text}{state}",
                    subject,
                    hit.file,
                    hit.line,
                    fix,
                )
            )
        else:
            now = (
                f"{subject} is {param.live} now"
                if param is not None and param.live
                else "fixed since"
            )
            findings.append(
                rule.with_severity("info").finding(
                    f"history: {_WHO[rule]} ({hit.text}); {now}",
                    subject,
                    hit.file,
                    hit.line,
                )
            )
    return findings
