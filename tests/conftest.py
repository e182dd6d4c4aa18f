"""Shared fixtures; the helpers themselves live in helpers.py (importable as ``helpers``).

- ``pytest --update-golden`` (or ``UPDATE_GOLDEN=1``) rewrites golden files
  instead of comparing them: fixture ``update_golden`` (bool).
- ``require_tool`` and ``make_node`` are helpers.py's functions as fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import helpers
from rke2image.spec.model import NodeSpec


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


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    return helpers.require_tool


@pytest.fixture
def make_node() -> Callable[..., NodeSpec]:
    return helpers.make_node
