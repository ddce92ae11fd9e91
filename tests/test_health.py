"""Probes: /livez answers without dependencies, /readyz names what is unreachable, and the
Gateway's Serve health check is the same readiness check."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from actors.ring import LocalHandle
from deployments.backends import local_backends
from tests.conftest import serving, started

CLOSED_DATABASE = "postgresql://postgres@127.0.0.1:1/nothing"
CLOSED_REDIS = "redis://127.0.0.1:1/0"


class Broken:
    """A shard or ranker that fails (`hang=False`) or never answers (`hang=True`)."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang

    async def ping(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        raise ConnectionError("actor died")


def backends_with(*, shard: Broken | None = None, ranker: Broken | None = None):
    def factory(settings):
        backends = local_backends(settings)
        if shard is not None:
            backends.match_shards.handles[-1] = LocalHandle(shard)
        if ranker is not None:
            backends.ranker = LocalHandle(ranker)
        return backends

    return factory


def assert_not_ready(r, unreachable: list[str]) -> None:
    assert r.status_code == 503
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "not_ready"
    assert body["error"]["unreachable"] == unreachable
    assert all(name in body["error"]["message"] for name in unreachable)


async def test_livez_and_readyz_answer_200_with_every_dependency_up(client):
    live, ready = await client.get("/livez"), await client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"success": True, "status": "alive"})
    assert (ready.status_code, ready.json()) == (200, {"success": True, "status": "ready"})


async def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client_with):
    async with client_with(redis_url=CLOSED_REDIS) as http:
        assert_not_ready(await http.get("/readyz"), ["redis"])


async def test_readyz_is_503_naming_the_database_when_postgresql_is_unreachable(client_with):
    async with client_with(database_url=CLOSED_DATABASE) as http:
        assert_not_ready(await http.get("/readyz"), ["database"])


async def test_livez_answers_while_every_dependency_is_unreachable(client_with):
    async with client_with(database_url=CLOSED_DATABASE, redis_url=CLOSED_REDIS) as http:
        assert (await http.get("/livez")).status_code == 200
        assert_not_ready(await http.get("/readyz"), ["database", "redis"])


async def test_readyz_names_a_dead_shard_and_a_ranker_that_never_answers(settings):
    async with serving(settings, backends_with(shard=Broken(), ranker=Broken(hang=True))) as http:
        assert_not_ready(await http.get("/readyz"), ["shards", "ranker"])


async def test_health_stays_the_seeds_body_beside_the_new_probes(client_with):
    async with client_with(redis_url=CLOSED_REDIS) as http:
        r = await http.get("/health")
    assert r.status_code == 503
    assert r.json() == {"status": "unhealthy", "services": {"database": "up", "redis": "down", "backends": "local"}}


async def test_the_gateways_serve_health_check_is_the_readiness_check(settings):
    from deployments.serve_app import Gateway

    check_health = Gateway.func_or_class.check_health  # called on a stand-in: the constructor needs Ray
    async with started(settings) as app:
        assert await check_health(SimpleNamespace(fastapi_app=app)) is None
    async with started(settings.model_copy(update={"redis_url": CLOSED_REDIS}), backends_with(shard=Broken())) as app:
        with pytest.raises(RuntimeError, match="redis, shards"):
            await check_health(SimpleNamespace(fastapi_app=app))
