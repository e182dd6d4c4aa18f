"""The etcd account RKE2 needs on servers with profile cis or etcd, defined once.

RKE2 looks the user and group up in /etc/passwd and /etc/group itself and never
creates them (docs/design.md "Facts", profile_linux.go ``validateProfile``). A node booting a
stock image gets the account from cloud-init's ``groups``/``users`` modules, a
built image from packer/scripts/install-rootfs.sh, Ignition from its passwd section,
Combustion and EIB from a script (``render.targets``): all read this record, so
the name, comment and shell cannot differ between the two.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class SystemAccount(NamedTuple):
    """A system user with a group of the same name, no home and no login. A NamedTuple,
    not a dataclass: the audit imports it, and ``dataclasses`` costs it 6 ms at start."""

    name: str
    comment: str
    shell: str

    def cloud_config(self) -> dict[str, Any]:
        """cloud-init's groups and users entries; "default" keeps the distro's own user."""
        user = {
            "name": self.name,
            "gecos": self.comment,
            "primary_group": self.name,
            "system": True,
            "shell": self.shell,
            "lock_passwd": True,
            "no_create_home": True,
        }
        return {"groups": [self.name], "users": ["default", user]}

    def ignition(self) -> dict[str, Any]:
        """Ignition's passwd section (spec 3.x): groups are created before users."""
        user = {
            "name": self.name,
            "gecos": self.comment,
            "primaryGroup": self.name,
            "system": True,
            "shell": self.shell,
            "noCreateHome": True,
        }
        return {"groups": [{"name": self.name, "system": True}], "users": [user]}

    def build_variables(self, create: bool) -> dict[str, str]:
        """The Packer variables install-rootfs.sh creates it from (no name: create none)."""
        return {
            "etcd_user": self.name if create else "",
            "etcd_user_comment": self.comment,
            "etcd_user_shell": self.shell,
        }


ETCD = SystemAccount(name="etcd", comment="etcd user", shell="/sbin/nologin")
