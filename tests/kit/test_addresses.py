"""Client addresses: forwarded headers count only from trusted proxies, the client is the rightmost
hop nobody trusted wrote, and per-address limits group IPv6 by /64."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kit.addresses import ClientAddress, TrustedProxies, address_key, parse_networks
from kit.settings import Settings

HAPROXY = TrustedProxies(parse_networks("127.0.0.1/32"))
BEHIND_LB = TrustedProxies(parse_networks("127.0.0.1/32, 10.0.0.0/8, 2001:db8:1::/48"))


async def seen_client(
    scope_type: str, peer: tuple[str, int], headers: list[tuple[bytes, bytes]], trusted: str
) -> tuple[str, int]:
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"]

    await ClientAddress(app, parse_networks(trusted))(
        {"type": scope_type, "client": peer, "headers": headers, "path": "/"}, None, None
    )
    return seen["client"]


def test_the_rightmost_untrusted_hop_is_the_client():
    assert BEHIND_LB.client("127.0.0.1", ["198.51.100.9, 203.0.113.5, 10.1.2.3"]) == "203.0.113.5"


def test_a_forged_leftmost_entry_is_ignored():
    # The client wrote 6.6.6.6; HAProxy (trusted peer) appended the address it really saw.
    assert HAPROXY.client("127.0.0.1", ["6.6.6.6, 127.5.0.1"]) == "127.5.0.1"


def test_header_lines_count_in_order_as_one_list():
    assert BEHIND_LB.client("127.0.0.1", ["6.6.6.6", "203.0.113.5", "10.0.0.7"]) == "203.0.113.5"


def test_an_untrusted_peers_headers_are_ignored():
    assert HAPROXY.client("127.5.0.1", ["6.6.6.6"]) == "127.5.0.1"
    # The whole of 127/8 is not trusted: any local client can bind 127.x.y.z.
    assert HAPROXY.client("127.0.0.2", ["6.6.6.6"]) == "127.0.0.2"


def test_nothing_is_trusted_by_default_so_the_peer_is_the_client():
    trusted = TrustedProxies(Settings().trusted_proxy_networks)
    assert trusted.client("127.0.0.1", ["6.6.6.6"]) == "127.0.0.1"


def test_a_trusted_client_of_the_edge_proxy_counts_as_itself():
    # HAProxy replaces the client's header with its peer: a client on 127.0.0.1 is 127.0.0.1.
    assert HAPROXY.client("127.0.0.1", ["127.0.0.1"]) == "127.0.0.1"


def test_junk_in_the_chain_stops_at_the_last_trusted_hop():
    assert BEHIND_LB.client("127.0.0.1", ["203.0.113.5, not-an-ip"]) == "127.0.0.1"
    assert BEHIND_LB.client("127.0.0.1", ["203.0.113.5, unknown, 10.0.0.7"]) == "10.0.0.7"


def test_ports_and_brackets_are_stripped_from_hops():
    assert BEHIND_LB.client("127.0.0.1", ["203.0.113.5:4711"]) == "203.0.113.5"
    assert BEHIND_LB.client("127.0.0.1", ["[2001:db8:2::1]:443"]) == "2001:db8:2::1"


def test_ipv4_mapped_addresses_are_their_ipv4_address():
    assert HAPROXY.client("::ffff:127.0.0.1", ["::ffff:203.0.113.5"]) == "203.0.113.5"
    assert HAPROXY.client("::ffff:198.51.100.1", []) == "198.51.100.1"
    assert address_key("::ffff:203.0.113.5") == "203.0.113.5"


def test_ipv6_clients_are_grouped_by_their_64():
    assert address_key("2001:db8:abcd:12::1") == address_key("2001:db8:abcd:12:ffff::9") == "2001:db8:abcd:12::/64"
    assert address_key("2001:db8:abcd:13::1") != address_key("2001:db8:abcd:12::1")
    assert address_key("203.0.113.5") == "203.0.113.5"
    # Behind a trusted IPv6 load balancer, the chosen client groups the same way.
    assert address_key(BEHIND_LB.client("2001:db8:1::7", ["2001:db8:9:1::42"])) == "2001:db8:9:1::/64"


@pytest.mark.parametrize("scope_type", ["http", "websocket"])
async def test_the_middleware_rewrites_http_and_websocket_scopes(scope_type):
    headers = [(b"x-forwarded-for", b"6.6.6.6, 127.5.0.1"), (b"x-real-ip", b"7.7.7.7"), (b"forwarded", b"for=8.8.8.8")]
    assert await seen_client(scope_type, ("127.0.0.1", 40000), headers, "127.0.0.1/32") == ("127.5.0.1", 0)
    assert await seen_client(scope_type, ("127.6.0.1", 40001), headers, "127.0.0.1/32") == ("127.6.0.1", 40001)
    assert await seen_client(scope_type, ("127.0.0.1", 40002), headers, "") == ("127.0.0.1", 40002)


def test_settings_refuse_a_leftover_trust_forwarded_for(monkeypatch):
    monkeypatch.setenv("TRUST_FORWARDED_FOR", "true")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "TRUSTED_PROXIES" in str(info.value)


def test_settings_refuse_a_trusted_proxy_that_is_not_an_address(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1/32, lb.internal")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "lb.internal" in str(info.value)
