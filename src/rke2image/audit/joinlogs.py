"""Log lines joined to the verdicts: a refusal still true is an error, one fixed since is
history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rke2image.audit.logs import Damaged, LogHit
from rke2image.audit.model import Finding, ParameterResult

_WHO = {
    "kubelet-invalid-kernel-flag": "kubelet refused to start",
    "rke2-invalid-kernel-parameter": "RKE2 refused to start",
    "rke2-missing-etcd-account": "RKE2 refused to start",
    "rke2-protect-kernel-defaults": "RKE2 refused to start",
    "systemd-sysctl-failed": "systemd-sysctl failed at boot",
}


def log_findings(
    hits: Mapping[tuple[str, str], LogHit],
    parameters: Mapping[str, ParameterResult],
    still_true: Mapping[str, bool],
    damaged: Iterable[Damaged] = (),
) -> list[Finding]:
    """One finding per latest log line. ``still_true`` says, for the non-parameter rules
    (etcd user/group, cis-protection-false), whether the cause is still there. A damaged
    log (a truncated rotation) is a warning: its history may be incomplete."""
    findings = [
        Finding(
            "warning",
            "log-unreadable",
            f"{d.reason}: the lines before the damage were read, the rest is unknown",
            file=d.file,
            fix=f"check {d.file}: remove it if it is a damaged old rotation",
        )
        for d in damaged
    ]
    for (rule, subject), hit in sorted(hits.items(), key=lambda kv: (kv[1].file, kv[1].line)):
        param = parameters.get(subject)
        if rule == "systemd-sysctl-failed":
            if param is None:
                findings.append(
                    Finding("info", rule, f"{_WHO[rule]}: {hit.text}", subject, hit.file, hit.line)
                )
                continue
            current = param.verdict != "ok"
        elif param is not None:
            current = param.verdict in {"wrong", "missing"} or (
                param.live is None and param.verdict != "ok"
            )
        else:
            current = still_true.get(f"{rule}:{subject}", still_true.get(rule, True))
        if current:
            fix = param.fix if param is not None else None
            state = f"; {subject} is {param.live} now" if param is not None and param.live else ""
            findings.append(
                Finding(
                    "error" if rule != "systemd-sysctl-failed" else "warning",
                    rule,
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
                Finding(
                    "info",
                    rule,
                    f"history: {_WHO[rule]} ({hit.text}); {now}",
                    subject,
                    hit.file,
                    hit.line,
                )
            )
    return findings
