"""Every rule id ``validate`` can report, in one table: the single source of rule facts.

SARIF's ``tool.driver.rules``, the README rules table (regenerated from here by
``UPDATE_GOLDEN=1 pytest tests/unit/spec/test_catalog.py``) and the suppression
guard all read this table. To add a rule: add one ``RuleInfo`` line below, an
example in ``examples/invalid/<rule>.yaml``, and regenerate the README table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from rke2image import rke2

# Where the README (and so each rule's anchor) is published.
PROJECT_URL = "https://github.com/rke2image/rke2image"


class Guard(Enum):
    """Why a finding of a rule cannot be silenced with ``# rke2image: ignore[RULE]``."""

    NONE = "can be suppressed"
    # its warnings can be suppressed
    NODE = "its errors keep the node from an outage, a leaked secret or an injected file"
    SHAPE = "without it the file is not a usable spec"  # nothing sound to render
    META = "it is about ignore comments themselves"


@dataclass(frozen=True)
class RuleInfo:
    """One rule: its id, how bad its findings are, and what it catches and why."""

    id: str
    severity: Literal["error", "warning", "error / warning"]
    summary: str  # README's "what it catches", Markdown
    detail: str  # why it matters and what to do: SARIF's fullDescription
    guard: Guard = Guard.NONE

    @property
    def default_level(self) -> Literal["error", "warning"]:
        return "warning" if self.severity == "warning" else "error"

    @property
    def anchor(self) -> str:
        return f"rule-{self.id}"

    @property
    def help_uri(self) -> str:
        return f"{PROJECT_URL}#{self.anchor}"

    def may_suppress(self, severity: str) -> bool:
        """NODE-guarded rules refuse only their errors: a warning protects nothing."""
        return self.guard is Guard.NONE or (self.guard is Guard.NODE and severity == "warning")

    @property
    def suppressible(self) -> str:
        """The README's "can be ignored" cell."""
        if self.guard is Guard.NONE:
            return "yes"
        if self.guard is Guard.NODE and self.severity == "error / warning":
            return "warning only"
        return "no"


_S, _N, _M = Guard.SHAPE, Guard.NODE, Guard.META

