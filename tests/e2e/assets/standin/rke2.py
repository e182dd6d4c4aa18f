#!/usr/bin/python3
"""Stand-in for the rke2 binary in the e2e images: does what RKE2 and kubelet check at start.

It follows RKE2's own order (rancher/rke2 pkg/cli/cmds/profile_linux.go,
validateProfile): the profile comes from config.yaml (and config.yaml.d), else
RKE2_CIS_PROFILE from the unit's EnvironmentFile; with ``cis`` the four kernel
parameters are checked first, on servers and agents, and a mismatch is fatal
there; then an explicit protect-kernel-defaults: false is fatal; then, with
``cis`` or ``etcd``, servers need the etcd user and group. Any other profile is
fatal. Then kubelet: with protect-kernel-defaults (cis turns it on) all six
parameters must match, and swap stops it only when a kubelet-arg sets
fail-swap-on=true (RKE2 runs kubelet with fail-swap-on=false: k3s
defaultKubeletConfig). Each refusal exits 1 with upstream's words. Otherwise it
tells systemd it is ready (Type=notify), logs the values it saw, also to the
serial console so the host-side test can read them, and answers 200 where kubelet
and etcd do once they run: 127.0.0.1:10248/healthz, and on servers
127.0.0.1:2381/health (what `rke2image fix --restart` waits for). The expected values come
from expected.json, which build-base.sh writes from rke2image.kernel (the one
source of the kernel facts).
"""

import glob
import http.server
import json
import os
import socket
import sys
import threading
import time
from typing import Any, TypedDict

import yaml

# The environment moves these for host-side tests of the stand-in only.
EXPECTED = os.environ.get("RKE2_STANDIN_EXPECTED", "/usr/local/share/rke2-standin/expected.json")
ETC = os.environ.get("RKE2_STANDIN_ETC", "/etc")
PROC_SYS = os.environ.get("RKE2_STANDIN_PROC_SYS", "/proc/sys")
CONFIG = ETC + "/rancher/rke2/config.yaml"
CONSOLE = os.environ.get("RKE2_STANDIN_CONSOLE", "/dev/console")
SWAPS = os.environ.get("RKE2_STANDIN_SWAPS", "/proc/swaps")
ONESHOT = os.environ.get("RKE2_STANDIN_ONESHOT") == "1"  # exit after ready (tests)
KUBELET_LOG = os.environ.get(
    "RKE2_STANDIN_KUBELET_LOG", "/var/lib/rancher/rke2/agent/logs/kubelet.log"
)
# kubelet's healthz and etcd's metrics/health ports (RKE2 sets etcd's listen-metrics-urls
# to http://127.0.0.1:2381); tests move them to free ports.
KUBELET_PORT = int(os.environ.get("RKE2_STANDIN_KUBELET_PORT", "10248"))
ETCD_PORT = int(os.environ.get("RKE2_STANDIN_ETCD_PORT", "2381"))


class ExpectedParam(TypedDict):
    """One entry of expected.json (build-base.sh writes it from rke2image.kernel)."""

    key: str
    value: str
    rke2_cis_checked: bool


def say(line: str) -> None:
    """Log to the journal (stderr) and to the console, where the test reads it."""
    print(line, file=sys.stderr, flush=True)
    try:
        with open(CONSOLE, "a") as console:
            console.write("rke2-standin: " + line + "\n")
    except OSError:
        pass


def load_config() -> dict[str, Any]:
    """config.yaml then config.yaml.d/*.yaml, later keys winning, as RKE2 merges them."""
    config: dict[str, Any] = {}
    for path in [CONFIG, *sorted(glob.glob(CONFIG + ".d/*.yaml"))]:
        try:
            with open(path) as handle:
                config.update(yaml.safe_load(handle) or {})
        except FileNotFoundError:
            continue
    return config


def truthy(value: object) -> bool:
    return str(value).lower() in ("true", "1", "t")


def profile_of(config: dict[str, Any]) -> str:
    """config.yaml wins over the environment, as RKE2 turns config keys into flags."""
    return config.get("profile") or os.environ.get("RKE2_CIS_PROFILE", "")


def kubelet_arg(config: dict[str, Any], name: str) -> str | None:
    """The last value of kubelet flag name in kubelet-arg ("" when bare), or None."""
    args = config.get("kubelet-arg") or []
    found: str | None = None
    for arg in args if isinstance(args, list) else [args]:
        flag, _, value = str(arg).lstrip("-").partition("=")
        if flag == name:
            found = value
    return found


def flag_on(value: str | None) -> bool:
    return value is not None and (value == "" or truthy(value))


def protect_kernel_defaults(config: dict[str, Any]) -> bool:
    """Protection comes from the profile or the flag, or kubelet-arg (docs/design.md "Facts")."""
    if profile_of(config) == "cis" or truthy(config.get("protect-kernel-defaults")):
        return True
    return flag_on(kubelet_arg(config, "protect-kernel-defaults"))


