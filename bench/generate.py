"""Synthetic users for the benchmarks: several cities, realistic ages, genders, preferences,
interests, photos and a swipe history, written with COPY (tens of thousands of rows per second).

Usage: python -m bench.generate --users 100000 [--database-url postgresql://...] [--seed 7]
(without --database-url it fills the embedded PostgreSQL under var/bench-feed).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

# (name, lat, lon, share of users)
CITIES = [
    ("New York", 40.7128, -74.0060, 0.22),
    ("London", 51.5074, -0.1278, 0.16),
    ("Berlin", 52.5200, 13.4050, 0.12),
    ("Paris", 48.8566, 2.3522, 0.12),
    ("Sao Paulo", -23.5505, -46.6333, 0.10),
    ("Tokyo", 35.6762, 139.6503, 0.10),
    ("Sydney", -33.8688, 151.2093, 0.08),
    ("Toronto", 43.6532, -79.3832, 0.10),
]
CITY_SPREAD_KM = 12.0
GENDERS = np.array(["male", "female", "non_binary", "other"])
GENDER_P = [0.47, 0.47, 0.04, 0.02]
INTERESTS = [
    "travel",
    "music",
    "hiking",
    "cooking",
    "reading",
    "running",
    "yoga",
    "coffee",
    "photography",
    "art",
    "movies",
    "gaming",
    "dancing",
    "cycling",
    "climbing",
    "swimming",
    "jazz",
    "wine",
    "tea",
    "football",
    "tennis",
    "chess",
    "theatre",
    "poetry",
    "history",
    "science",
    "tech",
    "startups",
    "design",
    "fashion",
    "dogs",
    "cats",
    "gardening",
    "baking",
    "sushi",
    "vegan",
    "camping",
    "surfing",
    "skiing",
    "festivals",
    "podcasts",
    "anime",
    "comics",
    "board-games",
    "karaoke",
    "volunteering",
    "languages",
    "meditation",
    "boxing",
    "crossfit",
    "painting",
    "pottery",
    "writing",
    "astronomy",
    "politics",
    "economics",
    "philosophy",
    "sailing",
    "fishing",
]
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Maria",
    "Anna",
    "Lena",
    "Sofia",
    "Mia",
    "Noah",
    "Liam",
    "Lucas",
    "Ben",
    "Leo",
    "Emma",
    "Olivia",
    "Ava",
    "Chloe",
    "Yuki",
    "Hana",
    "Kenji",
    "Ana",
    "Pedro",
    "Ines",
    "Luca",
]


@dataclass
class Generated:
    users: int
    swipes: int
    seconds: float
    user_ids: list[uuid.UUID]


def _people(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    city = rng.choice(len(CITIES), size=n, p=[c[3] for c in CITIES])
    lat0 = np.array([c[1] for c in CITIES])[city]
    lon0 = np.array([c[2] for c in CITIES])[city]
    dist = np.abs(rng.normal(0, CITY_SPREAD_KM, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    lat = lat0 + dist * np.sin(angle) / 111.2
    lon = lon0 + dist * np.cos(angle) / (111.2 * np.cos(np.radians(lat0)))
    age = np.clip(rng.gamma(4.0, 2.6, n) + 19, 18, 70).astype(int)
    gender = rng.choice(GENDERS, size=n, p=GENDER_P)
    seeks = np.where(
        gender == "male",
        rng.choice(["women", "men", "everyone"], n, p=[0.85, 0.08, 0.07]),
        np.where(gender == "female", rng.choice(["men", "women", "everyone"], n, p=[0.82, 0.08, 0.10]), "everyone"),
    )
    low = np.clip(age - rng.integers(2, 9, n), 18, 99)
    high = np.clip(age + rng.integers(3, 12, n), low, 99)
    return {
        "city": city,
        "lat": lat,
        "lon": lon,
        "age": age,
        "gender": gender,
        "show_me": seeks,
        "age_min": low,
        "age_max": high,
        "max_distance": rng.choice([10, 25, 50, 50, 80, 100], n),
        "active_h": rng.exponential(36.0, n),
    }


def _swipes(ids: list[uuid.UUID], people: dict, per_user: int, rng: np.random.Generator) -> list[tuple]:
    """Each user swiped `per_user` random people of the same city; ~45% likes, some mutual likes reciprocated."""
    by_city = {c: np.flatnonzero(people["city"] == c) for c in range(len(CITIES))}
    now = datetime.now(UTC)
    seen: set[tuple[int, int]] = set()
    rows = []
    for _c, members in by_city.items():
        if len(members) < 2:
            continue
        targets = rng.choice(members, size=(len(members), per_user))
        for swiper, row in zip(members, targets):
            for target in row:
                if target == swiper or (swiper, target) in seen:
                    continue
                seen.add((swiper, target))
                action = "like" if rng.random() < 0.45 else "pass"
                rows.append(
                    (
                        uuid.uuid4(),
                        ids[swiper],
                        ids[target],
                        action,
                        now - timedelta(hours=float(rng.uniform(25, 24 * 30))),
                    )
                )
    return rows


async def generate(database_url: str, n: int, *, seed: int = 7, swipes_per_user: int = 10) -> Generated:
    import asyncpg

    from kit.db import sync_url

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    people = _people(n, rng)
    ids = [uuid.uuid4() for _ in range(n)]
    now = datetime.now(UTC)
    today = date.today()
    users = [(ids[i], f"+1999{i:08d}", True, now - timedelta(hours=float(people["active_h"][i]))) for i in range(n)]
    profiles = [
        (
            uuid.uuid4(),
            ids[i],
            FIRST_NAMES[i % len(FIRST_NAMES)],
            date(today.year - int(people["age"][i]) - 1, 1 + i % 12, 1 + i % 28),
            str(people["gender"][i]),
            "Synthetic bench profile",
            float(people["lat"][i]),
            float(people["lon"][i]),
            int(people["max_distance"][i]),
            int(people["age_min"][i]),
            int(people["age_max"][i]),
            str(people["show_me"][i]),
        )
        for i in range(n)
    ]
    interests = [
        (ids[i], name) for i in range(n) for name in rng.choice(INTERESTS, size=int(rng.integers(2, 8)), replace=False)
    ]
    photos = [
        (ids[i], f"https://cdn.example/bench/{ids[i]}/{k}.jpg", k == 0, k)
        for i in range(n)
        if rng.random() < 0.8
        for k in range(int(rng.integers(1, 4)))
    ]
    swipes = _swipes(ids, people, swipes_per_user, rng)
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        await conn.copy_records_to_table(
            "users", records=users, columns=["id", "phone_number", "is_verified", "last_active_at"]
        )
        await conn.copy_records_to_table(
            "user_profiles",
            records=profiles,
            columns=[
                "id",
                "user_id",
                "first_name",
                "birth_date",
                "gender",
                "bio",
                "latitude",
                "longitude",
                "max_distance",
                "age_min",
                "age_max",
                "show_me",
            ],
        )
        await conn.copy_records_to_table("user_interests", records=interests, columns=["user_id", "interest_name"])
        await conn.copy_records_to_table(
            "profile_photos", records=photos, columns=["user_id", "photo_url", "is_primary", "order_index"]
        )
        await conn.copy_records_to_table(
            "swipes", records=swipes, columns=["id", "swiper_id", "swiped_id", "action", "created_at"]
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Generated(n, len(swipes), time.perf_counter() - started, ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.generate")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.database_url:
        result = asyncio.run(generate(args.database_url, args.users, seed=args.seed))
    else:
        import bench.common as common

        common.BENCH_DIR = common.ROOT / "var" / "bench-feed"
        with common.infra(fresh=True) as env:
            result = asyncio.run(generate(env.database_url, args.users, seed=args.seed))
    print(f"{result.users:,} users and {result.swipes:,} swipes in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
