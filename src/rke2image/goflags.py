"""How RKE2 and kubelet read a boolean option and a ``kubelet-arg`` list.

One home for the spec's rules, the render's drop-in and the audit of a live root:
a wrong reading here turns protection off where the node has it on. Light on
purpose (no YAML, no jsonschema): the audit of a live node imports it.

- Booleans: Go's ``strconv.ParseBool`` (https://go.dev/src/strconv/atob.go), used by
  RKE2 (urfave/cli reading config.yaml) and kubelet (pflag): exactly the spellings
  below; anything else makes the program refuse to start.
- ``kubelet-arg``: RKE2 builds kubelet's command line with k3s ``util.GetArgs``
  (pkg/util/args.go): one leading ``--`` is dropped, ``name=value`` splits at the first
  ``=``, a bare name means ``true``, a trailing ``+``/``-`` on the name appends or
  prepends, and the names are emitted sorted, repeats in order. kubelet's pflag reads
  ``_`` as ``-`` (component-base cli/flag ``WordSepNormalizeFunc``) and keeps the last
  value.
"""

from __future__ import annotations

from collections.abc import Sequence

GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class NotABool(ValueError):
    """A value Go's strconv.ParseBool rejects; the node would not start."""


def parse_go_bool(value: object) -> bool:
    """Read ``value`` as RKE2 and kubelet do; raises NotABool where they would fail.

    A YAML boolean is itself; an integer or string is formatted and parsed as Go
    parses a flag value (``--protect-kernel-defaults=1`` is true, ``yes`` an error).
    """
    if isinstance(value, bool):
        return value
    text = str(value) if isinstance(value, (int, str)) else None
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    raise NotABool(repr(value) if text is None else repr(text))


def on_or_invalid(value: object) -> bool:
    """True when Go reads ``value`` as true, or rejects it (the node fails closed)."""
    if value is None:
        return False
    try:
        return parse_go_bool(value)
    except NotABool:
        return True


def split_arg(item: object) -> tuple[str, str]:
    """One kubelet-arg item as ``util.GetArgs`` reads it: (name as spelled, a trailing
    ``+``/``-`` kept; value, "true" when given bare)."""
    spelling, sep, value = str(item).removeprefix("--").partition("=")
    return spelling, value if sep else "true"


def winning_arg(args: Sequence[object], name: str) -> tuple[int, str] | None:
    """(index in ``args``, value) of the kubelet-arg item whose value kubelet keeps for
    flag ``name`` ("true" when given bare), or None when no item names it."""
    by_spelling: dict[str, list[tuple[int, str]]] = {}
    for index, arg in enumerate(args):
        spelling, value = split_arg(arg)
        spelling = spelling.rstrip("-+")
        if spelling.replace("_", "-") == name:
            by_spelling.setdefault(spelling, []).append((index, value))
    if not by_spelling:
        return None
    return by_spelling[max(by_spelling)][-1]


def arg_list(value: object) -> list[object]:
    """``kubelet-arg`` as RKE2 reads it: a list, or one item given alone."""
    if isinstance(value, (str, int)):
        return [value]
    return list(value) if isinstance(value, list) else []
