"""Virtual actors: a fixed ring of shard actors addressed by a stable hash of a key.

A Ray actor is a whole worker process, so one actor per user or per match cannot scale.
Instead `count` named shards each host the state of many keys. Shards are detached (they
outlive the gateway replica that first created them) and restart on failure; their state
is a cache of PostgreSQL, reloaded lazily after a restart.

`ShardRing.local(...)` runs the same classes in-process with the same `.method.remote()`
call shape, so the FastAPI app runs unchanged under bare uvicorn in tests and baselines.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import uuid
from typing import Any

NAMESPACE = "dating"


def stable_hash(key: uuid.UUID | str) -> int:
    # Python's hash() is salted per process; shard routing must agree across replicas.
    return int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big")


class _LocalMethod:
    def __init__(self, method) -> None:
        self._method = method

    def remote(self, *args, **kwargs) -> asyncio.Future:
        result = self._method(*args, **kwargs)
        if inspect.isawaitable(result):
            return asyncio.ensure_future(result)
        future = asyncio.get_running_loop().create_future()
        future.set_result(result)
        return future


class LocalHandle:
    """An in-process object that answers `.method.remote(...)` like a Ray handle."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> _LocalMethod:
        return _LocalMethod(getattr(self._target, name))

    @property
    def target(self) -> Any:
        return self._target


class ShardRing:
    def __init__(self, handles: list[Any], name: str) -> None:
        if not handles:
            raise ValueError("a shard ring needs at least one shard")
        self.handles = handles
        self.name = name

    def __len__(self) -> int:
        return len(self.handles)

    def index_for(self, key: uuid.UUID | str) -> int:
        return stable_hash(key) % len(self.handles)

    def for_key(self, key: uuid.UUID | str) -> Any:
        return self.handles[self.index_for(key)]

    @classmethod
    def local(cls, actor_cls: type, count: int, name: str, **init_kwargs) -> ShardRing:
        return cls([LocalHandle(actor_cls(shard_index=i, **init_kwargs)) for i in range(count)], name)

    @classmethod
    def ray(cls, actor_cls: type, count: int, name: str, **init_kwargs) -> ShardRing:
        """Get or create the named, detached shard actors `name-0 .. name-(count-1)`."""
        import ray

        remote_cls = ray.remote(actor_cls)
        handles = []
        for i in range(count):
            handles.append(
                remote_cls.options(
                    name=f"{name}-{i}",
                    namespace=NAMESPACE,
                    lifetime="detached",
                    get_if_exists=True,
                    max_restarts=-1,
                    max_task_retries=3,
                    num_cpus=0,
                    max_concurrency=1000,
                ).remote(shard_index=i, **init_kwargs)
            )
        return cls(handles, name)
