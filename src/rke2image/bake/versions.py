"""Which Packer we drive: 1.6.6 (Debian, builders built in) or >= 1.7 (plugins).

Packer 1.6.6 rejects a required_plugins block; from 1.7 on the builders are
plugins that `packer init` installs from required_plugins (and from 1.10 on
they are no longer bundled at all). So the project gets
packer/plugins/required-plugins.pkr.hcl and a `packer init` only from 1.7 on.
"""

from __future__ import annotations

FIRST_PLUGIN_VERSION = (1, 7, 0)


def needs_plugins(version: tuple[int, int, int]) -> bool:
    """True for Packer versions that install builders with `packer init`."""
    return version >= FIRST_PLUGIN_VERSION
