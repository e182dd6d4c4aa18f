"""Escaping, one function per target format, so no value is ever pasted by hand.

YAML goes through PyYAML's pure-Python emitter (never libyaml: the same spec must
render the same bytes on every machine, with or without libyaml installed); shell
words through ``shlex.quote``; systemd command lines through systemd's own quoting
rules (systemd.service(5), "Command lines"). sysctl.d and modules-load.d have no
escaping at all, so their values are checked instead of quoted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Hashable, Mapping
from typing import Any

import yaml

from rke2image.errors import RenderError


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks, for review."""

    def analyze_scalar(self, scalar: str) -> yaml.emitter.ScalarAnalysis:
        # PyYAML counts a tab as a "special character" and then refuses a literal
        # block, though YAML allows tabs in block content (not in indentation,
        # which is spaces only). Judge the style as if tabs were spaces; the
        # scalar itself is written unchanged. Round trips are tested.
        if "\n" not in scalar:  # single-line: plain style must never hold a tab
            return super().analyze_scalar(scalar)
        analysis = super().analyze_scalar(scalar.replace("\t", " "))
        analysis.scalar = scalar
        return analysis


# Plain scalars that a YAML 1.1 parser (RKE2 reads config.yaml with Go's yaml.v2 through
# sigs.k8s.io/yaml; cloud-init with PyYAML) reads as something other than a string.
# PyYAML's own resolver already quotes most of them (yes, on, ~, 0x1F, 1.5, dates); it
# misses YAML 1.1's y/n and what Go's number parsing accepts without a dot (1e3, 0o17,
# 08, -inf). Over-quoting is harmless: a quoted scalar is a string in every parser.
_YAML11_WORDS = frozenset(
    {
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "~",
        "null",
        "Null",
        "NULL",
        "<<",
    }
)
_GO_NUMBER = re.compile(
    r"[-+]?(?:[0-9][0-9a-zA-Z_]*(?:\.[0-9a-zA-Z_]*)?(?:[eEpP][-+]?[0-9_]+)?"
    r"|\.[0-9][0-9_]*(?:[eE][-+]?[0-9_]+)?"
    r"|\.?(?:inf|infinity|nan))",
    re.IGNORECASE,
)


def reads_as_non_string(value: str) -> bool:
    """True when a YAML 1.1 parser (Go's or Python's) would not read plain ``value``
    back as this string."""
    return value in _YAML11_WORDS or _GO_NUMBER.fullmatch(value) is not None


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style: str | None = "|"
    elif reads_as_non_string(value):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(value: Any) -> str:
    text: str = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        explicit_start=False,
    )
    return text


_CACHE_LIMIT = 4096
_cache: dict[Hashable, str] = {}


def _freeze(value: Any) -> Hashable:
    """A hashable twin of YAML-able data; types are kept apart (1, True and "1" differ)."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((_freeze(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


def _dump_part(value: Any) -> str:
    # Kept because `make bench` needs it: every node embeds the same ~20 KB preflight,
    # and PyYAML's pure-Python emitter takes ~40 ms for it. Without this cache,
    # rendering the 1,000-node Cluster took 38 s against the README's 3 s target
    # (bench_render.py, 2026-11-26, 2 shared CPUs); with it, well under 1 s.
    key = _freeze(value)
    text = _cache.get(key)
    if text is None:
        text = _dump(value)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = text
    return text


def to_yaml(value: Any) -> str:
    """Emit ``value`` as block YAML with sorted keys, strings quoted where a YAML 1.1
    parser (Go's, RKE2's) would read them as another type.

    A top-level mapping is emitted key by key and a top-level list value item by
    item; for block style this is byte-identical to one ``yaml.dump`` of the whole
    (tests/unit/render/test_escape.py proves it) and lets shared entries be cached.
    """
    if not isinstance(value, Mapping) or not value:
        return _dump(value)
    parts: list[str] = []
    for key in sorted(value):
        item = value[key]
        header = _list_header(key, item)
        if header is None:
            parts.append(_dump_part({key: item}))
        else:
            parts.append(header)
            parts.extend(_dump_part([entry]) for entry in item)
    # A part ending in a keep-chomped block scalar (``|2+``) closes its own document
    # with ``...``; inside the whole document only the last part may keep it.
    inner = [
        p.removesuffix(_DOCUMENT_END) if p.endswith("\n" + _DOCUMENT_END) else p for p in parts[:-1]
    ]
    return "".join([*inner, parts[-1]])


_DOCUMENT_END = "...\n"


def _list_header(key: str, item: Any) -> str | None:
    """``key:\n`` when ``{key: item}`` is a simple key over a block list, else None."""
    if not isinstance(item, list) or not item:
        return None
    whole_first = _dump_part({key: item[:1]})
    first = _dump_part(item[:1])
    header = whole_first[: len(whole_first) - len(first)]
    simple = header.endswith(":\n") and header.count("\n") == 1 and not header.startswith("?")
    return header if simple and whole_first.endswith(first) else None


def shell_quote(value: object) -> str:
    """One POSIX shell word."""
    return shlex.quote(str(value))


_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def systemd_quote(value: object) -> str:
    """One word of a systemd ``Exec*=`` command line.

    ``%`` starts a specifier and ``$`` a variable, so both are doubled; a word with
    anything but safe characters is double-quoted with C-style backslash escapes.
    """
    text = str(value)
    if "\n" in text or "\0" in text:
        raise RenderError(f"a systemd command-line word cannot hold a newline: {text!r}")
    text = text.replace("%", "%%").replace("$", "$$")
    if text and _SYSTEMD_PLAIN.fullmatch(text) and text != ";":
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    return f'"{escaped}"'


def systemd_command(words: list[str]) -> str:
    """A whole systemd command line; the first word (the program) must be absolute."""
    if not words or not words[0].startswith("/"):
        raise RenderError(f"systemd needs an absolute program path, not {words[:1]!r}")
    return " ".join(systemd_quote(word) for word in words)


_SYSCTL_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.*/:@-]*")  # every key validate passes
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def sysctl_key(key: str) -> str:
    """A sysctl.d(5) key: the format has no quoting, so refuse what it cannot carry."""
    if not _SYSCTL_KEY.fullmatch(key):
        raise RenderError(f"sysctl key {key!r} cannot be written to a sysctl.d file")
    return key


def sysctl_value(value: str) -> str:
    """A sysctl.d(5) value: the rest of the line, so no line breaks or control bytes."""
    if _CONTROL.search(value) or value != value.strip():
        raise RenderError(f"sysctl value {value!r} cannot be written to a sysctl.d file")
    return value


_MODULE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")  # a leading "-" is a modprobe option


def module_name(name: str) -> str:
    """A modules-load.d(5) line: a bare module name."""
    if not _MODULE.fullmatch(name):
        raise RenderError(f"kernel module name {name!r} cannot be written to modules-load.d")
    return name
