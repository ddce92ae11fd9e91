"""FeedRanker: a compact in-memory numpy index of feed candidates, scored per request.

Runs in-process (tests, bare uvicorn: wrapped by `actors.ring.LocalHandle`) or as the Ray
Serve deployment `FeedRanker` with several replicas. Every replica holds the whole index
(about 100 bytes per profile) and scores only the partition it is asked for, so the gateway
fans out P concurrent calls that Serve spreads over the replicas and merges their top lists.

The index is a cache of PostgreSQL: loaded in full at start and every `full_reload_s` (in a
thread, then swapped in), and between those refreshed incrementally every `refresh_interval_s` from the rows whose
profile, user, photos or interests changed after a watermark, so an edit shows up in feeds
within a few seconds. Per-viewer exclusions (swipes, blocks, matches) are not in the index;
the gateway passes them with each call.

Score (each term in [0, 1], weights sum to 1, so the score is in [0, 1]):

    score = 0.30 * (1 - distance_km / viewer.max_distance)      closer is better
          + 0.25 * min(mutual_interests, 5) / 5                 shared interests, capped at 5
          + 0.20 * 0.5 ** (hours_since_last_active / 48)        recent activity, 48 h half-life
          + 0.10 * has_photo                                    at least one photo
          + 0.15 * liked_viewer                                 already liked the viewer

`distance_km` is measured between grid-snapped locations (see `geo`); ties break on a
stable hash of the candidate id so the order is deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import date, timedelta

import asyncpg
import numpy as np

from actors.ring import stable_hash
from deployments.matching.geo import KM_PER_DEG_LAT, haversine_radians, snap
from kit.db import LazyPool
from models.profile import complete_sql

log = logging.getLogger("app.matching.ranker")

GENDERS = {"male": 0, "female": 1, "non_binary": 2, "other": 3}
SHOW_ME = {"men": 0, "women": 1, "everyone": 2}
WEIGHTS = {"distance": 0.30, "interests": 0.25, "activity": 0.20, "photo": 0.10, "liked_viewer": 0.15}
MUTUAL_CAP = 5
ACTIVITY_HALF_LIFE_H = 48.0
WATERMARK_OVERLAP_S = 10.0  # re-read recent changes: a transaction may commit after its now()

_ROW_SQL = f"""
SELECT u.id::text AS id, p.latitude, p.longitude, p.birth_date, p.gender, p.show_me,
       p.age_min, p.age_max, p.max_distance,
       coalesce(extract(epoch FROM u.last_active_at), 0)::float8 AS active,
       EXISTS (SELECT 1 FROM profile_photos ph WHERE ph.user_id = u.id) AS has_photo,
       ARRAY(SELECT i.interest_name FROM user_interests i WHERE i.user_id = u.id) AS interests,
       ({complete_sql("p")} AND p.discoverable
        AND u.banned_at IS NULL AND u.hidden_at IS NULL AND u.deleted_at IS NULL) AS eligible
FROM users u JOIN user_profiles p ON p.user_id = u.id
"""
_FULL_SQL = f"SELECT * FROM ({_ROW_SQL}) r WHERE r.eligible"
_CHANGED_SQL = (
    _ROW_SQL
    + """
WHERE u.id IN (
    SELECT user_id FROM user_profiles WHERE updated_at > $1
    UNION SELECT id FROM users WHERE updated_at > $1
    UNION SELECT id FROM users WHERE last_active_at > $1
    UNION SELECT user_id FROM profile_photos WHERE created_at > $1
    UNION SELECT user_id FROM user_interests WHERE created_at > $1)
