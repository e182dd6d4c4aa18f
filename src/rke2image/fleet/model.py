"""The fleet report: many nodes' audit JSON in, the nodes that differ from their peers out.

Why: one node's audit says whether that node is compliant; it cannot say that the first
master is the only server with ``kernel.panic = 0`` (the outage of docs/design.md). This module
reads the ``rke2image.audit/v1`` documents that ``rke2image audit --format json`` prints (one
per node, as a DaemonSet or an Ansible ``fetch`` leaves them), groups the nodes by role and,
per parameter, compares each node's live value and the value each next boot applies
(systemd-sysctl, ``sysctl --system``) with the majority of its role. Pure: paths in, a
``FleetReport`` out; the reporters of ``fleet/formats.py`` print it.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal, Optional

from rke2image import rke2
from rke2image.audit.model import SCHEMA, SOURCES, VERDICTS
from rke2image.errors import InputError
from rke2image.kernel import KERNEL_DEFAULTS, REQUIRED_PARAMETERS

AUDIT_SCHEMA = SCHEMA  # the documents fleet reads: the audit's name, spelled in audit/model.py
FLEET_SCHEMA = "rke2image.fleet/v1"
# RFC 3339 in whole seconds, as the audit writes it: the pattern of `generated` in
# schemas/contracts/audit.schema.json (tests/acceptance/fleet/test_fleet_schema.py keeps
# fleet's checks and that schema in step).
RFC3339 = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
SEVERITIES = ("error", "warning", "info")
# An audit document is a few KiB; anything this large is not one (and is not read whole).
MAX_FILE_BYTES = 16 * 1024 * 1024
# An audit document nests seven deep (parameters, next_boot, overrides); the C parser
# recurses once per level, and on Python 3.9 a RecursionError raised thousands of C frames
# deep can end in "Fatal Python error: Cannot recover from stack overflow" (an abort, seen
# in the python3.9 lane) when a finalizer runs there. Deeper input is refused before parsing.
MAX_NESTING = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# A node's clock may run this far ahead of the collector's before its audit is "skewed":
# NTP keeps clocks within a second; a node before its first sync can be years off.
SKEW_TOLERANCE_SECONDS = 300

# RKE2's roles, and "unknown" for an audit that names none. Report order: servers first,
# the odd master on top.
FleetRole = Literal["server", "agent", "unknown"]
ROLES: tuple[FleetRole, ...] = (*rke2.ROLES, "unknown")
# What is compared per parameter: the live value, and the value each next boot applies;
# protection is compared in the "config" view.
View = Literal["live", "systemd", "procps", "config"]
VIEWS: tuple[View, ...] = ("live", "systemd", "procps")
VIEW_TITLES: dict[View, str] = {
    "live": "live",
    "systemd": "next boot (systemd-sysctl)",
    "procps": "next boot (sysctl --system)",
    "config": "RKE2 configuration",
}
# Protection is compared like a parameter: a server without it behaves unlike its peers.
PROTECTION_KEY = rke2.PROTECT_KERNEL_DEFAULTS
_KEY_ORDER = {p.key: i for i, p in enumerate(REQUIRED_PARAMETERS)}

Value = Optional[str]  # a runtime alias: Python 3.9 has no `str | None` outside annotations
Null = type(None)  # a field that may be null: shape.get(parent, pointer, name, str, Null)


@dataclass(frozen=True)
class NodeAudit:
    """What the fleet report needs from one node's audit document."""

    file: str
    name: str
    role: FleetRole
    generated: datetime  # the node's own clock: before an NTP sync it can be far off
    live: bool
    protection: bool
    compliant: bool
    errors: int
    warnings: int
    # key -> view -> value; views absent from a document are absent here
    values: dict[str, dict[str, Value]]
    expected: dict[str, str]
    verdicts: dict[str, str]
    # When the collector received the file (its modification time, the collector's clock):
    # what a node's clock cannot misstate. None for documents not read from a file.
    received: datetime | None = None
    # False when the audit could not read a file that may turn protection on (no root):
    # ``protection`` is then only what could be read, and the fleet says "unknown".
    protection_known: bool = True

    @property
    def skewed(self) -> bool:
        """The node dates its audit after the collector received it: its clock runs ahead."""
        if self.received is None:
            return False
        return (self.generated - self.received).total_seconds() > SKEW_TOLERANCE_SECONDS

    @property
    def moment(self) -> datetime:
        """When the audit ran, as far as anyone can tell: the node's date, but never after
        the collector received it (a clock before NTP sync must not make an old audit win
        over a newer one, nor keep it from going stale)."""
        if self.received is None or not self.skewed:
            return self.generated
        return self.received


