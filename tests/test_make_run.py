"""`make run` as an operator starts it: every listener of the stack it starts is on loopback,
and SIGTERM stops all of it."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployments.raylocal import ROOT, free_port

pytestmark = pytest.mark.ray


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(proc.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _decode(hex_address: str) -> str:
    """/proc/net/tcp{,6} local address (host byte order per 32-bit word) to an IP string."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_sockets() -> dict[str, str]:
    """socket inode -> 'address:port' of every TCP listener on this machine."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                address, port = fields[1].split(":")
                found[fields[9]] = f"{_decode(address)}:{int(port, 16)}"
    return found


def listeners_of(pids: set[int]) -> dict[str, int]:
    """'address:port' -> pid for the listeners these processes hold."""
    sockets, held = listening_sockets(), {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in sockets:
                held[sockets[link[8:-1]]] = pid
    return held


def is_loopback(endpoint: str) -> bool:
    ip = ipaddress.ip_address(endpoint.rsplit(":", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("make-run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "HOST", "PORT"}}
    env.update(PORT=str(port), DATA_DIR=str(data), APP_ENV="development")
    log = (data / "run.log").open("w")
    run = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_ready(run, data / "run.log")
    except BaseException:
        _stop(run, descendants(run.pid))
        raise
    stack = descendants(run.pid)
    yield run
    _stop(run, stack | descendants(run.pid))


def _wait_ready(run: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while "Ready on" not in log.read_text():
        assert run.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(1)
    time.sleep(5)  # Serve settles its HAProxy and replicas after the first healthy answer


def _stop(run: subprocess.Popen, stack: set[int]) -> None:
    """End what a failed test left running: the Ray head runs in its own session, so killing the
    command's process group alone would leave it (and its ports) behind."""
    if run.poll() is None:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(timeout=90)
        except subprocess.TimeoutExpired:
            run.kill()
    for pid in stack:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_every_listener_make_run_starts_is_on_loopback(make_run):
    held = listeners_of(descendants(make_run.pid))
    assert len(held) >= 10, held  # GCS, raylet, workers, dashboard, HAProxy, replicas, ...
    assert {endpoint for endpoint in held if not is_loopback(endpoint)} == set()


def test_sigterm_stops_the_whole_stack(make_run):
    stack = descendants(make_run.pid)
    make_run.send_signal(signal.SIGTERM)
    assert make_run.wait(timeout=120) == 0
    time.sleep(2)
    assert {pid for pid in stack if Path(f"/proc/{pid}").exists()} == set()
