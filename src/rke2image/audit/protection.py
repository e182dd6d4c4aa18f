"""Is kubelet's protect-kernel-defaults on for this root, and which file turned it on?

RKE2 reads config.yaml, then config.yaml.d/*.yaml in name order (a later
file replaces a key, ``key+:`` appends to a list: k3s pkg/configfilearg), and the unit's
EnvironmentFile= (``/etc/default/%N``, ``/etc/sysconfig/%N``,
``/usr/local/lib/systemd/system/%N.env`` in rke2-server.service) may set
``RKE2_CIS_PROFILE`` (rke2 pkg/cli/cmds/root.go). Config-file values become command-line
flags, which beat the environment variable.

Protection is on with a CIS profile (``rke2.is_cis``), ``protect-kernel-defaults`` or
that kubelet flag in ``kubelet-arg`` read as Go reads them (``rke2image.goflags``, the one
home shared with ``spec.model.protection_on``); here each setting keeps its file and line.
"""

from __future__ import annotations

from typing import NamedTuple

from rke2image import paths, rke2
from rke2image.audit.model import Finding, Protection, ProtectionSource
from rke2image.goflags import GO_FALSE, GO_TRUE, on_or_invalid, winning_arg
from rke2image.rootfs import RootFS

CONFIG = paths.RKE2_CONFIG
CONFIG_DIR = paths.RKE2_CONFIG_DIR
ENV_FILES = paths.RKE2_ENV_FILES
PROFILE_ENV = "RKE2_CIS_PROFILE"
_KEYS = ("profile", "protect-kernel-defaults", "kubelet-arg")


class Setting(NamedTuple):
    value: object
    file: str
    line: int


def read_protection(fs: RootFS, role: str | None) -> tuple[Protection, list[Finding]]:
    """The merged RKE2 settings that decide protection, each with the line that set it."""
    findings: list[Finding] = []
    settings: dict[str, Setting] = {}
    args: list[Setting] = []
    for path in _config_files(fs):
        for key, setting, append in _read_config(fs, path, findings):
            if key == "kubelet-arg":
                items = setting.value if isinstance(setting.value, list) else [setting.value]
                new = [Setting(str(v), setting.file, setting.line) for v in items]
                args = args + new if append else new
            else:
                settings[key] = setting
    env = _env_profile(fs, role)
    profile = settings.get("profile") or env
    explicit = settings.get("protect-kernel-defaults")
    sources: list[ProtectionSource] = []
    if profile is not None and rke2.is_cis(profile.value):
        words = f"{PROFILE_ENV}={profile.value}" if profile is env else f"profile: {profile.value}"
        sources.append(ProtectionSource(profile.file, profile.line, words))
    if explicit is not None and on_or_invalid(explicit.value):
        sources.append(
            ProtectionSource(
                explicit.file,
                explicit.line,
                f"protect-kernel-defaults: {_yaml_word(explicit.value)}",
            )
        )
    arg = _last_arg(args, "protect-kernel-defaults")
    if arg is not None and on_or_invalid(_arg_value(arg)):
        sources.append(ProtectionSource(arg.file, arg.line, f"kubelet-arg: {arg.value}"))
    if (
        profile is not None
        and rke2.is_cis(profile.value)
        and explicit is not None
        and (explicit.value is False or str(explicit.value) in GO_FALSE)
    ):
        findings.append(
            Finding(
                "error",
                "cis-protection-false",
                f"protect-kernel-defaults: {_yaml_word(explicit.value)} with profile "
                f"{profile.value}: RKE2 refuses to start (--protect-kernel-defaults must be "
                f"true when using --profile={profile.value})",
                file=explicit.file,
                line=explicit.line,
                fix=f"remove protect-kernel-defaults from {explicit.file}:{explicit.line}",
            )
        )
    # RKE2 runs kubelet with fail-swap-on=false (k3s defaultKubeletConfig); only a
    # kubelet-arg turns it back on.
    swap = _last_arg(args, "fail-swap-on")
    return (
        Protection(
            bool(sources),
            tuple(sources),
            str(profile.value) if profile else None,
            fail_swap_on=swap is not None and _arg_value(swap) in GO_TRUE,
        ),
        findings,
    )


def _config_files(fs: RootFS) -> list[str]:
    files = [CONFIG] if fs.is_file(CONFIG) else []
    files += [
        f"{CONFIG_DIR}/{n}"
        for n in fs.listdir(CONFIG_DIR)
        if n.endswith(".yaml") and fs.is_file(f"{CONFIG_DIR}/{n}")
    ]
    return files


def _read_config(fs: RootFS, path: str, findings: list[Finding]) -> list[tuple[str, Setting, bool]]:
    """(key, setting, appends) for the keys that decide protection, with their lines."""
    import yaml  # lazy: a root without an RKE2 config needs no YAML

    text = fs.read_text(path) or ""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = getattr(error, "position", None)  # a ReaderError: a character index
        if mark is not None:
            line: int | None = mark.line + 1
        elif isinstance(position, int):
            line = text.count("\n", 0, position) + 1
        else:
            line = None
        findings.append(
            Finding(
                "error",
                "rke2-config-invalid",
                f"not valid YAML, RKE2 will not start: {error}".replace("\n", " "),
                file=path,
                line=line,
                fix=f"fix the YAML of {path}",
            )
        )
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    found = []
    for key_node, value_node in node.value:
        name = str(key_node.value)
        append = name.endswith("+")
        if name.rstrip("+") not in _KEYS:
            continue
        value = yaml.safe_load(yaml.serialize(value_node))
        found.append((name.rstrip("+"), Setting(value, path, key_node.start_mark.line + 1), append))
    return found


def _env_profile(fs: RootFS, role: str | None) -> Setting | None:
    """RKE2_CIS_PROFILE from the unit's EnvironmentFile=; the last file read wins."""
    units = ["rke2-server", "rke2-agent"] if role is None else [f"rke2-{role}"]
    found = None
    for unit in units:
        for template in ENV_FILES:
            path = template.format(unit=unit)
            text = fs.read_text(path)
            for number, line in enumerate((text or "").splitlines(), start=1):
                name, equals, value = line.strip().removeprefix("export ").partition("=")
                if equals and name.strip() == PROFILE_ENV:
                    found = Setting(value.strip().strip("'\""), path, number)
    return found


def _last_arg(args: list[Setting], name: str) -> Setting | None:
    """The kubelet-arg item whose value kubelet keeps for flag ``name``."""
    found = winning_arg([a.value for a in args], name)
    return None if found is None else args[found[0]]


def _arg_value(arg: Setting) -> str:
    """The flag value of a kubelet-arg item ("true" when given bare)."""
    _, equals, value = str(arg.value).removeprefix("--").partition("=")
    return value if equals else "true"


def _yaml_word(value: object) -> str:
    """A value as it reads in YAML (``true``, not Python's ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