"""
)


def accepts(show_me: np.ndarray | int, gender: np.ndarray | int) -> np.ndarray:
    """men -> male, women -> female, everyone -> any gender (non_binary/other only here)."""
    return np.asarray(
        (show_me == SHOW_ME["everyone"])
        | ((show_me == SHOW_ME["men"]) & (gender == GENDERS["male"]))
        | ((show_me == SHOW_ME["women"]) & (gender == GENDERS["female"]))
    )


def ymd(day: date) -> int:
    # (today - birth) // 10000 on yyyymmdd integers is the exact age in whole years.
    return day.year * 10000 + day.month * 100 + day.day


class CandidateIndex:
    """Column arrays of eligible profiles; rows are reused in place, dead rows are masked."""

    # One array per column, set by _allocate.
    alive: np.ndarray
    part: np.ndarray
    lat: np.ndarray
    lat_r: np.ndarray
    lon_r: np.ndarray
    cos_lat: np.ndarray
    birth: np.ndarray
    gender: np.ndarray
    show_me: np.ndarray
    age_min: np.ndarray
    age_max: np.ndarray
    max_dist: np.ndarray
    active: np.ndarray
    photo: np.ndarray
    bits: np.ndarray

    def __init__(self, grid_km: float, capacity: int = 1024) -> None:
        self.grid_km = grid_km
        self.n = 0
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.vocab: dict[str, int] = {}
        self._allocate(capacity, words=1)
        self.order = np.empty(0, dtype=np.int64)
        self.sorted_lat = np.empty(0, dtype=np.float64)

    def _allocate(self, capacity: int, words: int) -> None:
        old = getattr(self, "alive", None)
        specs = {
            "alive": np.bool_,
            "part": np.uint32,
            "lat": np.float64,
            "lat_r": np.float64,
            "lon_r": np.float64,
            "cos_lat": np.float64,
            "birth": np.int32,
            "gender": np.int8,
            "show_me": np.int8,
            "age_min": np.int16,
            "age_max": np.int16,
            "max_dist": np.float64,
            "active": np.float64,
            "photo": np.bool_,
        }
        for name, dtype in specs.items():
            fresh: np.ndarray = np.zeros(capacity, dtype=dtype)
            if old is not None:
                fresh[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, fresh)
        bits = np.zeros((capacity, words), dtype=np.uint64)
        if old is not None:
            bits[: self.n, : self.bits.shape[1]] = self.bits[: self.n]
        self.bits = bits

    def __len__(self) -> int:
        return int(self.alive[: self.n].sum())

    def _interest_bits(self, names: list[str], grow: bool) -> np.ndarray:
        if grow:
            for name in names:
                if name not in self.vocab:
                    self.vocab[name] = len(self.vocab)
            words = (len(self.vocab) + 63) // 64
            if words > self.bits.shape[1]:
                self._allocate(len(self.alive), words)
        row = np.zeros(self.bits.shape[1], dtype=np.uint64)
        for name in names:
            bit = self.vocab.get(name)
            if bit is not None:
                row[bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
        return row

    def upsert(self, rec) -> bool:
        """Store one profile row (an asyncpg Record or dict); ineligible rows are removed.
        True when the latitude order must be rebuilt (a new or revived row, or a move)."""
        if not rec["eligible"]:
            self.remove(rec["id"])
            return False
        row = self.row_of.get(rec["id"])
        reorder = row is None or not self.alive[row]
        if row is None:
            if self.n == len(self.alive):
                self._allocate(2 * len(self.alive), self.bits.shape[1])
            row, self.n = self.n, self.n + 1
            self.ids.append(rec["id"])
            self.row_of[rec["id"]] = row
            self.part[row] = stable_hash(rec["id"]) & 0xFFFFFFFF
        bits = self._interest_bits(list(rec["interests"] or ()), grow=True)
        lat, lon = snap(rec["latitude"], rec["longitude"], self.grid_km)
        reorder = reorder or self.lat[row] != lat
        self.alive[row] = True
        self.lat[row] = lat
        self.lat_r[row], self.lon_r[row] = np.radians(lat), np.radians(lon)
        self.cos_lat[row] = np.cos(self.lat_r[row])
        self.birth[row] = ymd(rec["birth_date"])
        self.gender[row] = GENDERS.get(rec["gender"], GENDERS["other"])
        self.show_me[row] = SHOW_ME.get(rec["show_me"], SHOW_ME["everyone"])
        self.age_min[row], self.age_max[row] = rec["age_min"], rec["age_max"]
        self.max_dist[row] = rec["max_distance"]
        self.active[row] = rec["active"] or 0.0
        self.photo[row] = bool(rec["has_photo"])
        self.bits[row] = bits
        return bool(reorder)

    def remove(self, user_id: str) -> None:
        row = self.row_of.get(user_id)
        if row is not None:
            self.alive[row] = False

    def rebuild_order(self) -> None:
        """Rows sorted by snapped latitude: a request reads one contiguous latitude band."""
        live = np.flatnonzero(self.alive[: self.n])
        self.order = live[np.argsort(self.lat[live], kind="stable")]
        self.sorted_lat = self.lat[self.order]

    def rows_for(self, user_ids) -> np.ndarray:
        return np.fromiter((self.row_of[u] for u in map(str, user_ids) if u in self.row_of), dtype=np.int64)

    def rank(self, viewer: dict, partition: int, partitions: int, limit: int, exclude, now: float, today: int) -> dict:
        """Top `limit` eligible candidates of one partition for `viewer` (see the module docstring)."""
        vlat, vlon = snap(viewer["latitude"], viewer["longitude"], self.grid_km)
        vmax = float(viewer["max_distance"])
        band = (vmax + 2 * self.grid_km) / KM_PER_DEG_LAT
        lo, hi = np.searchsorted(self.sorted_lat, [vlat - band, vlat + band])
        rows = self.order[lo:hi]
        if partitions > 1:
            rows = rows[self.part[rows] % np.uint32(partitions) == partition]
        rows = rows[self.alive[rows]]
        scored = len(rows)
        dist = self._distance(rows, np.radians(vlat), np.radians(vlon))
        ok = self._mutually_eligible(rows, dist, viewer, today)
        gone = self.rows_for([*exclude, viewer["id"]])
        if len(gone):
            ok &= ~np.isin(rows, gone)
        rows, dist = rows[ok], dist[ok]
        mutual = self._mutual(rows, viewer.get("interests") or [])
        score = self._score(rows, dist, mutual, vmax, viewer, now)
        top = np.argsort(-score, kind="stable")[:limit] if len(score) <= 4 * limit else self._top(score, limit)
        return {
            "scored": scored,
            "area": int(hi - lo),
            "candidates": [
                {
                    "id": self.ids[rows[i]],
                    "score": float(score[i]),
                    "distance_km": int(max(1, round(dist[i]))),
                    "mutual": int(mutual[i]),
                }
                for i in top
            ],
        }

    def _distance(self, rows: np.ndarray, vlat_r: float, vlon_r: float) -> np.ndarray:
        return haversine_radians(vlat_r, vlon_r, self.lat_r[rows], self.lon_r[rows], cos_lat2=self.cos_lat[rows])

    def _mutually_eligible(self, rows: np.ndarray, dist: np.ndarray, viewer: dict, today: int) -> np.ndarray:
        age = (today - self.birth[rows]) // 10000
        vgender = GENDERS.get(viewer["gender"], GENDERS["other"])
        vshow = SHOW_ME.get(viewer["show_me"], SHOW_ME["everyone"])
        vage = int(viewer["age"])
        return (
            (dist <= viewer["max_distance"])
            & (dist <= self.max_dist[rows])
            & (age >= viewer["age_min"])
            & (age <= viewer["age_max"])
            & (vage >= self.age_min[rows])
            & (vage <= self.age_max[rows])
            & accepts(vshow, self.gender[rows])
            & accepts(self.show_me[rows], vgender)
        )

    def _mutual(self, rows: np.ndarray, interests: list[str]) -> np.ndarray:
        vbits = self._interest_bits(interests, grow=False)
        if not vbits.any() or not len(rows):
            return np.zeros(len(rows), dtype=np.int64)
        return np.bitwise_count(self.bits[rows] & vbits).sum(axis=1, dtype=np.int64)

    def _score(self, rows, dist, mutual, vmax, viewer, now) -> np.ndarray:
        hours = np.maximum(0.0, now - self.active[rows]) / 3600.0
        liked = np.isin(rows, self.rows_for(viewer.get("liked_by") or []))
        tie = self.part[rows].astype(np.float64) / 2.0**32 * 1e-6
        return (
            WEIGHTS["distance"] * np.clip(1.0 - dist / max(vmax, 1.0), 0.0, 1.0)
            + WEIGHTS["interests"] * np.minimum(mutual, MUTUAL_CAP) / MUTUAL_CAP
            + WEIGHTS["activity"] * 0.5 ** (hours / ACTIVITY_HALF_LIFE_H)
            + WEIGHTS["photo"] * self.photo[rows]
            + WEIGHTS["liked_viewer"] * liked
            + tie
        )

    @staticmethod
    def _top(score: np.ndarray, limit: int) -> np.ndarray:
        part = np.argpartition(-score, limit)[:limit]
        return part[np.argsort(-score[part], kind="stable")]


class FeedRanker:
    """The Serve deployment / in-process object. Public methods are called via `.remote()`."""

    def __init__(
        self,
        database_url: str,
        refresh_interval_s: float = 2.0,
        *,
        grid_km: float | None = None,
        full_reload_s: float = 300.0,
    ) -> None:
        if grid_km is None:
            from kit.settings import get_settings

            grid_km = get_settings().feed_grid_km
        self._pool = LazyPool(database_url, max_size=1)
        self.refresh_interval_s = refresh_interval_s
        self.full_reload_s = full_reload_s
        self.index = CandidateIndex(grid_km)
        self._watermark = None  # database clock of the last refresh start
        self._refreshed_at: float | None = None  # monotonic
        self._full_at: float | None = None
        self._lock = asyncio.Lock()
        self._index_lock = threading.Lock()
        self._task: asyncio.Task | None = None

    async def ping(self) -> str:
        """Readiness (`deployments.health`): the ranker answers."""
        return "ok"

    async def close(self) -> None:
        await self._pool.close()

    async def rank_partition(
        self, viewer: dict, partition: int = 0, partitions: int = 1, limit: int = 20, exclude: list[str] | tuple = ()
    ) -> dict:
        """Score one partition (rows whose id hash % partitions == partition) for the viewer."""
        grid = viewer.get("grid_km")
        if grid and grid != self.index.grid_km:
            self.index = CandidateIndex(float(grid))
            self._refreshed_at = None
        await self._ensure_fresh()
        # Scoring is CPU work (numpy, milliseconds at 100k profiles): a worker thread keeps the
        # event loop serving other requests and sockets meanwhile. `index` is captured so a full
        # reload swapping in a new index cannot change it mid-score.
        index = self.index
        return await asyncio.to_thread(
            self._rank_locked,
            index,
            viewer,
            int(partition),
            max(1, int(partitions)),
            max(1, int(limit)),
            exclude,
            time.time(),
            ymd(date.today()),
        )

    def _rank_locked(self, index: CandidateIndex, *args) -> dict:
        with self._index_lock:  # an incremental refresh mutates the index in place
            return index.rank(*args)

    async def refresh(self, full: bool = False) -> int:
        """Bring the index up to date now; returns how many rows were (re)read."""
        async with self._lock:
            full = full or self._full_at is None or time.monotonic() - self._full_at > self.full_reload_s
            async with (await self._pool.get()).acquire() as conn:
                db_now = await conn.fetchval("SELECT now()")
                if full:
                    rows = await conn.fetch(_FULL_SQL)
                else:
                    rows = await conn.fetch(_CHANGED_SQL, self._watermark)
            if full:  # a whole new index, built off the event loop while the old one keeps serving
                self.index = await asyncio.to_thread(self._build, rows, self.index.grid_km)
            else:
                self._apply(rows)
            self._watermark = db_now - timedelta(seconds=WATERMARK_OVERLAP_S)
            self._refreshed_at = time.monotonic()
            if full:
                self._full_at = self._refreshed_at
            return len(rows)

    @staticmethod
    def _build(rows, grid_km: float) -> CandidateIndex:
        index = CandidateIndex(grid_km, capacity=max(1024, len(rows)))
        for rec in rows:
            index.upsert(rec)
        index.rebuild_order()
        return index

    def _apply(self, rows) -> None:
        # Under the index lock: a rank running in a worker thread never sees a half-applied refresh.
        # Most changes (activity, interests, photos) keep every row in place, so the order (a sort
        # of the whole index, milliseconds at 100k rows) is rebuilt only when someone moved or came back.
        if not rows:
            return
        with self._index_lock:
            reorder = [self.index.upsert(rec) for rec in rows]
            if any(reorder):
                self.index.rebuild_order()

    async def _ensure_fresh(self) -> None:
        if self._refreshed_at is None:
            await self.refresh(full=True)
            return
        age = time.monotonic() - self._refreshed_at
        if age > 10 * self.refresh_interval_s:
            await self._refresh_quietly()  # long idle: do not serve a very old index
        elif age > self.refresh_interval_s and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except (OSError, asyncpg.PostgresError) as exc:  # keep serving the last index
            log.warning("feed index refresh failed: %s", exc)
