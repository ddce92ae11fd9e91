"""What every request pays, kept from creeping back (the figures themselves live in `make bench`)."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute, APIWebSocketRoute

from deployments import health
from deployments.app import domains


def _runs_in_thread_pool(call) -> bool:
    """FastAPI runs a plain `def` dependency or endpoint in its thread pool: a thread hop each time."""
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target))


def _calls(dependant):
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def test_no_route_or_dependency_hops_to_the_thread_pool():
    routers = [health.router, *(router for domain in domains() for router in domain.routers)]
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute | APIWebSocketRoute)]
    assert routes
    threaded = {
        f"{c.__module__}.{getattr(c, '__qualname__', type(c).__qualname__)}"
        for r in routes
        for c in (r.dependant.call, *_calls(r.dependant))
        if _runs_in_thread_pool(c)
    }
    assert threaded == set(), "make these `async def` (they do not block)"
