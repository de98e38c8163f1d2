"""Coordinate systems: WGS-84, GCJ-02 and BD-09, vectorised with numpy.

GCJ-02 and BD-09 are what Chinese map providers produce. The forward transforms are the
published formulas; the inverses are iterated until they reproduce the input to better
than 1e-9 degrees (about 0.1 mm), so a stored point converts back exactly.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

Floats = NDArray[np.float64]


def _out_of_china(lon: Floats, lat: Floats) -> NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon_a, lat_a)
    outside = _out_of_china(lon_a, lat_a)
    return np.where(outside, lon_a, lon_a + dlon), np.where(outside, lat_a, lat_a + dlat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward, lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:  # type: ignore[no-untyped-def]
    target_lon, target_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    guess_lon, guess_lat = target_lon.copy(), target_lat.copy()
    for _ in range(50):
        f_lon, f_lat = forward(guess_lon, guess_lat)
        err_lon, err_lat = f_lon - target_lon, f_lat - target_lat
        guess_lon = guess_lon - err_lon
        guess_lat = guess_lat - err_lat
        worst = np.nanmax(np.abs(np.concatenate([err_lon, err_lat]))) if err_lon.size else 0.0
        if not worst > 1e-10:
            break
    return guess_lon, guess_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Exact inverse of :func:`wgs84_to_gcj02` (iterated)."""
    return _invert(wgs84_to_gcj02, np.atleast_1d(lon), np.atleast_1d(lat))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Exact inverse of :func:`gcj02_to_bd09` (iterated)."""
    return _invert(gcj02_to_bd09, np.atleast_1d(lon), np.atleast_1d(lat))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[Floats, Floats]:
    """Convert points given in `system` (wgs84, gcj02 or bd09) to WGS-84."""
    lon_a, lat_a = np.atleast_1d(np.asarray(lon, float)), np.atleast_1d(np.asarray(lat, float))
    if system == "wgs84":
        return lon_a, lat_a
    if system == "gcj02":
        return gcj02_to_wgs84(lon_a, lat_a)
    if system == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon_a, lat_a))
    raise ValueError(f"unknown coordinate system {system!r}")


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Floats:
    """Great-circle distance in metres (R = 6 371 008.8 m), as the SQL in derive.py."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))
