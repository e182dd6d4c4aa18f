"""Compare many nodes' audits: the model and its JSON contract (``fleet/model.py``) and
its reporters (``fleet/formats.py``). Public API: ``audit_files``, ``load_audits``,
``parse_time``, ``fleet_report`` and the ``FleetReport`` they build.

Only the model is imported here: it needs neither jsonschema nor jinja2, so the zipapp's
``fleet`` runs without them.
"""

from __future__ import annotations

from rke2image.fleet.model import (
    AUDIT_SCHEMA,
    FLEET_SCHEMA,
    Drift,
    FleetReport,
    NodeAudit,
    Superseded,
    audit_files,
    fleet_report,
    load_audit,
    load_audits,
    parse_time,
)

__all__ = [
    "AUDIT_SCHEMA",
    "FLEET_SCHEMA",
    "Drift",
    "FleetReport",
    "NodeAudit",
    "Superseded",
    "audit_files",
    "fleet_report",
    "load_audit",
    "load_audits",
    "parse_time",
]
