"""The files that take the app to a cluster are valid, and name what the code really has."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_cluster_yaml_is_a_valid_ray_cluster_launcher_config():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml.safe_load((ROOT / "cluster.yaml").read_text()))
    validate_config(config)
    assert config["available_node_types"]["worker"]["max_workers"] > config["available_node_types"]["worker"]["min_workers"]
    assert any("serve deploy serve_config.yaml" in line for line in (ROOT / "cluster.yaml").read_text().splitlines())


def test_serve_config_points_at_the_real_builder_and_deployments():
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    [app] = config["applications"]
    module, _, attr = app["import_path"].partition(":")
    builder = getattr(importlib.import_module(module), attr)
    graph = builder(app.get("args", {}))
    names = {d["name"] for d in app["deployments"]}
    assert names == {"Gateway", "FeedRanker", "MediaProcessor"}
    assert graph is not None and app["args"]["user_shards"] >= 1 and app["args"]["match_shards"] >= 1


def test_serve_config_leaves_request_timeouts_to_the_app_so_websockets_are_not_cut():
    # Serve's direct ingress applies http_options.request_timeout_s to websocket connections
    # as well; the app's RequestTimeout middleware times out HTTP requests only.
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    assert "request_timeout_s" not in config.get("http_options", {})
