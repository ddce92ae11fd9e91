"""FeedRanker: scores feed candidates with numpy (being built)."""


class FeedRanker:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def ping(self) -> str:
        return "ok"
