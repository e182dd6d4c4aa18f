"""Audit a live node or an image root: which kernel value is wrong, who set it, whether
the next boot breaks it, and the fix. Public API: ``run_audit``, ``AuditOptions``, ``Report``.

The names are imported on first use (PEP 562), so ``fleet`` reads the audit's schema name
from ``audit/model.py`` without paying for the whole audit's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rke2image.audit.model import Report
    from rke2image.audit.run import AuditOptions, run_audit

__all__ = ["AuditOptions", "Report", "run_audit"]
_HOMES = {"AuditOptions": "run", "Report": "model", "run_audit": "run"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
