"""Location privacy: every distance the feed uses is measured between grid cells, never points.

A location snaps to the centre of a cell of about `grid_km` x `grid_km`: rows are bands of
latitude `grid_km` high; each row is cut into columns `grid_km` wide at the row's centre
latitude. Distances are great-circle distances between cell centres, shown as whole km with
a minimum of 1. Everything the feed reveals (who appears, the order, `distance_km`) is then a
function of the two cells only, so moving your own reported location around someone and
repeating the query (trilateration) can at best recover their cell, never a point inside it.

The functions accept floats or numpy arrays alike.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEG_LAT = np.pi * EARTH_RADIUS_KM / 180.0  # ~111.2 km


def snap(lat, lon, grid_km: float):
    """(lat, lon) of the centre of the grid cell holding each point, in degrees."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    dlat = grid_km / KM_PER_DEG_LAT
    row_centre = np.clip((np.floor((lat + 90.0) / dlat) + 0.5) * dlat - 90.0, -90.0, 90.0)
    # Columns are `grid_km` wide at the row's centre latitude (capped near the poles).
    dlon = np.minimum(grid_km / (KM_PER_DEG_LAT * np.maximum(np.cos(np.radians(row_centre)), 1e-3)), 360.0)
    col_centre = (np.floor((lon + 180.0) / dlon) + 0.5) * dlon - 180.0
    return row_centre, col_centre


def haversine_radians(lat1, lon1, lat2, lon2, cos_lat2=None):
    """Great-circle distance in km between points given in radians. `cos_lat2` may be passed
    precomputed: the ranker keeps it per indexed row rather than recomputing it per request."""
    cos2 = np.cos(lat2) if cos_lat2 is None else cos_lat2
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * cos2 * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees."""
    return haversine_radians(
        np.radians(lat1),
        np.radians(np.asarray(lon1, dtype=np.float64)),
        np.radians(lat2),
        np.radians(np.asarray(lon2, dtype=np.float64)),
    )


def shown_km(distance_km):
    """The distance a card shows: whole km, at least 1."""
    return np.maximum(1, np.rint(distance_km)).astype(np.int64)


def same_cell(lat1, lon1, lat2, lon2, grid_km: float) -> bool:
    """Whether two locations snap to the same grid cell, i.e. nobody could tell them apart."""
    a, b = snap(lat1, lon1, grid_km), snap(lat2, lon2, grid_km)
    return bool(a[0] == b[0] and a[1] == b[1])


def snapped_distance_km(lat1, lon1, lat2, lon2, grid_km: float) -> int:
    """The whole-km distance the feed would show between two raw locations."""
    a = snap(lat1, lon1, grid_km)
    b = snap(lat2, lon2, grid_km)
    return int(shown_km(haversine_km(a[0], a[1], b[0], b[1])))
