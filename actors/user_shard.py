"""UserShard: per-user state (like counters, recent swipes, who liked you) for many users (being built)."""


class UserShard:
    def __init__(self, shard_index: int, database_url: str) -> None:
        self.shard_index = shard_index
        self.database_url = database_url

    async def ping(self) -> int:
        return self.shard_index
