"""Is kubelet's protect-kernel-defaults on for this root, and which file turned it on?

Every place RKE2 reads it, each named as the source:

- the unit's environment (``audit.unit``): ``RKE2_CIS_PROFILE`` (rke2
  pkg/cli/cmds/root.go, the profile flag's EnvVars) and ``RKE2_CONFIG_FILE`` (which
  config file RKE2 reads), from ``Environment=`` in the unit and its drop-ins and from its
  ``EnvironmentFile=`` files (tarball, /opt/rke2 and RPM prefixes, /etc/default,
  /etc/sysconfig);
- the unit's ``ExecStart=`` flags (an override that replaces the command line):
  ``--profile``, ``--protect-kernel-defaults``, ``--kubelet-arg``, ``--config``. k3s
  configfilearg puts the config file's values before the command line's flags, so a flag
  replaces a config value and a ``--kubelet-arg`` appends;
- the config file and its ``.d`` folder (``audit.rke2files``): ``profile``,
  ``protect-kernel-defaults`` and ``kubelet-arg``. Config-file values become command-line
  flags, which beat the environment variable;
- the kubelet configuration RKE2 generates (``audit.kubeletconf``): what the kubelet it
  last started runs with.

Protection is on with a CIS profile (``rke2.is_cis``), ``protect-kernel-defaults`` or
that kubelet flag in ``kubelet-arg`` read as Go reads them (``rke2image.goflags``, the one
home shared with ``spec.model.protection_on``), or ``protectKernelDefaults: true``. A file
the audit may not read (config.yaml is 0600; without root) leaves protection unknown.
"""

from __future__ import annotations

from typing import NamedTuple

from rke2image import paths, rke2
from rke2image.audit import catalog
from rke2image.audit.kubeletconf import read_kubelet_conf
from rke2image.audit.model import Finding, Protection, ProtectionSource
from rke2image.audit.rke2files import Setting, read_config
from rke2image.audit.unit import Unit, command_flags, environment, read_unit
from rke2image.goflags import GO_FALSE, GO_TRUE, on_or_invalid, split_arg, winning_arg
from rke2image.rke2 import ROLES, Role
from rke2image.rootfs import RootFS

PROFILE_ENV = rke2.CIS_PROFILE_ENV


class ProtectionReading(NamedTuple):
    protection: Protection
    findings: list[Finding]
    node_name: str | None  # RKE2's node-name, when set


def read_protection(fs: RootFS, role: Role | None) -> ProtectionReading:
    """The merged RKE2 settings that decide protection, each with the line that set it."""
    env, flags = _unit_environment(fs, role)
    # RKE2_CONFIG_FILE beats --config (k3s parser.go findConfigFileFlag reads the env first)
    config_file = env.get(rke2.CONFIG_FILE_ENV) or flags.pop("config", None)
    config_path = str(config_file.value) if config_file else paths.RKE2_CONFIG
    config = read_config(fs, config_path)
    if config_path.startswith(("http://", "https://")):  # k3s readConfigFileData fetches it
        config.unreadable.append((config_path, "a URL: the audit does not fetch it"))
    # ExecStart= flags come after the config file's (configfilearg inserts those first):
    # a flag replaces a config value, a kubelet-arg flag appends to the config's list.
    settings = {**config.settings, **flags}
    config.kubelet_args.extend(flag_args(fs, role))
    env_profile = env.get(PROFILE_ENV)
    profile = settings.get("profile") or env_profile
    explicit = settings.get(rke2.PROTECT_KERNEL_DEFAULTS)
    kubelet = read_kubelet_conf(fs)
    sources: list[ProtectionSource] = []
    if profile is not None and rke2.is_cis(profile.value):
        if profile is env_profile:
            words = f"{PROFILE_ENV}={profile.value}"
        elif profile is flags.get("profile"):
            words = f"ExecStart= --profile={profile.value}"
        else:
            words = f"profile: {profile.value}"
        sources.append(ProtectionSource(profile.file, profile.line, words))
    if explicit is not None and on_or_invalid(explicit.value):
        sources.append(
            ProtectionSource(
                explicit.file,
                explicit.line,
                (
                    f"ExecStart= --protect-kernel-defaults={_yaml_word(explicit.value)}"
                    if explicit is flags.get(rke2.PROTECT_KERNEL_DEFAULTS)
                    else f"protect-kernel-defaults: {_yaml_word(explicit.value)}"
                ),
            )
        )
    arg = _last_arg(config.kubelet_args, rke2.PROTECT_KERNEL_DEFAULTS)
    if arg is not None and on_or_invalid(_arg_value(arg)):
        sources.append(ProtectionSource(arg.file, arg.line, f"kubelet-arg: {arg.value}"))
    if kubelet.protect is not None and kubelet.protect.value is True:
        sources.append(
            ProtectionSource(
                kubelet.protect.file, kubelet.protect.line, "protectKernelDefaults: true"
            )
        )
    findings = config.findings + _cis_with_protection_false(profile, explicit)
    # RKE2 runs kubelet with fail-swap-on=false (k3s defaultKubeletConfig); only a
    # kubelet-arg turns it back on.
    swap = _last_arg(config.kubelet_args, rke2.FAIL_SWAP_ON)
    node_name = settings.get("node-name") or env.get(rke2.NODE_NAME_ENV)
    return ProtectionReading(
        Protection(
            bool(sources),
            tuple(sources),
            str(profile.value) if profile else None,
            fail_swap_on=swap is not None and _arg_value(swap) in GO_TRUE,
            unreadable=tuple(config.unreadable + kubelet.unreadable),
        ),
        findings,
        (str(node_name.value).strip() or None) if node_name else None,
    )


