"""The one rule ``fix`` adds to the audit's findings, ``fix-cannot-persist``, in a catalog
of its own (docs/fix-json.md, ``plan.left``).

Not in ``audit/catalog.py``: that table is the audit's contract (docs/audit-json.md),
what ``audit`` reports and fleet, Prometheus and node-problem-detector read, and the audit
never reports this rule: only a plan knows a key it cannot persist. fix's ``plan.left``
passes the audit's findings on as they are, so fix's rule ids are the audit's and this
one; it is an audit ``Rule`` so that its findings have the audit's shape.
"""

from __future__ import annotations

from rke2image.audit.catalog import Rule

CANNOT_PERSIST = Rule(
    "fix-cannot-persist",
    "error",
    "a key still boots wrong after the plan: the writer that wins is one fix does not edit "
    "(a file outside the sysctl folders, a TuneD profile, the kernel command line, a FIFO "
    "the boot tool blocks on, rke2image's file being a link)",
    "Change the writer the finding names by hand, as its fix says, then run `rke2image fix` again.",
)
RULES = (CANNOT_PERSIST,)
