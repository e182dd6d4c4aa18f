"""Fleet's tie-breaks (rke2image.fleet.model), on NodeAudit values built here: which of a
node's audits counts, which value is a role's reference when the nodes split, and the
order nodes are reported in. Each is a rule a report must follow to be the same every run."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from rke2image.fleet.model import (
    SKEW_TOLERANCE_SECONDS,
    Drift,
    FleetReport,
    FleetRole,
    NodeAudit,
    Value,
    fleet_report,
)

NOW = datetime(2026, 11, 26, 4, 0, 0, tzinfo=timezone.utc)
KEY = "kernel.panic"  # required 10; the kernel's default 0


def node(
    name: str,
    panic: Value = "10",
    *,
    role: FleetRole = "server",
    file: str | None = None,
    generated: datetime = NOW,
    received: datetime | None = None,
    live: bool = True,
    protection: bool = True,
) -> NodeAudit:
    """A node whose kernel.panic is ``panic`` in every view (live and both next boots)."""
    return NodeAudit(
        file=file or f"{name}.json",
        name=name,
        role=role,
        generated=generated,
        live=live,
        protection=protection,
        compliant=True,
        errors=0,
        warnings=0,
        values={KEY: {"live": panic, "systemd": panic, "procps": panic}},
        expected={KEY: "10"},
        verdicts={KEY: "ok"},
        received=received,
    )


def report(*nodes: NodeAudit) -> FleetReport:
    return fleet_report(nodes, NOW, max_age_seconds=86400)


def drift(found: FleetReport, view: str = "live", key: str = KEY) -> Drift:
    (only,) = [d for d in found.drift if d.view == view and d.key == key]
    return only


# --- which audit of a node counts ----------------------------------------------------------


def test_the_newest_audit_of_a_node_counts_and_the_others_are_superseded() -> None:
    old = node("cp-1", "0", file="a/cp-1.json", generated=NOW - timedelta(hours=2))
    new = node("cp-1", "10", file="b/cp-1.json", generated=NOW - timedelta(hours=1))
    found = report(new, old)
    assert [n.file for n in found.nodes] == ["b/cp-1.json"]
    assert [(s.name, s.file, s.kept) for s in found.superseded] == [
        ("cp-1", "a/cp-1.json", "b/cp-1.json")
    ]


def test_two_audits_of_one_moment_keep_the_last_file_name() -> None:
    first = node("cp-1", "0", file="a/cp-1.json")
    second = node("cp-1", "10", file="b/cp-1.json")
    for order in ((first, second), (second, first)):
        assert [n.file for n in report(*order).nodes] == ["b/cp-1.json"]


def test_a_clock_ahead_does_not_make_an_old_audit_win() -> None:
    """A node's clock years ahead dates its first audit after its second: the time the
    collector received each file decides, the node's own date only up to it."""
    skewed = node(
        "cp-1",
        "0",
        file="a/cp-1.json",
        generated=NOW + timedelta(days=365),
        received=NOW - timedelta(hours=2),
    )
    later = node("cp-1", "10", file="b/cp-1.json", generated=NOW - timedelta(hours=1), received=NOW)
    assert skewed.skewed and not later.skewed
    assert [n.file for n in report(skewed, later).nodes] == ["b/cp-1.json"]


def test_a_clock_within_the_tolerance_is_not_skewed() -> None:
    near = node("cp-1", generated=NOW + timedelta(seconds=SKEW_TOLERANCE_SECONDS), received=NOW)
    assert not near.skewed and near.moment == near.generated


# --- the reference value of a role -----------------------------------------------------------


def test_the_most_common_value_is_the_reference() -> None:
    found = drift(report(node("a", "10"), node("b", "10"), node("c", "0")))
    assert (found.majority, found.majority_count, found.total, found.tie) == ("10", 2, 3, False)
    assert [(n.name, v) for n, v in found.odd] == [("c", "0")]


