"""Matching's part of a replica: what it learnt about the size of search areas (`FeedAreas`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from deployments.matching.service import FeedAreas
from kit.deps import part
from kit.resources import Resources


async def on_startup(resources: Resources) -> None:
    resources.add(FeedAreas())


Areas = Annotated[FeedAreas, Depends(part(FeedAreas))]