RULES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "yaml-syntax",
        "error",
        "the file is not valid YAML",
        "The YAML parser stopped here; nothing after it was checked. Fix the syntax.",
        _S,
    ),
    RuleInfo(
        "yaml-empty",
        "error",
        "no document at all (empty, or only comments)",
        "An empty file defines no node. Write a NodeSpec or Cluster, or delete it.",
        _S,
    ),
    RuleInfo(
        "yaml-multi-doc",
        "error",
        "several `---` documents in one file",
        "Each spec lives in a file of its own, so every diagnostic names one document.",
        _S,
    ),
    RuleInfo(
        "yaml-not-mapping",
        "error",
        "the document is a list or a scalar",
        "A spec is a mapping with apiVersion, kind, metadata and spec.",
        _S,
    ),
    RuleInfo(
        "yaml-duplicate-key",
        "error",
        "a key twice in one mapping (YAML would silently keep the last)",
        "Most YAML readers keep the last of two equal keys without a word, so the value "
        "in force is not the one a reviewer reads. Remove one.",
        _S,
    ),
    RuleInfo(
        "yaml-key-type",
        "error",
        "a key that is not a string (`1:`, `yes:`)",
        "YAML 1.1 reads `yes:` as a boolean and `1:` as an integer; quote the key.",
        _S,
    ),
    RuleInfo(
        "yaml-encoding",
        "error",
        "the file is not UTF-8",
        "Specs are read as UTF-8; save the file as UTF-8.",
        _S,
    ),
    RuleInfo(
        "yaml-too-large",
        "error",
        "the file is over 1 MiB",
        "Specs are limited to 1 MiB so that a hostile file cannot exhaust memory; split "
        "it into several files.",
        _S,
    ),
    RuleInfo(
        "yaml-alias-bomb",
        "error",
        'anchors and aliases that expand without bound ("billion laughs"), or an alias inside what '
        "it names",
        "A few lines of anchors can expand to billions of values. Write the values out.",
        _S,
    ),
    RuleInfo(
        "yaml-too-deep",
        "error",
        "nesting deeper than 64 levels (a spec needs about 8)",
        "A node spec is a few levels deep; thousands of nested brackets only exhaust the "
        "parser. Flatten the document.",
        _S,
    ),
    RuleInfo(
        "yaml-bad-scalar",
        "error",
        "a value its tag cannot hold (`!!int abc`, `!!bool maybe`), or an integer of more than "
        "4,300 digits",
        "The value cannot be read as its tag says. Remove the tag or fix the value.",
        _S,
    ),
    RuleInfo(
        "unknown-key",
        "error",
        'a key the schema does not know, with a "did you mean"',
        "A misspelt key would be ignored and its setting silently lost.",
        _S,
    ),
    RuleInfo(
        "missing-key",
        "error",
        "a required key is absent",
        "The node cannot be rendered without it; add the key.",
        _S,
    ),
    RuleInfo(
        "wrong-type",
        "error",
        'a value of the wrong type (`clusterInit: "yes"`)',
        "The value has another type than the schema wants; write it as the schema's "
        "type (the message says which).",
        _S,
    ),
    RuleInfo(
        "bad-value",
        "error",
        "a value outside its enum or pattern (`role: master`)",
        "The value is not one the schema allows; the message lists what is.",
        _S,
    ),
    RuleInfo(
        "bad-key",
        "error",
        "a key whose name is not allowed (`TLS_SAN` in `rke2.config`)",
        "RKE2 reads its config keys in lower-case kebab form; other names are ignored.",
        _S,
    ),
    RuleInfo(
        "required-sysctl",
        "error / warning",
        "a kubelet-required parameter set to another value: error when protection is on (`profile: "
        "cis` or a legacy `cis-1.x`, or `protect-kernel-defaults` in `rke2.config` or "
        "`kubelet-arg` with any value Go reads as true: `1`, `t`, `True`…, a bare flag, `--` or "
        "`_` spellings), warning otherwise",
        "kubelet with protect-kernel-defaults refuses to start when vm.overcommit_memory, "
        "vm.panic_on_oom, kernel.panic, kernel.panic_on_oops or kernel.keys.* differ from "
        "its values ('invalid kernel flag'): on the first server that is an outage. "
        "Remove the key (rke2image sets the required value) or set the required value. "
        "With protection off kubelet overwrites the value silently (a warning).",
        _N,
    ),
    RuleInfo(
        "unsafe-sysctl-key",
        "error",
        "a sysctl key that could break a sysctl.d file, a shell or a unit (spaces, `=`, leading "
        "`/` or `-`), or that tools read as different parameters: an empty, `.` or `..` part, a "
        "separator first, last or doubled, `.` and `/` mixed to spell a required parameter",
        "The key is written into a sysctl.d file, a POSIX sh preflight and cloud-init; a "
        "key that is not a plain parameter name could inject into any of them.",
        _N,
    ),
    RuleInfo(
        "unsafe-sysctl-value",
        "error",
        "a value that is not integers or a plain word (quotes, pipes, paths)",
        "The value is written into a sysctl.d file and applied by a shell script; only "
        "integers and plain words are safe there.",
        _N,
    ),
    RuleInfo(
        "bad-sysctl-value",
        "error",
        "a number the kernel refuses to write: `1e3`, `1.5`, `0x10`, `+1`, beyond 64 bits",
        "The kernel parses sysctl values as decimal integers; anything else fails to apply "
        "with EINVAL, and the preflight then refuses to start RKE2. Write the integer out.",
        _N,
    ),
    RuleInfo(
        "bad-bool",
        "error",
        "`protect-kernel-defaults` or kubelet's `fail-swap-on` with a value Go's "
        '`strconv.ParseBool` rejects (`yes`, `on`, `" true"`): RKE2 or kubelet would not start',
        "RKE2 and kubelet parse these flags with Go's strconv.ParseBool and refuse to start "
        "on anything else. Write true or false.",
        _S,
    ),
    RuleInfo(
        "duplicate-sysctl-key",
        "error",
        "one kernel parameter twice, written with other separators "
        "(`fs.inotify.x` and `fs/inotify/x`)",
        "sysctl.d applies both and the last silently wins; keep one spelling.",
        _S,
    ),
    RuleInfo(
        "sysctl-needs-module",
        "warning",
        "a `net.bridge.*` key without `br_netfilter` in `kernel.modules`",
        "net.bridge.* keys exist only once br_netfilter is loaded; without the module "
        "the value is skipped at boot. Add br_netfilter to kernel.modules.",
    ),
    RuleInfo(
        "secret-literal",
        "error",
        'a literal token (`rke2.token: "K10…"`, `token`/`agent-token` in `rke2.config`)',
        "A literal token lands in the repository, in review tools and in logs. Use "
        "token: {file: ...} or token: {env: ...}.",
        _N,
    ),
    RuleInfo(
        "config-key-has-field",
        "error",
        "`server`, `cluster-init`, `profile`, `token-file` in `rke2.config`: they have "
        "their own field",
        "These RKE2 options are derived from the spec's own fields; setting them twice "
        "would let the two disagree. Use the field.",
        _S,
    ),
    RuleInfo(
        "cluster-init-agent",
        "error",
        "`clusterInit` on an agent",
        "Only a server can bootstrap a cluster; remove clusterInit or make it a server.",
    ),
    RuleInfo(
        "cluster-init-with-server",
        "error",
        "`clusterInit` together with `server`",
        "The bootstrap server is the one without server:; a node with both would join "
        "instead of starting the cluster.",
    ),
    RuleInfo(
        "server-missing",
        "error",
        "a joining server or agent without `server`",
        "A node that is not the bootstrap server needs server: https://<address>:9345 "
        "to join; without it a server starts a cluster of its own.",
    ),
    RuleInfo(
        "server-port",
        "warning",
        "`server:` on 6443 (the Kubernetes API) instead of RKE2's supervisor port 9345",
        "Nodes join through RKE2's supervisor on 9345; 6443 is the Kubernetes API.",
    ),
    RuleInfo(
        "profile-unknown",
        "error",
        "a profile RKE2 does not have (only `none`, `cis`, `etcd`)",
        "RKE2 refuses to start with a profile it does not know.",
    ),
    RuleInfo(
        "profile-version",
        "error / warning",
        "a profile the chosen RKE2 release refuses at start, in RKE2's words, or deprecates "
        "(from the release tags: `cis` from v1.25.15, v1.26.10, v1.27.7, v1.28.2 and every "
        "v1.29+; `etcd` from v1.30.14, v1.31.10, v1.32.6, v1.33.2 and every v1.34+; "
        "`cis-1.5`/`cis-1.6` only before v1.25.0; `cis-1.23` from v1.25.0, a warning where "
        "`cis` arrived, fatal from v1.30.0, unknown where `etcd` arrived)",
        "RKE2 refuses to start with a profile its release does not accept; a deprecated "
        "one works until an upgrade refuses it.",
    ),
    RuleInfo(
        "cis-protection-off",
        "error",
        "`profile: cis` with `protect-kernel-defaults: false` in `rke2.config`: RKE2 exits "
        f"with `{rke2.PROTECTION_OFF_WORDS.format(profile='cis')}`",
        "RKE2 refuses this combination at every start. Remove protect-kernel-defaults: "
        "the profile turns it on.",
        _N,
    ),
    RuleInfo(
        "rke2-managed-sysctl",
        "warning",
        "a sysctl RKE2 sets to 1 itself at every start "
        "(`net.ipv4.conf.{all,default}.forwarding`, `net.bridge.bridge-nf-call-ip{,6}tables`, "
        "`net.ipv6.conf.{all,default}.forwarding`, `net.core.devconf_inherit_init_net`) "
        "given another value",
        "RKE2 (k3s syssetup) overwrites it at every start, and a remediating preflight "
        "would set it back before the next one. Drop the key or set it to 1.",
    ),
    RuleInfo(
        "target-os",
        "error",
        "a render target the node's `os` cannot boot with (`targets: [ignition]` or "
        "`render --target ignition` on `ubuntu-22.04`; Flatcar and Fedora CoreOS take only "
        "`ignition`, SLE Micro `combustion` and `eib`, MicroOS `combustion`)",
        "The rendered files would never reach the node: its image runs another first-boot "
        "system. Choose a target the os runs, or correct os.",
    ),
    RuleInfo(
        "duplicate-node-name",
        "error",
        "two nodes with one name",
        "Names become host names and output folders; one render writes one folder per name.",
        _S,
    ),
    RuleInfo(
        "cluster-init-count",
        "error",
        "a Cluster without exactly one `clusterInit` server",
        "A cluster has one bootstrap server; the others join it with server:.",
    ),
    RuleInfo(
        "cluster-server-mismatch",
        "error",
        "servers of a Cluster differing in kernel parameters, RKE2 version or profile",
        "The first master must not be the odd one: servers share kernel parameters, RKE2 "
        "version and profile. Set them in spec.defaults.",
    ),
    RuleInfo(
        "ignore-without-reason",
        "error",
        "a `# rke2image: ignore[RULE]` comment without a reason after it",
        "A suppression must say why, for the next reviewer: write the reason after the brackets.",
        _M,
    ),
    RuleInfo(
        "ignore-not-allowed",
        "error",
        "an ignore comment for a finding that cannot be suppressed",
        "Errors that protect the node (required-sysctl with protection on, "
        "secret-literal, unsafe-sysctl-key, unsafe-sysctl-value) and errors without "
        "which the file is not a usable spec cannot be suppressed: fix the spec.",
        _M,
    ),
    RuleInfo(
        "ignore-unused",
        "warning",
        "an ignore comment with no finding of that rule on the next line",
        "A stale suppression would silently hide a future finding; remove it, or fix the rule id.",
        _M,
    ),
)

BY_ID: dict[str, RuleInfo] = {rule.id: rule for rule in RULES}
INDEX: dict[str, int] = {rule.id: i for i, rule in enumerate(RULES)}


def rule_info(rule_id: str) -> RuleInfo:
    """The catalog entry of ``rule_id``; an id missing from the catalog is a bug."""
    try:
        return BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"rule {rule_id!r} is not in rke2image.spec.catalog.RULES") from None
