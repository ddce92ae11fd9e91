"""A domain's one registration point: `deployments/<domain>/domain.py` defines `DOMAIN`, and
`deployments/app.py` lists the domain's name once. The app includes its routers and runs its
hooks at start-up (in list order) and shut-down (in reverse)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter

from kit.resources import Resources

Hook = Callable[[Resources], Awaitable[None]]


@dataclass(frozen=True)
class Domain:
    name: str
    routers: tuple[APIRouter, ...] = ()
    on_startup: Hook | None = None  # builds the domain's part of `Resources` (connections, tasks)
    on_shutdown: Hook | None = None  # closes what on_startup opened
