"""The node roles have one home (rke2.ROLES); the fleet adds "unknown" for an audit that
names none, and the audit's role reaches fix typed, or not at all."""

from __future__ import annotations

import pytest

from rke2image import rke2
from rke2image.fleet.model import ROLES as FLEET_ROLES


def test_the_roles_are_rke2s_two_services() -> None:
    assert rke2.ROLES == ("server", "agent")


def test_the_fleet_reports_servers_then_agents_then_nodes_of_no_role() -> None:
    assert (*rke2.ROLES, "unknown") == FLEET_ROLES


@pytest.mark.parametrize("role", rke2.ROLES)
def test_a_role_is_itself(role: str) -> None:
    assert rke2.role_of(role) == role


@pytest.mark.parametrize("text", [None, "", "unknown", "Server", "master", 1])
def test_anything_else_is_no_role(text: object) -> None:
    assert rke2.role_of(text) is None