@dataclass(frozen=True)
class Drift:
    """Nodes of one role whose value of one key, in one view, differs from their role's."""

    role: FleetRole
    key: str
    view: View
    majority: Value  # the reference the odd nodes differ from
    majority_count: int
    total: int
    odd: tuple[tuple[NodeAudit, Value], ...]
    required: bool = False  # the reference is the required value, held by a minority

    @property
    def tie(self) -> bool:
        """No value is held by more than half the nodes: the majority shown is a pick."""
        return not self.required and self.majority_count * 2 <= self.total


@dataclass(frozen=True)
class Superseded:
    """A second document for a node already read; the newer one counts."""

    name: str
    file: str
    kept: str


@dataclass(frozen=True)
class FleetReport:
    now: datetime
    max_age_seconds: int
    nodes: tuple[NodeAudit, ...]
    drift: tuple[Drift, ...]
    noncompliant: tuple[NodeAudit, ...]
    stale: tuple[NodeAudit, ...]
    superseded: tuple[Superseded, ...] = field(default=())
    skewed: tuple[NodeAudit, ...] = field(default=())

    @property
    def servers_agree(self) -> bool:
        return not any(d.role == "server" for d in self.drift)

    @property
    def clean(self) -> bool:
        return not (self.drift or self.noncompliant or self.stale or self.skewed)

    def count(self, role: FleetRole) -> int:
        return sum(node.role == role for node in self.nodes)


# --- reading -------------------------------------------------------------------------------


