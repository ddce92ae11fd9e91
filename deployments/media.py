"""MediaProcessor: decodes and re-encodes uploaded images off the gateway (being built)."""


class MediaProcessor:
    async def ping(self) -> str:
        return "ok"
