"""Recover a node: plan from the audit's findings, apply atomically with a journal, undo.
Public API: ``FixOptions``, ``make_plan``, ``apply_plan``, ``undo``, ``Plan``, ``FixReport``."""

from __future__ import annotations

from rke2image.fix.apply import apply_plan
from rke2image.fix.model import FixReport, Plan
from rke2image.fix.plan import FixOptions, make_plan
from rke2image.fix.undo import undo

__all__ = ["FixOptions", "FixReport", "Plan", "apply_plan", "make_plan", "undo"]
