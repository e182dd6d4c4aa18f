"""Every rule id ``audit`` can report, in one table: its default severity, a one-line summary
and what to do. The single source of the audit's rule facts, as ``spec/catalog.py`` is
validate's.

Findings are built only here: each rule is a constant, and ``RULE.finding(...)`` makes its
``Finding``, so a misspelt id is a misspelt name that mypy and Python both refuse. A
``Rule`` always has its one severity; a ``VaryingRule`` (a wrong value is an error only
with protection on, a log line fixed since is history) has no ``finding`` of its own:
``RULE.with_severity(...)`` picks one of the severities its row documents, and refuses
any other.

docs/audit-json.md, "Rules", is generated from ``RULES`` (``UPDATE_GOLDEN=1 pytest
tests/unit/audit/test_audit_catalog.py``). To add a rule: add its constant and its place in
``RULES``, build its findings with it, and regenerate the docs. ``fix`` passes these
findings on and adds one rule of its own, in ``fix/catalog.py``.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from rke2image import paths
from rke2image.audit.model import Finding, FindingSeverity


class Rule(NamedTuple):
    """A rule whose findings always have one severity."""

    id: str
    severity: FindingSeverity
    summary: str  # what it means on a node, Markdown
    help: str  # what to do about it

    @property
    def severity_words(self) -> str:
        """The docs' severity cell."""
        return self.severity

    def finding(
        self,
        message: str,
        key: str | None = None,
        file: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> Finding:
        return Finding(self.severity, self.id, message, key, file, line, fix)


class VaryingRule(NamedTuple):
    """A rule whose severity depends on the node: ``when`` says how, ``severities`` lists
    them, the default (worst) first."""

    id: str
    severities: tuple[FindingSeverity, ...]
    when: str  # the docs' severity cell
    summary: str
    help: str

    @property
    def severity(self) -> FindingSeverity:
        """The default severity: the worst it takes."""
        return self.severities[0]

    @property
    def severity_words(self) -> str:
        return self.when

    def with_severity(self, severity: FindingSeverity) -> Rule:
        """The rule at one of the severities it documents, to build a finding with."""
        if severity not in self.severities:
            raise ValueError(f"rule {self.id} is never {severity} (rke2image.audit.catalog)")
        return Rule(self.id, severity, self.summary, self.help)


AuditRule = Union[Rule, VaryingRule]

# The severity of a value's finding: whether kubelet refuses to start because of it.
_BY_PROTECTION = "error for a kubelet parameter with protection on (or unknown), else warning"
_CREATE_ETCD = (
    "Create the etcd user and group as RKE2's hardening guide does (the finding's fix gives "
    "the command), or let `rke2image fix` create them."
)
_LOG_HISTORY = "error while its cause is still there, info once fixed (history)"

LIVE_VALUE_WRONG = VaryingRule(
    "live-value-wrong",
    ("error", "warning"),
    _BY_PROTECTION,
    "a live value differs from the required one: kubelet with protection refuses to start now "
    "(for a spec's own key: the spec is not met)",
    "Set it with `sysctl -w KEY=VALUE` (never by restarting systemd-sysctl: that resets what "
    "the CNI set) and change the file the finding names, so the next boot keeps it; the "
    "finding's fix says both, and `rke2image fix` does both.",
)
NEXT_BOOT_WRONG = VaryingRule(
    "next-boot-wrong",
    ("error", "warning"),
    _BY_PROTECTION,
    "in a root without live values (an image), the boot sets another value: every node "
    "booted from it starts wrong",
    "Edit or remove the line the finding names, or add the value to rke2image's sysctl "
    "file, and build the image again.",
)
LATENT_VALUE = VaryingRule(
    "latent-value",
    ("error", "warning"),
    _BY_PROTECTION + "; warning when rke2image's preflight re-applies it before RKE2 starts",
    "the live value is right but the next boot sets another: the node breaks at the next "
    "reboot (someone ran `sysctl -w`, or kubelet without protection rewrote it)",
    "Edit or remove the line the finding names; the live value needs nothing.",
)
UNPERSISTED_VALUE = Rule(
    "unpersisted-value",
    "warning",
    "nothing sets the value at boot and the kernel's default differs: it is right now only "
    "because someone set it",
    f"Add `KEY = VALUE` to {paths.SYSCTL_FILE} (the finding's fix says so), or let "
    "`rke2image fix` write it.",
)
PARAMETER_MISSING = VaryingRule(
    "parameter-missing",
    ("error", "warning"),
    _BY_PROTECTION,
    "the key does not exist in this kernel's /proc/sys: its module is not loaded",
    "Load the module that provides the key, list it in a modules-load.d file so every boot "
    "loads it, then set the value.",
)
LIVE_VALUE_UNREADABLE = Rule(
    "live-value-unreadable",
    "warning",
    "the live value cannot be read (permission, not a regular file, over 64 KiB): whether "
    "kubelet accepts it is unknown",
    "Run the audit as root, or find out what replaced the file under /proc/sys.",
)
PROCPS_VALUE_WRONG = Rule(
    "procps-value-wrong",
    "warning",
    "systemd-sysctl leaves the value right, but `sysctl --system` (procps) run by hand "
    "applies a file after the others and leaves another",
    "Edit or remove the line the finding names, so both tools leave the required value.",
)
SYSCTL_SYNTAX = Rule(
    "sysctl-syntax",
    "warning",
    "a line of a sysctl file that systemd-sysctl rejects (procps, in /etc/sysctl.conf): it "
    "sets nothing",
    "Fix or remove the line the finding names.",
)
SYSCTL_FILE_UNREADABLE = Rule(
    "sysctl-file-unreadable",
    "warning",
    "a sysctl file the boot cannot read: a link loop, a FIFO or device, a file past the "
    "8 MiB read cap",
    "Replace it with a regular file: systemd-sysctl skips a link loop, and blocks on a FIFO "
    "and applies nothing.",
)
SYSCTL_FILE_MISSING = Rule(
    "sysctl-file-missing",
    "warning",
    f"rke2image's sysctl file ({paths.SYSCTL_FILE}) is missing on a node rke2image rendered",
    "Install the node's rendered rootfs/ again, or let `rke2image fix` write the file.",
)
DROPIN_MISSING = Rule(
    "dropin-missing",
    "warning",
    "no rke2image drop-in for RKE2's unit on a node rke2image rendered: nothing re-applies "
    "the kernel values before RKE2 starts",
    "Install the node's rendered rootfs/ (`rke2image render`).",
)
PREFLIGHT_MISSING = VaryingRule(
    "preflight-missing",
    ("error", "warning"),
    "error when the preflight the drop-in runs is missing or not executable (RKE2 will not "
    "start), else warning",
    "RKE2's unit does not run rke2image's preflight (a later drop-in's empty "
    "`ExecStartPre=` drops it, or the drop-in names none), or cannot",
    "Reinstall the drop-in and the preflight (mode 0755) from the rendered rootfs/, or "
    "remove the empty `ExecStartPre=`.",
)
ETCD_USER_MISSING = Rule(
    "etcd-user-missing",
    "error",
    "a server with profile `cis` or `etcd` has no `etcd` user in /etc/passwd: RKE2 refuses "
    "to start",
    _CREATE_ETCD,
)
ETCD_GROUP_MISSING = Rule(
    "etcd-group-missing",
    "error",
    "a server with profile `cis` or `etcd` has no `etcd` group in /etc/group: RKE2 refuses "
    "to start",
    _CREATE_ETCD,
)
SWAP_ON = Rule(
    "swap-on",
    "error",
    "swap is on and a kubelet-arg sets `fail-swap-on=true`: kubelet refuses to start",
    "Turn swap off (`swapoff -a`, and remove its /etc/fstab entry), or drop the kubelet-arg "
    "(RKE2 runs kubelet with `fail-swap-on=false`).",
)
CIS_PROTECTION_FALSE = Rule(
    "cis-protection-false",
    "error",
    "`profile: cis` with `protect-kernel-defaults: false`: RKE2 refuses to start",
    "Remove protect-kernel-defaults from the line the finding names: the profile turns it on.",
)
RKE2_CONFIG_INVALID = Rule(
    "rke2-config-invalid",
    "error",
    "RKE2's config file or an entry of its `.d` folder cannot be read or parsed (not YAML, "
    "not a mapping, a dangling link or a link loop): RKE2 will not start",
    "Fix or remove the file the finding names.",
)
PROTECTION_UNKNOWN = VaryingRule(
    "protection-unknown",
    ("warning", "info"),
    "warning when a finding depends on it, else info",
    "a file that may turn protection on cannot be read (config.yaml is 0600): whether "
    "protect-kernel-defaults is on is unknown, and wrong values are judged as if it were",
    "Run the audit as root, or with read access to the files the finding names.",
)
LOG_UNREADABLE = VaryingRule(
    "log-unreadable",
    ("warning", "info"),
    "info: a kubelet log of the root the audit may not read; warning: a rotation that is "
    "truncated, corrupt or not gzip, whose lines before the damage still count",
    "a log the audit cannot read to its end: refusals in it are not joined to the verdicts",
    "Run the audit as root or pass a readable copy with `--kubelet-log`; remove a damaged "
    "old rotation.",
)
KUBELET_INVALID_KERNEL_FLAG = VaryingRule(
    "kubelet-invalid-kernel-flag",
    ("error", "info"),
    _LOG_HISTORY,
    "kubelet refused to start: `invalid kernel flag: ...` in its log (either wording)",
    "Fix the value as its own finding says (the log finding repeats its fix); a line whose "
    "value is right now is history.",
)
RKE2_INVALID_KERNEL_PARAMETER = VaryingRule(
    "rke2-invalid-kernel-parameter",
    ("error", "info"),
    _LOG_HISTORY,
    "RKE2's CIS check refused to start: `invalid kernel parameter value KEY=N - expected M`",
    "Fix the value as its own finding says; a line whose value is right now is history.",
)
RKE2_MISSING_ETCD_ACCOUNT = VaryingRule(
    "rke2-missing-etcd-account",
    ("error", "info"),
    _LOG_HISTORY,
    "RKE2 refused to start a server without the etcd account: `missing required: user: "
    "unknown user etcd`",
    "Create the etcd user and group (`etcd-user-missing` and `etcd-group-missing` give the "
    "command), or let `rke2image fix` create them; once they exist the line is history.",
)
RKE2_PROTECT_KERNEL_DEFAULTS = VaryingRule(
    "rke2-protect-kernel-defaults",
    ("error", "info"),
    _LOG_HISTORY,
    "RKE2 refused to start: `--protect-kernel-defaults must be true when using --profile=cis`",
    "Remove `protect-kernel-defaults: false` where `cis-protection-false` says; once gone "
    "the line is history.",
)
SYSTEMD_SYSCTL_FAILED = VaryingRule(
    "systemd-sysctl-failed",
    ("warning", "info"),
    "warning while the key is still not ok, info once fixed or for a key the audit does not judge",
    "systemd-sysctl failed to write a value at boot: `Couldn't write '0' to 'kernel/panic'`",
    "The kernel refused the value (a key it lacks, or a form it does not parse): fix the line "
    "that sets it.",
)

# In the order docs/audit-json.md lists them: values, sysctl files, rke2image's files,
# RKE2's needs, what could not be read, then the logs.
RULES: tuple[AuditRule, ...] = (
    LIVE_VALUE_WRONG,
    NEXT_BOOT_WRONG,
    LATENT_VALUE,
    UNPERSISTED_VALUE,
    PARAMETER_MISSING,
    LIVE_VALUE_UNREADABLE,
    PROCPS_VALUE_WRONG,
    SYSCTL_SYNTAX,
    SYSCTL_FILE_UNREADABLE,
    SYSCTL_FILE_MISSING,
    DROPIN_MISSING,
    PREFLIGHT_MISSING,
    ETCD_USER_MISSING,
    ETCD_GROUP_MISSING,
    SWAP_ON,
    CIS_PROTECTION_FALSE,
    RKE2_CONFIG_INVALID,
    PROTECTION_UNKNOWN,
    LOG_UNREADABLE,
    KUBELET_INVALID_KERNEL_FLAG,
    RKE2_INVALID_KERNEL_PARAMETER,
    RKE2_MISSING_ETCD_ACCOUNT,
    RKE2_PROTECT_KERNEL_DEFAULTS,
    SYSTEMD_SYSCTL_FAILED,
)
BY_ID: dict[str, AuditRule] = {rule.id: rule for rule in RULES}
