"""Links inside a node's root (rke2image.rootfs.RootFS.resolve): absolute targets are node
paths, ``..`` stops at the root, a loop is an error like the kernel's ELOOP, and no link
leads out of the root to the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rke2image.errors import InputError
from rke2image.rootfs import DEV_NULL, RootFS


@pytest.fixture
def root(tmp_path: Path) -> Path:
    node = tmp_path / "node"
    (node / "etc" / "sysctl.d").mkdir(parents=True)
    (node / "usr" / "lib" / "sysctl.d").mkdir(parents=True)
    (node / "etc" / "sysctl.conf").write_text("kernel.panic = 10\n")
    return node


def resolved(root: Path, node_path: str) -> tuple[str, Path]:
    found = RootFS(root).resolve(node_path)
    return found.node_path, found.host_path


def test_a_plain_path_is_itself_under_the_root(root: Path) -> None:
    assert resolved(root, "/etc/sysctl.conf") == ("/etc/sysctl.conf", root / "etc/sysctl.conf")
    assert resolved(root, "/") == ("/", root)
    assert resolved(root, "/etc/./sysctl.d//") == ("/etc/sysctl.d", root / "etc/sysctl.d")


def test_an_absolute_link_target_is_a_node_path(root: Path) -> None:
    """Debian's 99-sysctl.conf -> ../sysctl.conf, written absolute: inside the root."""
    os.symlink("/etc/sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    assert resolved(root, "/etc/sysctl.d/99-sysctl.conf") == (
        "/etc/sysctl.conf",
        root / "etc/sysctl.conf",
    )


def test_a_relative_link_target_is_read_from_the_links_folder(root: Path) -> None:
    os.symlink("../sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    assert resolved(root, "/etc/sysctl.d/99-sysctl.conf")[0] == "/etc/sysctl.conf"


def test_a_linked_folder_on_the_way_is_followed(root: Path) -> None:
    """Merged /usr: /lib -> usr/lib, so /lib/sysctl.d is /usr/lib/sysctl.d."""
    os.symlink("usr/lib", root / "lib")
    assert resolved(root, "/lib/sysctl.d") == ("/usr/lib/sysctl.d", root / "usr/lib/sysctl.d")


def test_dot_dot_above_the_root_stays_at_the_root(root: Path) -> None:
    assert resolved(root, "/../../etc/sysctl.conf")[0] == "/etc/sysctl.conf"
    os.symlink("../../../../../../etc/sysctl.conf", root / "etc/sysctl.d/50-up.conf")
    assert resolved(root, "/etc/sysctl.d/50-up.conf") == (
        "/etc/sysctl.conf",
        root / "etc/sysctl.conf",
    )


def test_a_link_leaving_the_root_lands_inside_it(root: Path, tmp_path: Path) -> None:
    """A link to the host's own file (its absolute host path) names that path in the root,
    which does not exist there: the host file is never reached."""
    outside = tmp_path / "host-secret"
    outside.write_text("not the node's\n")
    os.symlink(str(outside), root / "etc/sysctl.d/60-out.conf")
    node_path, host_path = resolved(root, "/etc/sysctl.d/60-out.conf")
    assert node_path == str(outside)
    assert host_path == root / str(outside).lstrip("/")
    assert not host_path.exists()
    assert RootFS(root).is_file("/etc/sysctl.d/60-out.conf") is False


def test_every_resolution_stays_under_the_root(root: Path, tmp_path: Path) -> None:
    os.symlink("/", root / "etc/top")
    os.symlink("../../..", root / "etc/sysctl.d/up")
    os.symlink(str(tmp_path), root / "etc/host-tmp")
    for node_path in ("/etc/top/etc", "/etc/sysctl.d/up/etc", "/etc/host-tmp/..", "/.."):
        host_path = resolved(root, node_path)[1]
        assert host_path == root or root in host_path.parents, node_path


def test_a_loop_is_an_error_like_eloop(root: Path) -> None:
    os.symlink("b.conf", root / "etc/sysctl.d/a.conf")
    os.symlink("a.conf", root / "etc/sysctl.d/b.conf")
    with pytest.raises(InputError, match="too many levels of symbolic links"):
        RootFS(root).resolve("/etc/sysctl.d/a.conf")


def test_a_link_to_itself_is_a_loop(root: Path) -> None:
    os.symlink("/etc/sysctl.d/self.conf", root / "etc/sysctl.d/self.conf")
    with pytest.raises(InputError, match="too many levels"):
        RootFS(root).resolve("/etc/sysctl.d/self.conf")


def test_forty_links_in_a_row_resolve_and_forty_one_do_not(root: Path) -> None:
    """The kernel follows 40 links (ELOOP after): so does the root."""
    folder = root / "etc" / "sysctl.d"
    for n in range(41):
        os.symlink(f"l{n + 1}" if n < 40 else "/etc/sysctl.conf", folder / f"l{n}")
    assert RootFS(root).resolve("/etc/sysctl.d/l1")[0] == "/etc/sysctl.conf"  # 40 links
    with pytest.raises(InputError, match="too many levels"):
        RootFS(root).resolve("/etc/sysctl.d/l0")  # 41 links


def test_a_mask_to_dev_null_is_a_file_of_the_node(root: Path) -> None:
    os.symlink(DEV_NULL, root / "etc/sysctl.d/50-default.conf")
    fs = RootFS(root)
    assert fs.resolve("/etc/sysctl.d/50-default.conf").is_dev_null
    assert fs.is_file("/etc/sysctl.d/50-default.conf")
