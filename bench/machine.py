"""The machine a figure came from: figures mean nothing without it (README "Figures")."""

from __future__ import annotations

import os
import platform
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    """CPUs, CPU model and Python version, for a benchmark's JSON."""
    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()}