def audit_files(paths: Sequence[Path]) -> list[Path]:
    """Files named as they are; folders searched for ``*.json`` (not following links)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                Path(root, name)
                for root, _dirs, names in os.walk(path)
                for name in names
                if name.endswith(".json")
            )
            if not inside:
                raise InputError(f"{path}: no *.json audit file in this folder")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def load_audits(files: Iterable[Path]) -> tuple[list[NodeAudit], list[str]]:
    """Every readable audit, and one error line per file that is not one (never stop early)."""
    nodes: list[NodeAudit] = []
    errors: list[str] = []
    for path in files:
        try:
            nodes.append(load_audit(path))
        except InputError as error:
            errors.append(str(error))
    return nodes, errors


def load_audit(path: Path) -> NodeAudit:
    """One audit document: a regular file (a FIFO named *.json would block forever), read
    bounded, and parsed so that no input reaches an internal error."""
    from rke2image.rootfs import UnreadableFile, read_bounded

    try:
        data = read_bounded(path, str(path), MAX_FILE_BYTES, follow=True)
        received = datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    except UnreadableFile as error:
        raise InputError(f"{path}: {error.reason}: not an audit document") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if _nesting(data) > MAX_NESTING:
        raise InputError(f"{path}: JSON nested too deeply: not an audit document")
    try:
        document = json.loads(data.decode("utf-8"))  # bytes would let UTF-16/32 through
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text: not an audit document") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}; "
            "expected the output of `rke2image audit --format json`"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply: not an audit document") from None
    except ValueError as error:  # an integer of over 4300 digits (CPython's limit)
        raise InputError(f"{path}: invalid JSON: {error}: not an audit document") from None
    return _node_from(document, str(path), received)


def _nesting(data: bytes) -> int:
    """How deep the arrays and objects of ``data`` nest, brackets inside strings left out:
    a running sum over the brackets alone, with no recursion whatever the input."""
    openings = data.count(b"[") + data.count(b"{")
    if openings <= MAX_NESTING:
        return openings  # an upper bound, and what nearly every document stops at
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


class _Shape:
    """Reads fields of one document, naming the file and JSON pointer of a wrong one."""

    def __init__(self, file: str) -> None:
        self.file = file

    def get(self, parent: Any, pointer: str, name: str | int, *types: type) -> Any:
        try:  # ``parent`` is an object (a name) or a list (an index), checked before
            value = parent[name]
        except KeyError:
            raise self.error(f"{pointer}/{name}", "missing") from None
        if type(value) in types:  # what json.loads makes: the exact type (a bool is no int)
            return value
        where = f"{pointer}/{name}"
        # JSON true/false are bools, and Python's bool is an int: keep them apart.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise self.error(where, f"expected {wanted}, got {json.dumps(value)[:40]}")
        return value

    def member(self, parent: Any, pointer: str, name: str, allowed: Sequence[str | None]) -> Any:
        """A string field that must be one of ``allowed`` (None in it: null is allowed)."""
        value = self.get(parent, pointer, name, str, *((type(None),) if None in allowed else ()))
        if value not in allowed:
            words = ", ".join("null" if a is None else a for a in allowed)
            raise self.error(f"{pointer}/{name}", f"is {value!r}, expected one of {words}")
        return value

    def objects(self, parent: Any, pointer: str, name: str) -> Iterator[tuple[str, Any]]:
        """The items of a list of objects, each with its pointer."""
        for index, item in enumerate(self.get(parent, pointer, name, list)):
            where = f"{pointer}/{name}/{index}"
            if not isinstance(item, dict):
                raise self.error(where, "expected an object")
            yield where, item

    def error(self, pointer: str, message: str) -> InputError:
        return InputError(
            f"{self.file}: {pointer or 'the document'}: {message} (not an {AUDIT_SCHEMA} document: "
            "regenerate it with `rke2image audit --format json`)"
        )


def _node_from(document: Any, file: str, received: datetime | None = None) -> NodeAudit:
    shape = _Shape(file)
    if not isinstance(document, dict):
        raise shape.error("", "expected an object")
    schema = shape.get(document, "", "schema", str)
    if schema != AUDIT_SCHEMA:
        raise shape.error("/schema", f"is {schema!r}, expected {AUDIT_SCHEMA!r}")
    generated_text = shape.get(document, "", "generated", str)
    generated = parse_time(generated_text) if RFC3339.fullmatch(generated_text) else None
    if generated is None:
        raise shape.error("/generated", f"{generated_text!r} is not an RFC 3339 time")
    node = shape.get(document, "", "node", dict)
    name = shape.get(node, "/node", "name", str)
    if not name:
        raise shape.error("/node/name", "is empty: run the audit with --node-name NAME")
    role = shape.get(node, "/node", "role", str, type(None))
    if role is not None and role not in rke2.ROLES:
        raise shape.error("/node/role", f"is {role!r}, expected {', '.join(rke2.ROLES)} or null")
    live = shape.get(document, "", "live", bool)
    protection_doc = shape.get(document, "", "protection", dict)
    protection = shape.get(protection_doc, "/protection", "on", bool)
    protection_known = shape.get(protection_doc, "/protection", "known", bool)
    summary = shape.get(document, "", "summary", dict)
    values: dict[str, dict[str, Value]] = {}
    expected: dict[str, str] = {}
    verdicts: dict[str, str] = {}
    for index, parameter in enumerate(shape.get(document, "", "parameters", list)):
        pointer = f"/parameters/{index}"
        if not isinstance(parameter, dict):
            raise shape.error(pointer, "expected an object")
        key = shape.get(parameter, pointer, "key", str)
        expected[key] = shape.get(parameter, pointer, "expected", str)
        verdicts[key] = shape.member(parameter, pointer, "verdict", VERDICTS)
        views: dict[str, Value] = {"live": shape.get(parameter, pointer, "live", str, type(None))}
        next_boot = shape.get(parameter, pointer, "next_boot", dict)
        for source in ("systemd", "procps"):
            boot = shape.get(next_boot, f"{pointer}/next_boot", source, dict)
            views[source] = shape.get(boot, f"{pointer}/next_boot/{source}", "value", str, Null)
        values[key] = views
    _rest_of_the_contract(document, shape)
    return NodeAudit(
        file=file,
        name=name,
        role=role or "unknown",
        generated=generated,
        live=live,
        protection=protection,
        protection_known=protection_known,
        compliant=shape.get(summary, "/summary", "compliant", bool),
        errors=shape.get(summary, "/summary", "errors", int),
        warnings=shape.get(summary, "/summary", "warnings", int),
        values=values,
        expected=expected,
        verdicts=verdicts,
        received=received,
    )


def _rest_of_the_contract(document: dict[str, Any], shape: _Shape) -> None:
    """The fields fleet does not compare, checked like the others: a document fleet accepts
    is one the shipped schema (schemas/contracts/audit.schema.json) accepts, and the reverse;
    docs/design.md, "Outputs" says why fleet checks by hand."""
    shape.get(document, "", "root", str)
    shape.get(document, "", "managed", bool)
    protection = shape.get(document, "", "protection", dict)
    shape.get(protection, "/protection", "known", bool)
    shape.get(protection, "/protection", "profile", str, Null)
    for where, item in shape.objects(protection, "/protection", "sources"):
        shape.get(item, where, "file", str)
        shape.get(item, where, "line", int, Null)
        shape.get(item, where, "setting", str)
    for where, item in shape.objects(protection, "/protection", "unreadable"):
        shape.get(item, where, "file", str)
        shape.get(item, where, "reason", str)
    for pointer, parameter in shape.objects(document, "", "parameters"):
        shape.get(parameter, pointer, "required", bool)
        shape.get(parameter, pointer, "fix", str, Null)
        for tool in ("systemd", "procps"):
            where = f"{pointer}/next_boot/{tool}"
            boot = parameter["next_boot"][tool]
            shape.member(boot, where, "source", (*SOURCES, None))
            shape.get(boot, where, "file", str, Null)
            shape.get(boot, where, "line", int, Null)
            for at, override in shape.objects(boot, where, "overrides"):
                shape.member(override, at, "source", SOURCES)
                shape.get(override, at, "file", str)
                shape.get(override, at, "line", int)
                shape.get(override, at, "value", str)
    for where, finding in shape.objects(document, "", "findings"):
        shape.member(finding, where, "severity", SEVERITIES)
        shape.get(finding, where, "rule", str)
        shape.get(finding, where, "key", str, Null)
        shape.get(finding, where, "file", str, Null)
        shape.get(finding, where, "line", int, Null)
        shape.get(finding, where, "message", str)
        shape.get(finding, where, "fix", str, Null)
    files = shape.get(document, "", "files", dict)
    tools = shape.get(document, "", "boot_tools", dict)
    for tool in ("systemd", "procps"):
        names = shape.get(files, "/files", tool, list)
        wrong = next((i for i, name in enumerate(names) if type(name) is not str), None)
        if wrong is not None:  # a real audit lists a dozen files: one pass, then the message
            shape.get(names, f"/files/{tool}", wrong, str)
        found = shape.get(tools, "/boot_tools", tool, dict)
        shape.get(found, f"/boot_tools/{tool}", "version", str, Null)
        shape.get(found, f"/boot_tools/{tool}", "source", str, Null)
    shape.get(shape.get(document, "", "summary", dict), "/summary", "info", int)


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time with a zone, in UTC; None otherwise. A final Z is spelt out
    because Python 3.9 and 3.10's fromisoformat read only "+00:00"."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.astimezone(timezone.utc) if moment.tzinfo else None
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved out by the zone
        return None


# --- comparing -----------------------------------------------------------------------------


def fleet_report(nodes: Sequence[NodeAudit], now: datetime, max_age_seconds: int) -> FleetReport:
    """Compare every node with the majority of its role; name the stale and the failing."""
    unique, superseded = _newest_per_node(nodes)
    drift = [d for role in ROLES for d in _role_drift(role, [n for n in unique if n.role == role])]
    stale = tuple(n for n in unique if (now - n.moment).total_seconds() > max_age_seconds)
    ahead = tuple(
        n
        for n in unique
        if n.skewed or (n.generated - now).total_seconds() > SKEW_TOLERANCE_SECONDS
    )
    return FleetReport(
        now=now,
        max_age_seconds=max_age_seconds,
        nodes=tuple(unique),
        drift=tuple(drift),
        noncompliant=tuple(n for n in unique if not n.compliant or n.errors),
        stale=stale,
        superseded=tuple(superseded),
        skewed=ahead,
    )


def _newest_per_node(nodes: Sequence[NodeAudit]) -> tuple[list[NodeAudit], list[Superseded]]:
    newest: dict[str, NodeAudit] = {}
    for node in sorted(nodes, key=lambda n: (n.name, n.moment, n.generated, n.file)):
        newest[node.name] = node  # sorted oldest first: the last one read wins
    superseded = [
        Superseded(n.name, n.file, newest[n.name].file)
        for n in sorted(nodes, key=lambda n: (n.name, n.file))
        if newest[n.name] is not n
    ]
    return sorted(newest.values(), key=_node_order), superseded


def _node_order(node: NodeAudit) -> tuple[int, str]:
    return ROLES.index(node.role), node.name


def _role_drift(role: FleetRole, nodes: Sequence[NodeAudit]) -> Iterator[Drift]:
    keys = sorted({k for n in nodes for k in n.values}, key=lambda k: (_KEY_ORDER.get(k, 99), k))
    for key in keys:
        for view in VIEWS:
            # An image root has no live values: only live nodes take part in the live view.
            members = [n for n in nodes if view != "live" or n.live]
            found = [(n, _value(n, key, view)) for n in members if _has_view(n, key, view)]
            expected = next((n.expected[key] for n in nodes if key in n.expected), None)
            drift = _drift(role, key, view, found, expected)
            if drift is not None:
                yield drift
    found_protection = [(n, _protection(n)) for n in nodes]
    drift = _drift(role, PROTECTION_KEY, "config", found_protection, "on")
    if drift is not None:
        yield drift


def _protection(node: NodeAudit) -> str:
    """on, off, or unknown: a node audited without root may have protection it could not
    read, and calling it "off" would hide it among nodes that truly run without."""
    if node.protection:
        return "on"
    return "off" if node.protection_known else "unknown"


def _value(node: NodeAudit, key: str, view: str) -> Value:
    return node.values.get(key, {}).get(view)


def _has_view(node: NodeAudit, key: str, view: str) -> bool:
    """A node without the key counts as unset; one whose audit lacks the view is left out."""
    return key not in node.values or view in node.values[key]


def _drift(
    role: FleetRole,
    key: str,
    view: View,
    found: Sequence[tuple[NodeAudit, Value]],
    expected: Value,
) -> Drift | None:
    counts = Counter(value for _node, value in found)
    if len(counts) < 2:
        return None
    # The most common value; on a tie, the expected one, then the smallest (deterministic).
    majority, majority_count = min(
        counts.items(), key=lambda item: (-item[1], item[0] != expected, str(item[0]))
    )
    # When most nodes are wrong, the few that hold the required value are not the odd ones.
    right = majority == expected or (majority is None and KERNEL_DEFAULTS.get(key) == expected)
    required = expected is not None and not right and expected in counts
    if required:
        majority, majority_count = expected, counts[expected]
    odd = tuple((n, v) for n, v in found if v != majority)
    return Drift(role, key, view, majority, majority_count, len(found), odd, required)
