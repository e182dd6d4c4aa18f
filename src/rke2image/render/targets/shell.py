"""The bash pieces the Combustion and EIB targets share: a node file as a ``put``
command fed by a quoted here-document, and the etcd account's ``add_account`` words."""

from __future__ import annotations

import base64

from rke2image import accounts
from rke2image.render.escape import shell_quote
from rke2image.render.files import RenderedFile
from rke2image.spec.model import NodeSpec

DELIMITER = "RKE2IMAGE_EOF"


def put_block(file: RenderedFile) -> str:
    """``put PATH MODE`` with the file's bytes: as text where a quoted here-document
    carries them unchanged (UTF-8, a final newline, no line equal to the delimiter),
    else base64 (whose lines, multiples of 4 long, never equal it)."""
    command = f"put {shell_quote(file.path)} {file.mode:04o}"
    try:
        text = file.content.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.endswith("\n") and DELIMITER not in text.splitlines():
        return f"{command} <<'{DELIMITER}'\n{text}{DELIMITER}"
    encoded = base64.encodebytes(file.content).decode("ascii")
    return f"base64 -d <<'{DELIMITER}' | {command}\n{encoded}{DELIMITER}"


def account_words(node: NodeSpec) -> str:
    """``add_account``'s arguments for a node that needs the etcd account, else ''."""
    if not node.needs_etcd_user:
        return ""
    account = accounts.ETCD
    return " ".join(shell_quote(w) for w in (account.name, account.comment, account.shell))
