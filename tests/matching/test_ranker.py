"""The numpy candidate index on its own: the documented score, partitions, interest bitsets."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest

from deployments.matching.ranker import CandidateIndex, ymd

TODAY = ymd(date.today())


def record(
    lat: float = 40.7128,
    lon: float = -74.0060,
    interests=(),
    active_hours_ago: float = 0.0,
    has_photo: bool = False,
    **overrides,
) -> dict:
    rec = {
        "id": str(uuid.uuid4()),
        "latitude": lat,
        "longitude": lon,
        "birth_date": date(1995, 1, 1),
        "gender": "female",
        "show_me": "everyone",
        "age_min": 18,
        "age_max": 99,
        "max_distance": 50,
        "active": time.time() - active_hours_ago * 3600,
        "has_photo": has_photo,
        "interests": list(interests),
        "eligible": True,
    }
    rec.update(overrides)
    return rec


def viewer(**overrides) -> dict:
    spec = {
        "id": str(uuid.uuid4()),
        "latitude": 40.7128,
        "longitude": -74.0060,
        "age": 30,
        "gender": "male",
        "show_me": "everyone",
        "age_min": 18,
        "age_max": 99,
        "max_distance": 50,
        "interests": [],
        "liked_by": [],
    }
    spec.update(overrides)
    return spec


def build(*records: dict) -> CandidateIndex:
    index = CandidateIndex(grid_km=1.0, capacity=2)  # tiny capacity: growth is exercised too
    for rec in records:
        index.upsert(rec)
    index.rebuild_order()
    return index


def rank(
    index: CandidateIndex, spec: dict, partition: int = 0, partitions: int = 1, limit: int = 50, exclude=()
) -> list[dict]:
    return index.rank(spec, partition, partitions, limit, exclude, time.time(), TODAY)["candidates"]


def test_the_score_is_the_documented_formula():
    rec = record(interests=["a", "b"], active_hours_ago=48, has_photo=True)
    index = build(rec)
    [cand] = rank(index, viewer(interests=["a", "b", "c"], liked_by=[rec["id"]]))
    expected = 0.30 * 1.0 + 0.25 * 2 / 5 + 0.20 * 0.5 + 0.10 + 0.15  # same cell: distance 0
    assert cand["score"] == pytest.approx(expected, abs=1e-5)
    assert cand["mutual"] == 2 and cand["distance_km"] == 1


def test_partitions_split_the_candidates_without_overlap_or_loss():
    records = [record(lat=40.70 + i * 0.002) for i in range(60)]
    index = build(*records)
    spec = viewer()
    whole = {c["id"] for c in rank(index, spec, limit=100)}
    parts = [{c["id"] for c in rank(index, spec, p, 4, limit=100)} for p in range(4)]
    assert set().union(*parts) == whole and sum(map(len, parts)) == len(whole) == 60
    assert all(parts)  # every partition got some work


def test_excluded_ids_and_removed_rows_are_skipped():
    a, b, c = record(), record(), record()
    index = build(a, b, c)
    index.upsert({**c, "eligible": False})
    index.rebuild_order()
    assert [x["id"] for x in rank(index, viewer(), exclude=[a["id"]])] == [b["id"]]


def test_more_than_64_interests_use_wider_bitsets():
    many = [f"interest-{i}" for i in range(150)]
    rec = record(interests=many)
    index = build(record(interests=["x"]), rec)
    best = rank(index, viewer(interests=["interest-149", "interest-70", "interest-1"]))[0]
    assert best["id"] == rec["id"] and best["mutual"] == 3


def test_a_move_is_applied_in_place():
    rec = record()
    index = build(rec)
    index.upsert({**rec, "latitude": 51.5, "longitude": -0.12})
    index.rebuild_order()
    assert rank(index, viewer()) == [] and len(index) == 1


def test_upsert_asks_for_a_new_order_only_when_a_row_moves_or_returns():
    rec = record(interests=["jazz"])
    index = build(rec)
    assert index.upsert({**rec, "interests": ["golf"], "active": time.time()}) is False  # stays in place
    assert index.upsert({**rec, "latitude": 51.5}) is True  # moved
    assert index.upsert({**rec, "eligible": False}) is False  # masked, not reordered
    assert index.upsert(rec) is True  # back again
    assert index.upsert(record()) is True  # a new row


def test_an_incremental_refresh_keeps_the_feed_exact_without_a_full_reorder():
    from deployments.matching.ranker import FeedRanker

    near, mover, newcomer = record(), record(), record(lat=40.75)
    ranker = FeedRanker("", grid_km=1.0)
    ranker.index = build(near, mover)
    ranker._apply([{**near, "interests": ["jazz"]}])  # an edit in place
    assert {c["id"] for c in rank(ranker.index, viewer())} == {near["id"], mover["id"]}
    ranker._apply([{**mover, "latitude": 51.5, "longitude": -0.12}, newcomer])
    assert {c["id"] for c in rank(ranker.index, viewer())} == {near["id"], newcomer["id"]}
