"""render_node: the files a node gets, their modes, secrets and first-boot ordering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from rke2image import paths, resources
from rke2image.errors import RenderError, SecretError
from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.render import render_node
from rke2image.render.files import RenderedNode
from rke2image.spec.model import NodeSpec, TokenRef

MakeNode = Callable[..., NodeSpec]
SECRET = "K10-not-a-real-token::server:s3cr3t-VALUE"


def files_by_path(node: RenderedNode) -> dict[str, Any]:
    return {f.path: f for f in node.files}


def cloud_config(node: RenderedNode) -> dict[str, Any]:
    text = node.user_data.decode()
    assert text.startswith("#cloud-config\n")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def parse_sysctl_d(text: str) -> dict[str, str]:
    """Read a file as sysctl.d(5) says: '#'/';' comments, key = value, '/' or '.'."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment: {raw!r}"
        values[dotted(key.strip().lstrip("-"))] = value.strip()
    return values


def dotted(key: str) -> str:
    """sysctl.d(5): if the first separator is '/', dots and slashes are interchanged."""
    first = min((i for i in (key.find("/"), key.find(".")) if i >= 0), default=-1)
    if first >= 0 and key[first] == "/":
        return key.translate(str.maketrans("/.", "./"))
    return key


def test_every_node_path_and_mode(make_node: MakeNode) -> None:
    rendered = render_node(make_node())
    assert {f.path: f.mode for f in rendered.files} == {
        paths.SYSCTL_FILE: 0o644,
        paths.MODULES_FILE: 0o644,
        paths.PREFLIGHT: 0o755,
        paths.dropin_path("server"): 0o644,
        paths.RKE2_CONFIG: 0o600,
    }
    assert [f.path for f in rendered.files] == sorted(f.path for f in rendered.files)


def test_agent_gets_the_agent_drop_in(make_node: MakeNode) -> None:
    rendered = render_node(make_node(role="agent", cluster_init=False,
                                     server="https://cp.example.com:9345"))
    assert paths.dropin_path("agent") in files_by_path(rendered)
    assert cloud_config(rendered)["runcmd"][-1] == ["systemctl", "enable", "--now",
                                                     "rke2-agent.service"]


def test_preflight_is_the_template_verbatim_and_executable(make_node: MakeNode) -> None:
    script = files_by_path(render_node(make_node()))[paths.PREFLIGHT]
    assert script.content == resources.read_text("templates", "preflight.sh").encode()
    assert script.mode == 0o755


@pytest.mark.parametrize("extra", [{}, {"fs.inotify.max_user_instances": "8192",
                                        "net.ipv4.tcp_rmem": "4096\t87380\t6291456"}])
def test_sysctl_file_is_required_set_plus_spec(make_node: MakeNode, extra: dict[str, str]) -> None:
    node = make_node(sysctl=extra)
    text = files_by_path(render_node(node))[paths.SYSCTL_FILE].content.decode()
    expected = {p.key: p.value for p in REQUIRED_PARAMETERS} | extra
    assert parse_sysctl_d(text) == expected
    assert parse_sysctl_d(text) == node.effective_sysctl()


def test_modules_file_lists_the_modules(make_node: MakeNode) -> None:
    text = files_by_path(render_node(make_node(modules=("overlay", "br_netfilter", "nf_conntrack"))))[
        paths.MODULES_FILE].content.decode()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith(("#", ";"))]
    assert lines == ["overlay", "br_netfilter", "nf_conntrack"]


def dropin_exec(node: NodeSpec) -> list[str]:
    text = files_by_path(render_node(node))[paths.dropin_path(node.role)].content.decode()
    lines = [ln for ln in text.splitlines() if ln.startswith("ExecStartPre=")]
    assert len(lines) == 1
    return str(lines[0]).removeprefix("ExecStartPre=").split()


