"""The gz+b64 packing of user-data files: the same bytes on every supported Python."""

from __future__ import annotations

import gzip

import pytest

from helpers import REPO
from rke2image.render.cloudconfig import gzip_member

PREFLIGHT = (REPO / "templates" / "preflight.sh").read_bytes()


@pytest.mark.parametrize("content", [b"", b"kernel.panic = 10\n", PREFLIGHT])
def test_a_member_is_what_gzip_reads_back(content: bytes) -> None:
    assert gzip.decompress(gzip_member(content)) == content


def test_the_header_is_fixed_whatever_the_python() -> None:
    """Before 3.11 gzip.compress wrote OS 255 in the header, since then 3 (Unix): the
    header is written by hand, no name, mtime 0, best compression, Unix."""
    assert gzip_member(PREFLIGHT)[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