def protection_unknown(protection: Protection, matters: str | None) -> Finding | None:
    """The finding that says protection could not be determined, or None when it could.

    ``matters`` names what the unknown could change (a wrong value, a missing etcd account)
    and makes it a warning; when nothing depends on it (every value right, the account
    there) it is ``info`` and does not change the exit code.
    """
    if protection.known:
        return None
    files = ", ".join(f"{f} ({why})" for f, why in protection.unreadable)
    consequence = (
        f", and it matters here ({matters}): judged as if it were on"
        if matters
        else "; nothing found depends on it"
    )
    return catalog.PROTECTION_UNKNOWN.with_severity("warning" if matters else "info").finding(
        f"cannot read {files}: whether protect-kernel-defaults is on is unknown{consequence}",
        file=protection.unreadable[0][0],
        fix="run the audit as root (or with read access to these files)",
    )


def _units(fs: RootFS, role: Role | None) -> list[Unit]:
    """RKE2's units for this role; with no role known, both (the agent's last)."""
    return [read_unit(fs, paths.service_name(r)) for r in (ROLES if role is None else (role,))]


def _unit_environment(
    fs: RootFS, role: Role | None
) -> tuple[dict[str, Setting], dict[str, Setting]]:
    """RKE2's environment from its unit, and the options its ExecStart= sets by flag."""
    env: dict[str, Setting] = {}
    flags: dict[str, Setting] = {}
    for unit in _units(fs, role):
        for name, line in environment(fs, unit).items():
            env[name] = Setting(line.value, line.file, line.line)
        for name, value, line in command_flags(unit):
            name = "config" if name == "c" else name
            if name in _FLAG_OPTIONS:
                flags[name] = Setting(_flag_value(name, value), line.file, line.line)
    return env, flags


def flag_args(fs: RootFS, role: Role | None) -> list[Setting]:
    """``--kubelet-arg`` items of the ExecStart= command, in order."""
    return [
        Setting(value, line.file, line.line)
        for unit in _units(fs, role)
        for name, value, line in command_flags(unit)
        if name == rke2.KUBELET_ARG
    ]


# The options the audit reads that may also be given as flags on RKE2's command line.
_FLAG_OPTIONS = frozenset({"profile", rke2.PROTECT_KERNEL_DEFAULTS, "node-name", "config"})


def _flag_value(name: str, value: str) -> object:
    """A flag's text as the config value it stands for (a boolean flag's words as Go's)."""
    if name == rke2.PROTECT_KERNEL_DEFAULTS and value in GO_TRUE | GO_FALSE:
        return value in GO_TRUE
    return value


def _cis_with_protection_false(profile: Setting | None, explicit: Setting | None) -> list[Finding]:
    if not (
        profile is not None
        and rke2.is_cis(profile.value)
        and explicit is not None
        and (explicit.value is False or str(explicit.value) in GO_FALSE)
    ):
        return []
    return [
        catalog.CIS_PROTECTION_FALSE.finding(
            f"protect-kernel-defaults: {_yaml_word(explicit.value)} with profile "
            f"{profile.value}: RKE2 refuses to start ("
            + rke2.PROTECTION_OFF_WORDS.format(profile=profile.value)
            + ")",
            file=explicit.file,
            line=explicit.line,
            fix=f"remove protect-kernel-defaults from {explicit.file}:{explicit.line}",
        )
    ]


def _last_arg(args: list[Setting], name: str) -> Setting | None:
    """The kubelet-arg item whose value kubelet keeps for flag ``name``."""
    found = winning_arg([a.value for a in args], name)
    return None if found is None else args[found[0]]


def _arg_value(arg: Setting) -> str:
    """The flag value of a kubelet-arg item ("true" when given bare)."""
    return split_arg(arg.value)[1]


def _yaml_word(value: object) -> str:
    """A value as it reads in YAML (``true``, not Python's ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
