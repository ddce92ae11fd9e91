"""haproxy_edge: the config Ray's installed Serve renders for HAProxy, edited so the edge sets
X-Forwarded-For to the peer and keeps its stats ports local, is still valid for the bundled HAProxy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deployments import haproxy_edge


@pytest.fixture(scope="module")
def ray_config(tmp_path_factory) -> str:
    from ray.serve._private.haproxy import HAProxyApi, HAProxyConfig
    from ray.serve.config import HTTPOptions

    d = tmp_path_factory.mktemp("haproxy")
    cfg = HAProxyConfig(
        http_options=HTTPOptions(host="127.0.0.1", port=18123),
        socket_path=str(d / "admin.sock"),
        server_state_base=str(d),
        server_state_file=str(d / "state"),
        metrics_socket_path=str(d / "metrics.sock"),
    )
    HAProxyApi(cfg=cfg, config_file_path=str(d / "haproxy.cfg"))._generate_config_file_internal()
    return (d / "haproxy.cfg").read_text()


def haproxy_accepts(config: str, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "edge.cfg").write_text(config)
    return subprocess.run(
        [haproxy_edge.real_binary(), "-c", "-f", str(tmp_path / "edge.cfg")], capture_output=True, text=True, timeout=60
    )


def section(config: str, name: str) -> list[str]:
    lines = config.splitlines()
    start = lines.index(name)
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    return [line.strip() for line in lines[start + 1 : end]]


def test_the_edge_replaces_the_clients_forwarded_for_and_binds_stats_to_loopback(ray_config, tmp_path):
    assert "forwardfor" not in ray_config and "X-Forwarded-For" not in ray_config  # what Ray gives us
    edited = haproxy_edge.rewrite(ray_config, [])
    frontend = section(edited, "frontend http_frontend")
    assert frontend[0] == "bind 127.0.0.1:18123"
    assert "http-request set-header X-Forwarded-For %[src]" in frontend
    assert not any("add-header X-Forwarded-For" in line for line in frontend)
    assert section(edited, "frontend prometheus")[0].startswith("bind 127.0.0.1:")
    assert section(edited, "listen stats")[0].startswith("bind 127.0.0.1:")
    assert haproxy_edge.rewrite(edited, []) == edited  # a reload of the same file edits nothing twice
    checked = haproxy_accepts(edited, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_behind_an_upstream_proxy_haproxy_appends_for_it_only(ray_config, tmp_path):
    edited = haproxy_edge.rewrite(ray_config, ["10.0.0.0/8", "2001:db8::/32"])
    frontend = section(edited, "frontend http_frontend")
    assert "acl from_upstream_proxy src 10.0.0.0/8 2001:db8::/32" in frontend
    assert "http-request set-header X-Forwarded-For %[src] if !from_upstream_proxy" in frontend
    assert "http-request add-header X-Forwarded-For %[src] if from_upstream_proxy" in frontend
    checked = haproxy_accepts(edited, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_a_config_without_the_http_frontend_is_refused():
    with pytest.raises(SystemExit) as info:
        haproxy_edge.rewrite("global\n    maxconn 10\n", [])
    assert "client addresses" in str(info.value)
