"""The files that take the app to a cluster are valid, and name what the code really has."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from kit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMMAND_LISTS = (
    "initialization_commands",
    "setup_commands",
    "head_setup_commands",
    "worker_setup_commands",
    "head_start_ray_commands",
    "worker_start_ray_commands",
)
ENV_MOUNT, TOKEN_MOUNT = "/home/ubuntu/.dating/dating.env", "/home/ubuntu/.ray/auth_token"


def _cluster() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def _commands(config: dict, *lists: str) -> list[str]:
    return [command for name in (lists or COMMAND_LISTS) for command in config.get(name) or []]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / "deploy" / "dating.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            [values[key.strip()]] = shlex.split(value) or [""]
    return values


def test_cluster_yaml_is_a_valid_ray_cluster_launcher_config():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((ROOT / "cluster.yaml").read_text()))
    validate_config(config)
    assert (
        config["available_node_types"]["worker"]["max_workers"]
        > config["available_node_types"]["worker"]["min_workers"]
    )
    assert any("python -m deployments.cli deploy" in line for line in (ROOT / "cluster.yaml").read_text().splitlines())


def test_serve_config_points_at_the_real_builder_and_deployments():
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    [app] = config["applications"]
    module, _, attr = app["import_path"].partition(":")
    builder = getattr(importlib.import_module(module), attr)
    graph = builder(app.get("args", {}))
    names = {d["name"] for d in app["deployments"]}
    assert names == {"Gateway", "FeedRanker", "MediaProcessor", "PushDispatcher"}
    assert graph is not None and app["args"]["user_shards"] >= 1 and app["args"]["match_shards"] >= 1


def test_serve_config_leaves_request_timeouts_to_the_app_so_websockets_are_not_cut():
    # Serve's direct ingress applies http_options.request_timeout_s to websocket connections
    # as well; the app's RequestTimeout middleware times out HTTP requests only.
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    assert "request_timeout_s" not in config.get("http_options", {})


def test_cluster_commands_never_expand_secrets_from_the_launchers_environment():
    # Commands run on the node, where "$DATABASE_URL" and friends are empty; only what Ray sets there may be read.
    for command in _commands(_cluster()):
        assert set(re.findall(r"\$\{?([A-Za-z_]\w*)", command)) <= {"RAY_HEAD_IP"}, command


def test_secrets_arrive_as_uncommitted_files_and_are_private_before_first_use():
    config = _cluster()
    assert config["file_mounts"][ENV_MOUNT] == "deploy/dating.env"
    assert config["file_mounts"][TOKEN_MOUNT] == "deploy/ray_auth_token"
    for secret in ("deploy/dating.env", "deploy/ray_auth_token"):
        assert subprocess.run(["git", "check-ignore", "-q", secret], cwd=ROOT).returncode == 0
        assert secret in config["rsync_exclude"]  # not also in the world-readable project copy
    setup = config["setup_commands"]
    assert setup[0].startswith("chmod 700 ~/.dating ~/.ray && chmod 600 ~/.dating/dating.env ~/.ray/auth_token")
    [writer] = [c for c in setup if "> ~/dating.env" in c]
    assert "umask 077" in writer and "cat ~/.dating/dating.env" in writer and "chmod 600 ~/dating.env" in writer
    assert "APP_ENV=production" in writer.split("cat ~/.dating/dating.env")[1]  # after the operator's lines: wins
    readers = [i for i, c in enumerate(setup) if "dating.env" in c]
    assert readers[0] == 0


def test_token_authentication_is_on_for_every_ray_start():
    config = _cluster()
    starts = [c for c in _commands(config, "head_start_ray_commands", "worker_start_ray_commands") if "ray start" in c]
    assert len(starts) == 2 and all("RAY_AUTH_MODE=token" in c for c in starts)
    assert any("--head" in c for c in starts) and any("--address=$RAY_HEAD_IP" in c for c in starts)
    # the CLI on the node (serve deploy, ray status) sources the env file and so uses the token too
    assert any("RAY_AUTH_MODE=token" in c and "> ~/dating.env" in c for c in config["setup_commands"])
    assert TOKEN_MOUNT in config["file_mounts"]


def test_the_dashboard_listens_on_the_heads_loopback_only():
    [head] = [c for c in _commands(_cluster(), "head_start_ray_commands") if "ray start" in c]
    assert "--dashboard-host=127.0.0.1" in head
    assert all("--dashboard-host" not in c for c in _commands(_cluster(), "worker_start_ray_commands"))


def test_nodes_use_the_operators_security_group_so_the_launcher_opens_no_ports():
    # Without SecurityGroupIds Ray's AWS launcher creates a group with SSH open to 0.0.0.0/0.
    config = _cluster()
    assert "security_group" not in config["provider"]
    for node_type in config["available_node_types"].values():
        assert node_type["node_config"]["SecurityGroupIds"]


def test_every_key_of_the_env_example_is_a_setting_and_together_they_pass_production():
    example = _env_example()
    assert {key.lower() for key in example} <= set(Settings.model_fields), set(example)
    settings = Settings(
        _env_file=None, **{k.lower(): v for k, v in example.items()}, app_env="production", host="0.0.0.0"
    )
    assert settings.stripe_webhook_secret and settings.sms_provider == "twilio"


def test_cluster_deploy_binds_serve_to_host_from_settings(tmp_path):
    from deployments.raylocal import derived_serve_config

    example = {k.lower(): v for k, v in _env_example().items()}
    settings = Settings(_env_file=None, **example, app_env="production", host="0.0.0.0")
    written = yaml.safe_load(derived_serve_config(settings, tmp_path / "serve.yaml").read_text())
    assert written["http_options"]["host"] == "0.0.0.0"
    assert yaml.safe_load((ROOT / "serve_config.yaml").read_text())["http_options"]["host"] == "127.0.0.1"


def test_cluster_deploy_refuses_a_reachable_host_in_development(monkeypatch, capsys):
    from deployments import cli

    for name in ("APP_ENV", "ALLOW_INSECURE_DEV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOST", "0.0.0.0")
    with pytest.raises(SystemExit) as info:
        cli.main(["deploy"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "APP_ENV=production" in err and "ALLOW_INSECURE_DEV=1" in err
