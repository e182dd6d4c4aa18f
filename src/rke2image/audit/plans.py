"""Findings about the sysctl files themselves: lines a tool rejects, files it cannot read."""

from __future__ import annotations

from rke2image.audit import catalog
from rke2image.audit.model import Finding
from rke2image.sysctld import SYSCTL_CONF, BootPlan


def plan_findings(systemd: BootPlan, procps: BootPlan) -> list[Finding]:
    """One warning per rejected line (``sysctl-syntax``) or unreadable file
    (``sysctl-file-unreadable``: a link loop, a FIFO or device, a file past the read cap).

    procps alone rejects systemd's bare ``-key`` lines of stock files (3.3): its problems
    count only in /etc/sysctl.conf, the file systemd does not read by that name.
    """
    findings: list[Finding] = []
    seen: set[tuple[str, int | None]] = set()
    for problem in (*systemd.problems, *(p for p in procps.problems if p.file == SYSCTL_CONF)):
        if (problem.file, problem.line) in seen:
            continue
        seen.add((problem.file, problem.line))
        if problem.line is None:
            rule = catalog.SYSCTL_FILE_UNREADABLE
            fix = f"replace {problem.file} with a regular file"
        else:
            rule, fix = catalog.SYSCTL_SYNTAX, f"fix or remove {problem.file}:{problem.line}"
        findings.append(rule.finding(problem.message, None, problem.file, problem.line, fix))
    return findings
