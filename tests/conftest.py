"""Shared test fixtures: golden-file updates, outside tools, and NodeSpec building.

- ``pytest --update-golden`` (or ``UPDATE_GOLDEN=1``) rewrites golden files
  instead of comparing them: fixture ``update_golden`` (bool).
- ``require_tool(name)`` returns a tool's path; with CI=true a missing tool
  FAILS the test, locally it skips with the reason.
- ``make_node(**fields)`` builds a NodeSpec directly, valid by construction.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from rke2image.spec.model import NodeSpec, TokenRef


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden")) or os.environ.get(
        "UPDATE_GOLDEN"
    ) == "1"


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: a missing tool is a failure)")
        pytest.skip(message)
    return path


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    return _require_tool


NODE_DEFAULTS: dict[str, Any] = {
    "name": "cp-1",
    "role": "server",
    "cluster_init": True,
    "server": None,
    "os": "ubuntu-22.04",
    "rke2_version": "v1.31.4+rke2r1",
    "profile": "cis",
    "token": TokenRef(file="/etc/rancher/rke2/token"),
    "rke2_config": {"tls-san": ["cp.example.com"]},
    "sysctl": {"fs.inotify.max_user_instances": "8192"},
    "modules": ("overlay", "br_netfilter"),
    "preflight_mode": "remediate",
}


@pytest.fixture
def make_node() -> Callable[..., NodeSpec]:
    def make(**fields: Any) -> NodeSpec:
        return NodeSpec(**{**NODE_DEFAULTS, **fields})

    return make