def test_on_a_tie_the_required_value_is_the_reference() -> None:
    found = drift(report(node("a", "0"), node("b", "10")))
    assert (found.majority, found.tie, found.required) == ("10", True, False)
    assert [n.name for n, _ in found.odd] == ["a"]


def test_on_a_tie_without_the_required_value_the_smallest_is_the_reference() -> None:
    """Deterministic, not first come: compared as text, "20" before "30"."""
    for order in (("30", "20"), ("20", "30")):
        found = drift(report(node("a", order[0]), node("b", order[1])))
        assert (found.majority, found.tie) == ("20", True)


def test_a_wrong_majority_does_not_hide_the_nodes_that_are_wrong() -> None:
    """Most servers wrong, one right: the required value is the reference, and the wrong
    majority is what the report names."""
    found = drift(report(node("a", "0"), node("b", "0"), node("c", "10")))
    assert (found.majority, found.majority_count, found.required, found.tie) == (
        "10",
        1,
        True,
        False,
    )
    assert sorted(n.name for n, _ in found.odd) == ["a", "b"]


def test_unset_is_right_where_the_kernels_default_is_the_required_value() -> None:
    """vm.panic_on_oom must be 0, the kernel's default: most nodes leaving it unset are
    right, and the one that sets 0 is odd only as a different value, not a required one."""
    key = "vm.panic_on_oom"

    def oom(name: str, value: Value) -> NodeAudit:
        views = {"live": value, "systemd": value, "procps": value}
        return replace(node(name), values={key: views}, expected={key: "0"}, verdicts={})

    found = drift(report(oom("a", None), oom("b", None), oom("c", "0")), key=key)
    assert (found.majority, found.required) == (None, False)


def test_an_image_takes_no_part_in_the_live_view() -> None:
    nodes = (node("a", "10"), node("b", "10"), node("img", "0", live=False))
    found = report(*nodes)
    assert [d.view for d in found.drift if d.key == KEY] == ["systemd", "procps"]
    assert drift(found, "systemd").total == 3


def test_protection_compares_like_a_value_with_on_required() -> None:
    found = report(node("a", protection=False), node("b", protection=True))
    protection = drift(found, "config", "protect-kernel-defaults")
    assert (protection.majority, protection.tie) == ("on", True)
    assert [n.name for n, _ in protection.odd] == ["a"]


def test_protection_the_audit_could_not_read_is_unknown_not_off() -> None:
    """An audit without root cannot read a 0600 config.yaml: its protection is "known":
    false, and the fleet names it unknown, apart from a node that truly runs without."""
    nodes = (
        node("a", protection=True),
        node("b", protection=True),
        replace(node("c", protection=False), protection_known=False),
        node("d", protection=False),
    )
    protection = drift(report(*nodes), "config", "protect-kernel-defaults")
    assert protection.majority == "on"
    assert [(n.name, value) for n, value in protection.odd] == [("c", "unknown"), ("d", "off")]


# --- the order of the report ----------------------------------------------------------------


def test_servers_first_then_agents_then_unknown_each_by_name() -> None:
    nodes = (
        node("z-agent", role="agent"),
        node("b-unknown", role="unknown"),
        node("y-server"),
        node("a-agent", role="agent"),
        node("x-server"),
    )
    assert [n.name for n in report(*nodes).nodes] == [
        "x-server",
        "y-server",
        "a-agent",
        "z-agent",
        "b-unknown",
    ]


def test_drift_is_reported_servers_first_then_agents_live_before_the_next_boots() -> None:
    found = report(
        node("a1", role="agent"),
        node("a2", "0", role="agent"),
        node("s1"),
        node("s2", "0"),
    )
    assert [(d.role, d.view) for d in found.drift] == [
        ("server", "live"),
        ("server", "systemd"),
        ("server", "procps"),
        ("agent", "live"),
        ("agent", "systemd"),
        ("agent", "procps"),
    ]
