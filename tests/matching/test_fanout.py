"""How a feed request is spread over FeedRanker calls: one call for a small area, one call
per partition (merged) for an area known to hold many profiles."""

from __future__ import annotations

import pytest

from deployments.backends import Backends
from tests.matching.conftest import here, ids


class CountingRanker:
    """Wraps the in-process ranker handle and records the partitioning of every scoring call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[int, int]] = []
        self.rank_partition = self

    def remote(self, viewer, **kwargs):
        self.calls.append((kwargs["partition"], kwargs["partitions"]))
        return self.inner.rank_partition.remote(viewer, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def ranker_calls(app):
    counting = CountingRanker(app.state.resources.get(Backends).ranker)
    app.state.resources.get(Backends).ranker = counting
    yield counting.calls
    app.state.resources.get(Backends).ranker = counting.inner


async def test_a_small_area_is_scored_in_one_ranker_call(member, feed, settings, ranker_calls):
    settings.feed_partitions = 3
    viewer = await member()
    nearby = [await member(location=here(40.72 + i * 0.01, -74.0)) for i in range(3)]
    assert sorted(ids(await feed(viewer))) == sorted(m.id for m in nearby)
    assert sorted(ids(await feed(viewer))) == sorted(m.id for m in nearby)
    assert ranker_calls == [(0, 1), (0, 1)]


async def test_a_large_area_is_split_over_the_partitions_once_its_size_is_known(member, feed, settings, ranker_calls):
    settings.feed_partitions, settings.feed_split_min_candidates = 3, 4
    viewer = await member()
    for i in range(6):
        await member(location=here(40.72 + i * 0.01, -74.0), interests=["jazz"] if i % 2 else ["golf"])
    first = ids(await feed(viewer))  # size unknown yet: one call, which reports 7 profiles in the area
    assert ranker_calls == [(0, 1)]
    assert ids(await feed(viewer)) == first and len(first) == 6  # split, merged to the same order
    assert sorted(ranker_calls[1:]) == [(0, 3), (1, 3), (2, 3)]