def active_swaps() -> list[str]:
    try:
        with open(SWAPS) as handle:
            return [line.split()[0] for line in handle.read().splitlines()[1:] if line.split()]
    except OSError:
        return []


def read_sysctl(key: str) -> str:
    with open(PROC_SYS + "/" + key.replace(".", "/")) as handle:
        return "\t".join(handle.read().split())


def in_file(path: str, name: str) -> bool:
    """RKE2 looks users and groups up in the files themselves (Go os/user, no NSS)."""
    try:
        with open(path) as handle:
            return any(line.split(":", 1)[0] == name for line in handle)
    except OSError:
        return False


def kernel_errors(expected: list[ExpectedParam]) -> list[str]:
    """RKE2's validateKernelReqs: the four CIS parameters, servers and agents alike."""
    errors: list[str] = []
    for param in expected:
        if param["rke2_cis_checked"]:
            actual = read_sysctl(param["key"])
            if actual != param["value"]:
                errors.append(
                    "invalid kernel parameter value {}={} - expected {}".format(
                        param["key"], actual, param["value"]
                    )
                )
    return errors


def etcd_errors(role: str) -> list[str]:
    """RKE2's validateETCDReqs: the etcd user and group, on servers only."""
    errors: list[str] = []
    if role == "server":
        if not in_file(ETC + "/passwd", "etcd"):
            errors.append("missing required: user: unknown user etcd")
        if not in_file(ETC + "/group", "etcd"):
            errors.append("missing required: group: unknown group etcd")
    return errors


def profile_errors(role: str, config: dict[str, Any], expected: list[ExpectedParam]) -> list[str]:
    """validateProfile's order: kernel (fatal), protect-kernel-defaults, then etcd."""
    profile = profile_of(config)
    if profile == "cis":
        errors = kernel_errors(expected)
        if errors:
            return errors
        pkd = config.get("protect-kernel-defaults")
        if pkd is not None and not truthy(pkd):
            return ["--protect-kernel-defaults must be true when using --profile=cis"]
        return etcd_errors(role)
    if profile == "etcd":
        return etcd_errors(role)
    if profile in ("", "none"):
        return []
    return ["invalid value provided for --profile flag"]


def kubelet_errors(expected: list[ExpectedParam]) -> list[str]:
    errors: list[str] = []
    for param in expected:
        actual = read_sysctl(param["key"])
        if actual != param["value"]:
            errors.append(
                "invalid kernel flag: {}, expected value: {}, actual value: {}".format(
                    param["key"].replace(".", "/"), param["value"], actual
                )
            )
    return errors


def notify_ready() -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1\nSTATUS=stand-in rke2 running\n")


class Health(http.server.BaseHTTPRequestHandler):
    """200 with kubelet's ``ok`` or etcd's ``{"health":"true"}`` on their paths."""

    def do_GET(self) -> None:
        bodies = {"/healthz": b"ok", "/health": b'{"health":"true","reason":""}'}
        body = bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_health(role: str) -> None:
    """kubelet's healthz (servers and agents) and, on servers, etcd's health."""
    ports = [KUBELET_PORT, ETCD_PORT] if role == "server" else [KUBELET_PORT]
    for port in ports:
        server = http.server.HTTPServer(("127.0.0.1", port), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else ""
    if role not in ("server", "agent"):
        say("usage: rke2 server|agent")
        return 2
    with open(EXPECTED) as handle:
        expected: list[ExpectedParam] = json.load(handle)
    config = load_config()
    errors = profile_errors(role, config, expected)
    if errors:
        for line in errors:
            say(f'level=fatal msg="{line}"')
            say(line)
        return 1
    swaps = active_swaps() if flag_on(kubelet_arg(config, "fail-swap-on")) else []
    if swaps:
        say(
            "running with swap on is not supported, please disable swap! or set "
            f"--fail-swap-on flag to false. /proc/swaps contained: {swaps}"
        )
        return 1
    if protect_kernel_defaults(config):
        errors = kubelet_errors(expected)
        if errors:
            os.makedirs(os.path.dirname(KUBELET_LOG), exist_ok=True)
            with open(KUBELET_LOG, "a") as log:
                for line in errors:
                    log.write(line + "\n")
            for line in errors:
                say(line)
            return 1
    seen = {p["key"]: read_sysctl(p["key"]) for p in expected}
    compliant = all(seen[p["key"]] == p["value"] for p in expected)
    say("saw " + " ".join("{}={}".format(*kv) for kv in sorted(seen.items())))
    say(
        "ready role={} profile={} protect={} compliant={} values={}".format(
            role,
            profile_of(config) or "none",
            protect_kernel_defaults(config),
            compliant,
            json.dumps(seen, sort_keys=True, separators=(",", ":")),
        )
    )
    if not ONESHOT:
        serve_health(role)
    notify_ready()
    while not ONESHOT:
        time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
