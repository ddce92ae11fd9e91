"""The app's stateful collaborators, in-process or on Ray: the shard rings, the feed ranker and
the media processor. Everything is called as `await handle.method.remote(...)`, which works for
in-process objects (`LocalHandle`: tests, bare uvicorn) and for Ray actors and Serve handles
alike (`deployments.serve_app.Gateway` builds the Ray kind)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from actors.ring import LocalHandle, ShardRing
from kit.deps import part
from kit.settings import Settings


@dataclass
class Backends:
    """In-process (`local`) or Ray actors and deployments (`ray`)."""

    kind: str
    user_shards: ShardRing
    match_shards: ShardRing
    ranker: Any
    media: Any

    async def close(self) -> None:
        """Close in-process collaborators (their database pools); Ray actors outlive the app."""
        for handle in [*self.user_shards.handles, *self.match_shards.handles, self.ranker]:
            close = getattr(handle.target, "close", None) if isinstance(handle, LocalHandle) else None
            if close is not None:
                await close()


BackendsFactory = Callable[[Settings], Backends]


def local_backends(settings: Settings) -> Backends:
    # Imported here: the Ray kind never loads the in-process ranker's and processor's code.
    from actors.match_shard import MatchShard
    from actors.user_shard import UserShard
    from deployments.matching.ranker import FeedRanker
    from deployments.photos.processing import MediaProcessor

    return Backends(
        kind="local",
        user_shards=ShardRing.local(UserShard, settings.user_shards, "user-shard", database_url=settings.database_url),
        match_shards=ShardRing.local(MatchShard, settings.match_shards, "match-shard"),
        ranker=LocalHandle(FeedRanker(database_url=settings.database_url)),
        media=LocalHandle(MediaProcessor()),
    )


AppBackends = Annotated[Backends, Depends(part(Backends))]