def test_drop_in_runs_the_preflight_in_the_spec_mode(make_node: MakeNode) -> None:
    for mode in ("remediate", "enforce", "warn"):
        words = dropin_exec(make_node(preflight_mode=mode))
        assert words[:3] == [paths.PREFLIGHT, "--mode", mode]
        assert "--sysctl-file" in words and paths.SYSCTL_FILE in words


@pytest.mark.parametrize(("role", "profile", "etcd"), [
    ("server", "cis", True), ("server", "etcd", True), ("server", "none", False),
    ("agent", "cis", False),
])
def test_etcd_user_checked_and_created_on_cis_and_etcd_servers(
    make_node: MakeNode, role: str, profile: str, etcd: bool
) -> None:
    node = make_node(role=role, profile=profile, cluster_init=role == "server",
                     server=None if role == "server" else "https://cp.example.com:9345")
    words = dropin_exec(node)
    assert ("--require-user" in words and "--require-group" in words) is etcd
    config = cloud_config(render_node(node))
    if etcd:
        assert config["groups"] == ["etcd"]
        assert config["users"][0] == "default"  # the distro's own user is kept
        user = config["users"][1]
        assert user["name"] == "etcd" and user["system"] is True
        assert user["primary_group"] == "etcd" and user["shell"].endswith("nologin")
    else:
        assert "users" not in config and "groups" not in config


@pytest.mark.parametrize(("kubelet_arg", "no_swap"), [
    (None, True), (["fail-swap-on=false"], False), (["--fail-swap-on=false"], False),
    ("fail-swap-on=false", False), (["fail-swap-on=true"], True), (["max-pods=200"], True),
])
def test_no_swap_unless_kubelet_allows_swap(make_node: MakeNode, kubelet_arg: Any,
                                            no_swap: bool) -> None:
    config = {} if kubelet_arg is None else {"kubelet-arg": kubelet_arg}
    assert ("--no-swap" in dropin_exec(make_node(rke2_config=config))) is no_swap


def test_drop_in_never_orders_after_cloud_final(make_node: MakeNode) -> None:
    for role in ("server", "agent"):
        node = make_node(role=role, cluster_init=False, server="https://cp.example.com:9345")
        text = files_by_path(render_node(node))[paths.dropin_path(role)].content.decode()
        directives = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        assert not any("cloud-final" in ln or "cloud-init" in ln for ln in directives)
        assert directives[0] == "[Unit]" and "[Service]" in directives


def test_user_data_writes_every_file_with_its_mode(make_node: MakeNode) -> None:
    rendered = render_node(make_node())
    written = {w["path"]: w for w in cloud_config(rendered)["write_files"]}
    assert set(written) == {f.path for f in rendered.files}
    for file in rendered.files:
        assert written[file.path]["content"].encode() == file.content
        assert written[file.path]["permissions"] == f"{file.mode:04o}"
        assert written[file.path]["owner"] == "root:root"


def test_runcmd_applies_kernel_settings_before_enabling_rke2(make_node: MakeNode) -> None:
    runcmd = cloud_config(render_node(make_node(preflight_mode="enforce")))["runcmd"]
    preflight = next(i for i, c in enumerate(runcmd) if isinstance(c, list) and c[0] == paths.PREFLIGHT)
    reload = runcmd.index(["systemctl", "daemon-reload"])
    enable = runcmd.index(["systemctl", "enable", "--now", "rke2-server.service"])
    assert runcmd[preflight][1:3] == ["--mode", "remediate"]
    assert preflight < reload < enable == len(runcmd) - 1
    install = runcmd[0]
    assert isinstance(install, str) and "get.rke2.io" in install
    assert install.startswith("if [ ! -x ") and "INSTALL_RKE2_TYPE=server" in install
    assert "INSTALL_RKE2_VERSION=v1.31.4+rke2r1" in install


