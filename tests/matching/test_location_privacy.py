"""Trilateration: moving your own location around someone must not reveal more than their grid cell."""

from __future__ import annotations

import numpy as np

from deployments.matching.geo import KM_PER_DEG_LAT, haversine_km, shown_km, snap, snapped_distance_km
from tests.matching.conftest import here

STEP_KM = 0.1
SWEEP_KM = 2.0


def cell_of(lat: float, lon: float, grid_km: float) -> tuple[float, float, float, float]:
    """(centre lat, centre lon, cell height, cell width) in degrees."""
    clat, clon = (float(v) for v in snap(lat, lon, grid_km))
    dlat = grid_km / KM_PER_DEG_LAT
    dlon = grid_km / (KM_PER_DEG_LAT * np.cos(np.radians(clat)))
    return clat, clon, dlat, dlon


def sweep(clat: float, clon: float, dlon: float, dlat: float) -> list[tuple[float, float]]:
    """The attacker's reported positions: east-west and north-south lines through the cell, 100 m apart."""
    steps = np.arange(-SWEEP_KM, SWEEP_KM + 1e-9, STEP_KM)
    km_lat, km_lon = dlat, dlon  # degrees per km, since the grid is 1 km
    return [(clat, clon + s * km_lon) for s in steps] + [(clat + s * km_lat, clon) for s in steps]


async def test_an_attacker_moving_around_cannot_locate_a_victim_inside_the_grid_cell(
    member, feed, client, settings, app
):
    # Without the hourly limits on moves and feed pages: this measures what each query reveals.
    app.state.resources.settings = settings.model_copy(
        update={"rate_location_updates_per_hour": 10_000, "rate_feed_pages_per_hour": 10_000}
    )
    grid = settings.feed_grid_km
    clat, clon, dlat, dlon = cell_of(40.7128, -74.0060, grid)
    # Two victims in opposite corners of the same cell, more than a kilometre apart.
    south_west = (clat - 0.45 * dlat, clon - 0.45 * dlon)
    north_east = (clat + 0.45 * dlat, clon + 0.45 * dlon)
    victim_a = await member(location=here(*south_west))
    victim_b = await member(location=here(*north_east))
    attacker = await member(location=here(clat, clon))
    await feed(attacker)  # the index now holds both victims

    positions = sweep(clat, clon, dlon / grid, dlat / grid)
    observed = []
    for lat, lon in positions:
        moved = await client.put("/api/v1/profile/me", headers=attacker.headers, json={"location": here(lat, lon)})
        assert moved.status_code == 200
        cards = {c["id"]: c for c in await feed(attacker, refresh=False)}
        seen = cards[str(victim_a.id)]["distance_km"], cards[str(victim_b.id)]["distance_km"]
        assert all(isinstance(d, int) and d >= 1 for d in seen)
        assert not {"latitude", "longitude", "location"} & set(cards[str(victim_a.id)])
        observed.append(seen)

    # Everything the attacker saw is identical for both victims: no query told them apart.
    assert all(a == b for a, b in observed)
    assert len({a for a, _ in observed}) > 1  # the sweep was long enough to see distances change

    # The best an attacker can do: keep every point consistent with all observations.
    lats, lons = np.meshgrid(
        np.arange(clat - 1.5 * dlat, clat + 1.5 * dlat, dlat / 20),
        np.arange(clon - 1.5 * dlon, clon + 1.5 * dlon, dlon / 20),
    )
    grid_lat, grid_lon = snap(lats, lons, grid)
    feasible = np.ones(lats.shape, dtype=bool)
    for (lat, lon), (seen, _) in zip(positions, observed):
        alat, alon = snap(lat, lon, grid)
        feasible &= shown_km(haversine_km(alat, alon, grid_lat, grid_lon)) == seen
    assert np.ptp(lats[feasible]) >= 0.9 * dlat  # at least a whole cell high
    assert np.ptp(lons[feasible]) >= 0.9 * dlon  # and a whole cell wide
    for victim in (south_west, north_east):  # the attacker's model reproduces exactly what the API said
        assert all(snapped_distance_km(*p, *victim, grid) == seen for p, (seen, _) in zip(positions, observed))
