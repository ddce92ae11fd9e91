"""Start-up and shut-down of this domain's per-replica resources (being built)."""


async def on_startup(app) -> None:
    return None


async def on_shutdown(app) -> None:
    return None
