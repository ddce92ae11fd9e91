"""The Ray Serve application: every Serve deployment, in one place.

- `Gateway`: the FastAPI app (`deployments.app.create_app`) on every replica, HTTP and websocket ingress;
- `FeedRanker`: the feed's candidate index and scoring (`deployments.matching.ranker`);
- `MediaProcessor`: photo decoding and re-encoding (`deployments.photos.processing`).
- `PushDispatcher`: the push outbox's delivery loop (`deployments.push.dispatcher`).

`serve_config.yaml` points at `build_app` and is the one place that sets replicas,
resources and shard counts; this module only says how the pieces connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from actors.match_shard import MatchShard
from actors.ring import ShardRing
from actors.user_shard import UserShard
from deployments.app import create_app
from deployments.backends import Backends
from deployments.health import readiness
from deployments.matching.ranker import FeedRanker
from deployments.photos.processing import MediaProcessor
from kit.resources import resources_of
from kit.settings import Settings, get_settings

# Serve counts an open websocket as an ongoing request for its whole life, and a replica at
# its limit queues every new socket *and* HTTP request until a socket closes. So the limit is
# "sockets plus requests one replica may hold", not a concurrency knob (serve_config.yaml sets
# it; this default covers drivers that deploy without the file).
GATEWAY_MAX_ONGOING = 10_000


@serve.deployment(name="Gateway", max_ongoing_requests=GATEWAY_MAX_ONGOING)
@serve.ingress()
class Gateway:
    """HTTP and websocket ingress. Stateless: any replica serves any user."""

    def __init__(
        self,
        ranker: DeploymentHandle,
        media: DeploymentHandle,
        user_shards: int,
        match_shards: int,
        push: DeploymentHandle | None = None,  # bound so the app deploys it; the gateway never calls it
    ) -> None:
        _decline_permessage_deflate()
        _internal_grpc_on_loopback()
        self.ranker = ranker
        self.media = media
        self.user_shards = user_shards
        self.match_shards = match_shards

    def _backends(self, settings: Settings) -> Backends:
        return Backends(
            kind="ray",
            user_shards=ShardRing.ray(UserShard, self.user_shards, "user-shard", database_url=settings.database_url),
            match_shards=ShardRing.ray(MatchShard, self.match_shards, "match-shard"),
            ranker=self.ranker,
            media=self.media,
        )

    def __serve_build_asgi_app__(self) -> Any:
        # Not `self.app`: Serve's ingress wrapper defines that read-only property.
        self.fastapi_app = create_app(get_settings(), backends=self._backends)
        return self.fastapi_app

    async def check_health(self) -> None:
        """Serve's replica check (every `health_check_period_s`, serve_config.yaml) is `/readyz`'s:
        Serve restarts a replica after three failures in a row, and a new one must pass it first."""
        failed = await readiness(resources_of(self.fastapi_app))
        if failed:
            raise RuntimeError("Gateway not ready: unreachable " + ", ".join(failed))


def _decline_permessage_deflate() -> None:
    """Make this replica's HTTP server (uvicorn, started by Serve after this constructor, with
    no option for it) decline the permessage-deflate websocket extension. Chat frames are a
    few hundred bytes: compressing them costs CPU on both ends for little gain (a few % of a
    gateway's samples under chat load), and each compressed connection holds zlib state."""
    import uvicorn

    if getattr(uvicorn.Config, "declines_permessage_deflate", False):
        return

    class Config(uvicorn.Config):
        declines_permessage_deflate = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("ws_per_message_deflate", False)
            super().__init__(*args, **kwargs)

    uvicorn.Config = Config


def _internal_grpc_on_loopback() -> None:
    """On one machine (`make run` runs Ray in its single-machine mode, node address 127.0.0.1),
    bind the inter-deployment gRPC server Serve opens in each replica (after this constructor) to
    loopback: Ray hard-codes every interface for it. On a cluster other nodes must reach it, so
    it is left alone there."""
    if os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        return
    from ray.serve._private import replica

    bind = replica.add_port_to_grpc_server
    if getattr(bind, "loopback_only", False):
        return

    def bind_loopback(server: Any, address: str) -> int:
        return bind(server, "127.0.0.1:0" if address == "[::]:0" else address)

    bind_loopback.loopback_only = True  # type: ignore[attr-defined]
    replica.add_port_to_grpc_server = bind_loopback


@serve.deployment(name="FeedRanker")
class ServedFeedRanker(FeedRanker):
    """FeedRanker reading its settings on the replica (the builder may run on another node)."""

    def __init__(self) -> None:
        _internal_grpc_on_loopback()
        super().__init__(database_url=get_settings().database_url)


@serve.deployment(name="MediaProcessor")
class ServedMediaProcessor(MediaProcessor):
    """MediaProcessor at a lower CPU priority than the gateway: when both want the same cores,
    feed, chat and profile requests win and image work waits (it is batch work, seconds long)."""

    def __init__(self, niceness: int = 4) -> None:
        _internal_grpc_on_loopback()
        with contextlib.suppress(OSError):
            os.nice(niceness)
        super().__init__()


@serve.deployment(name="PushDispatcher", ray_actor_options={"num_cpus": 0.25})
class ServedPushDispatcher:
    """Drains the push outbox (`deployments.push.dispatcher`) on its own replicas, off the
    gateways: any number of them share the outbox (rows are claimed with SKIP LOCKED)."""

    def __init__(self) -> None:
        _internal_grpc_on_loopback()
        from deployments.push.lifecycle import build_dispatcher
        from deployments.push.presence import Presence
        from kit.db import LazyPool
        from kit.redis import make_redis

        self.settings = get_settings()
        self.pool = LazyPool(self.settings.database_url, max_size=4)
        self.dispatcher = build_dispatcher(self.settings, self.pool, Presence(make_redis(self.settings.redis_url)))
        self.loop_task: asyncio.Task | None = None
        with contextlib.suppress(RuntimeError):  # no running loop yet: the first health check starts it
            self._start()

    def _start(self) -> None:
        if self.loop_task is None or self.loop_task.done():
            interval = self.settings.push_dispatch_interval_s or 1.0
            self.loop_task = asyncio.get_running_loop().create_task(self.dispatcher.run_forever(interval))

    async def check_health(self) -> None:
        self._start()

    async def ping(self) -> bool:
        self._start()
        return True


def build_app(args: dict[str, Any]) -> serve.Application:
    """Application builder named by serve_config.yaml (`import_path: deployments.serve_app:build_app`)."""
    ranker = ServedFeedRanker.bind()
    media = ServedMediaProcessor.bind(int(args.get("media_niceness", 4)))
    push = ServedPushDispatcher.bind()
    return Gateway.bind(ranker, media, int(args.get("user_shards", 4)), int(args.get("match_shards", 4)), push)
