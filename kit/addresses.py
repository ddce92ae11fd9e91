"""Client addresses as rate limits see them.

`ClientAddress` makes `scope["client"]` the real client for HTTP and websocket scopes, so
`request.client.host` / `websocket.client.host` are true everywhere. `X-Forwarded-For` is read
only when the TCP peer is a trusted proxy (`TRUSTED_PROXIES`), and then from the right: each
proxy appends the address it saw, so the rightmost address that is not a trusted proxy is the
first hop nobody trusted wrote; everything left of it the client may have made up.
`Forwarded` and `X-Real-IP` are never read.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

IPV6_GROUP_PREFIX = 64  # one home or phone gets a whole /64: counting single v6 addresses is no limit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_key(address: str) -> str:
    """The subject a per-address limit counts: the IPv4 address, or the IPv6 /64 it lies in
    (IPv4-mapped IPv6 counts as its IPv4 address). Anything unparsable counts as itself."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_GROUP_PREFIX), strict=False))
    return str(ip)


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """`"127.0.0.1/32, 10.0.0.0/8"` (or a list of the same) as networks; a bare address is its /32
    or /128. Raises ValueError naming the entry that is not an address or network."""
    items = value.split(",") if isinstance(value, str) else value
    networks = []
    for item in filter(None, (i.strip() for i in items)):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_ip(value: str) -> IPAddress | None:
    """An address as a peer or one `X-Forwarded-For` hop writes it: `1.2.3.4`, `1.2.3.4:5678`,
    `::1`, `[::1]` or `[::1]:80`. IPv4-mapped IPv6 is its IPv4 address. None if unparsable."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """The networks whose forwarded headers are believed, and the choice of the client address."""

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self.networks = tuple(networks)
        self._trusts = functools.lru_cache(maxsize=4096)(self._compute)

    def _compute(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def trusts(self, ip: IPAddress | None) -> bool:
        return ip is not None and self._trusts(ip)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client address for a connection from `peer` carrying these `X-Forwarded-For`
        values (header lines in order). An untrusted peer is the client, whatever it wrote.
        From a trusted peer, walk the hops from the right past trusted proxies: the first
        untrusted hop is the client. A hop that is not an address stops the walk at the last
        trusted address (a proxy passed on junk it did not check), as do all-trusted chains."""
        last = parse_ip(peer)
        if not self.trusts(last):
            return str(last) if last is not None else peer
        hops = [hop for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            ip = parse_ip(hop)
            if ip is None:
                break
            last = ip
            if not self.trusts(ip):
                break
        return str(last)


class ClientAddress:
    """ASGI middleware: `scope["client"]` becomes the client `TrustedProxies` chooses, for HTTP
    and websocket scopes alike (outermost, so every other layer sees the true address)."""

    def __init__(self, app: Any, trusted_proxies: Iterable[IPNetwork]) -> None:
        self.app = app
        self.proxies = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            host, port = scope["client"]
            forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            client = self.proxies.client(host, forwarded)
            if client != host:
                scope["client"] = (client, port if client == str(parse_ip(host)) else 0)
        await self.app(scope, receive, send)
