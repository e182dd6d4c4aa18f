"""The node roles have one home (rke2.ROLES); the fleet adds "unknown" for an audit that
names none."""

from __future__ import annotations

from rke2image import rke2
from rke2image.fleet.model import ROLES as FLEET_ROLES


def test_the_roles_are_rke2s_two_services() -> None:
    assert rke2.ROLES == ("server", "agent")


def test_the_fleet_reports_servers_then_agents_then_nodes_of_no_role() -> None:
    assert (*rke2.ROLES, "unknown") == FLEET_ROLES