def test_config_yaml_for_bootstrap_and_joiner(make_node: MakeNode) -> None:
    def config(node: NodeSpec) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(
            files_by_path(render_node(node))[paths.RKE2_CONFIG].content)
        return loaded

    first = config(make_node())
    assert "server" not in first and "cluster-init" not in first
    assert first == {"profile": "cis", "tls-san": ["cp.example.com"],
                     "token-file": "/etc/rancher/rke2/token"}
    joiner = config(make_node(name="cp-2", cluster_init=False, server="https://cp.example.com:9345",
                              profile="none"))
    assert joiner["server"] == "https://cp.example.com:9345" and "profile" not in joiner


def test_env_token_goes_only_into_0600_outputs(make_node: MakeNode) -> None:
    node = make_node(token=TokenRef(env="RKE2_TOKEN"))
    rendered = render_node(node, environ={"RKE2_TOKEN": SECRET})
    holding = [f for f in rendered.files if SECRET.encode() in f.content]
    assert [f.path for f in holding] == [paths.RKE2_CONFIG]
    assert holding[0].secret and holding[0].mode == 0o600
    assert SECRET.encode() in rendered.user_data
    assert rendered.user_data_secret and rendered.user_data_mode == 0o600
    assert yaml.safe_load(holding[0].content)["token"] == SECRET


def test_file_token_is_a_reference_and_not_secret(make_node: MakeNode) -> None:
    rendered = render_node(make_node(), environ={})
    assert not rendered.user_data_secret and rendered.user_data_mode == 0o644
    assert not any(f.secret for f in rendered.files)


@pytest.mark.parametrize("environ", [{}, {"RKE2_TOKEN": ""}, {"RKE2_TOKEN": "  "}])
def test_unset_env_token_fails_naming_the_variable(make_node: MakeNode,
                                                   environ: dict[str, str]) -> None:
    with pytest.raises(SecretError, match="RKE2_TOKEN") as caught:
        render_node(make_node(token=TokenRef(env="RKE2_TOKEN")), environ=environ)
    assert caught.value.exit_code == 2


def test_baked_holds_only_what_differs_per_node(make_node: MakeNode) -> None:
    node = make_node(name="cp-2", cluster_init=False, server="https://cp.example.com:9345")
    rendered = render_node(node, baked=True)
    assert [f.path for f in rendered.files] == [paths.RKE2_CONFIG]
    config = cloud_config(rendered)
    assert config["hostname"] == "cp-2"
    assert [w["path"] for w in config["write_files"]] == [paths.RKE2_CONFIG]
    content = yaml.safe_load(config["write_files"][0]["content"])
    assert content["server"] == "https://cp.example.com:9345"
    assert content["token-file"] == "/etc/rancher/rke2/token"
    assert content["tls-san"] == ["cp.example.com"]
    assert config["runcmd"] == [["systemctl", "enable", "--now", "rke2-server.service"]]
    assert "users" not in config and rendered.baked


def test_same_spec_same_bytes(make_node: MakeNode) -> None:
    assert render_node(make_node()) == render_node(make_node())
    shuffled = make_node(sysctl={"b.x": "1", "a.y": "2"}, rke2_config={"z": 1, "a": [2, 1]})
    ordered = make_node(sysctl={"a.y": "2", "b.x": "1"}, rke2_config={"a": [2, 1], "z": 1})
    assert render_node(shuffled) == render_node(ordered)


def test_unwritable_sysctl_value_is_a_render_error(make_node: MakeNode) -> None:
    with pytest.raises(RenderError):
        render_node(make_node(sysctl={"kernel.core_pattern": "x\nvm.overcommit_memory = 0"}))


def test_user_data_body_is_one_yaml_emission(make_node: MakeNode) -> None:
    # The cached, piecewise emission equals one plain emission of the whole mapping.
    from rke2image.render import escape

    text = render_node(make_node()).user_data.decode()
    body = "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("#"))
    assert body == escape._dump(yaml.safe_load(text))
