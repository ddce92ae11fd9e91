"""MatchShard: live chat state for many matches (being built)."""


class MatchShard:
    def __init__(self, shard_index: int, database_url: str) -> None:
        self.shard_index = shard_index
        self.database_url = database_url

    async def ping(self) -> int:
        return self.shard_index
