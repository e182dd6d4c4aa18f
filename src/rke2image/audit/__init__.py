"""Audit a live node or an image root: which kernel value is wrong, who set it, whether
the next boot breaks it, and the fix. Public API: ``run_audit``, ``AuditOptions``, ``Report``."""

from __future__ import annotations

from rke2image.audit.model import Report
from rke2image.audit.run import AuditOptions, run_audit

__all__ = ["AuditOptions", "Report", "run_audit"]
