"""The one Jinja environment that renders every node file from templates/.

StrictUndefined turns a missing value into an error instead of an empty string;
trailing newlines are kept; there is no HTML autoescape, because every value is
escaped for its own target format by a filter from ``escape.py``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from rke2image import resources
from rke2image.render import escape


def _load(name: str) -> str:
    return resources.read_text("templates", name)


@cache
def environment() -> jinja2.Environment:
    """Build the environment once; templates are compiled once and reused."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,
    )
    env.filters.update(
        to_yaml=escape.to_yaml,
        shell_quote=escape.shell_quote,
        systemd_command=escape.systemd_command,
        sysctl_key=escape.sysctl_key,
        sysctl_value=escape.sysctl_value,
        module_name=escape.module_name,
    )
    return env


def render(name: str, **context: Any) -> bytes:
    """Render ``templates/<name>`` to UTF-8 bytes."""
    return environment().get_template(name).render(**context).encode("utf-8")
