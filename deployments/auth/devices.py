"""What the list of sessions shows about a device: a name and a coarse network, never an address."""

from __future__ import annotations

import ipaddress

DEVICE_NAME_MAX = 100
IPV4_NETWORK_PREFIX = 24  # a household or an office, not a person
IPV6_NETWORK_PREFIX = 48  # a site; a /64 is often one subscriber


def coarse_network(address: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) holding `address` (IPv4-mapped IPv6 as IPv4); None when it is
    not an address (a test client's name)."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_NETWORK_PREFIX if isinstance(ip, ipaddress.IPv4Address) else IPV6_NETWORK_PREFIX
    return str(ipaddress.ip_network((ip, prefix), strict=False))


def device_label(given: str | None, user_agent: str | None) -> str | None:
    """The client's own name for the device, else its User-Agent: printable, at most 100 characters."""
    for candidate in (given, user_agent):
        text = " ".join("".join(ch for ch in candidate or "" if ch.isprintable()).split())
        if text:
            return text[:DEVICE_NAME_MAX]
    return None
