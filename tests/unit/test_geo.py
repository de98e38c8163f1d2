"""Coordinate systems and distances (DESIGN.md sections 1, 2 and 4)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pipelines import geo

# Points across China (WGS-84): Beijing, Shanghai, Guangzhou, Urumqi, Harbin, Lhasa, Sanya,
# Kunming, Chengdu, Hong Kong, and the far west, north-east, north and south.
CHINA = [
    (116.404, 39.915), (121.4737, 31.2304), (113.2644, 23.1291), (87.6168, 43.8256),
    (126.6424, 45.7569), (91.1409, 29.6456), (109.5119, 18.2528), (102.8329, 24.8801),
    (104.0665, 30.5723), (114.1694, 22.3193), (73.6, 39.4), (134.7, 48.3), (122.5, 53.4),
    (112.3, 3.9),
]
OUTSIDE = [(-0.1276, 51.5072), (139.6917, 35.6895), (151.2093, -33.8688), (-74.006, 40.7128)]


# The forward transforms of the coordtransform library (wandergis/coordTransform_py), written
# out with math so the vectorised numpy versions are checked against an independent copy.
def _ref_transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _ref_transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def ref_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lon, lat
    a, ee = 6378245.0, 0.00669342162296594323
    dlat = _ref_transform_lat(lon - 105.0, lat - 35.0)
    dlon = _ref_transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def ref_gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def ref_haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _pair(result: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    lon, lat = result
    return float(np.ravel(lon)[0]), float(np.ravel(lat)[0])


# -- forward transforms against published values --------------------------------------------
def test_wgs84_to_gcj02_published_reference() -> None:
    lon, lat = _pair(geo.wgs84_to_gcj02(116.404, 39.915))
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_gcj02_to_bd09_published_reference() -> None:
    lon, lat = _pair(geo.gcj02_to_bd09(116.404, 39.915))
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_reference_copy_matches_published_values() -> None:
    """The math copy above is the library: it reproduces the published numbers."""
    assert ref_wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12)
    assert ref_gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12)


def test_forward_transforms_match_reference_across_china_vectorised() -> None:
    lons = np.array([p[0] for p in CHINA])
    lats = np.array([p[1] for p in CHINA])
    gcj_lon, gcj_lat = geo.wgs84_to_gcj02(lons, lats)
    bd_lon, bd_lat = geo.gcj02_to_bd09(gcj_lon, gcj_lat)
    for i, (lon, lat) in enumerate(CHINA):
        ref_gcj = ref_wgs84_to_gcj02(lon, lat)
        assert (gcj_lon[i], gcj_lat[i]) == pytest.approx(ref_gcj, abs=1e-9)
        assert (bd_lon[i], bd_lat[i]) == pytest.approx(ref_gcj02_to_bd09(*ref_gcj), abs=1e-9)
        # GCJ-02 really moves the points (hundreds of metres), so the checks below mean something
        assert ref_haversine_m(lon, lat, *ref_gcj) > 100


# -- exact inverses --------------------------------------------------------------------------
@pytest.mark.parametrize(("lon", "lat"), CHINA)
def test_gcj02_inverse_round_trips_within_a_tenth_of_a_metre(lon: float, lat: float) -> None:
    gcj = ref_wgs84_to_gcj02(lon, lat)
    back = _pair(geo.to_wgs84(*gcj, "gcj02"))
    assert float(geo.haversine_m(lon, lat, *back)) < 0.1


@pytest.mark.parametrize(("lon", "lat"), CHINA)
def test_bd09_inverse_round_trips_within_a_tenth_of_a_metre(lon: float, lat: float) -> None:
    bd = ref_gcj02_to_bd09(*ref_wgs84_to_gcj02(lon, lat))
    back = _pair(geo.to_wgs84(*bd, "bd09"))
    assert float(geo.haversine_m(lon, lat, *back)) < 0.1


def test_inverse_is_vectorised_with_mixed_points() -> None:
    points = CHINA + OUTSIDE
    gcj = [ref_wgs84_to_gcj02(lon, lat) for lon, lat in points]
    back_lon, back_lat = geo.to_wgs84([g[0] for g in gcj], [g[1] for g in gcj], "gcj02")
    distances = geo.haversine_m([p[0] for p in points], [p[1] for p in points], back_lon, back_lat)
    assert distances.shape == (len(points),)
    assert float(distances.max()) < 0.1


def test_wgs84_is_unchanged() -> None:
    assert _pair(geo.to_wgs84(116.404, 39.915, "wgs84")) == (116.404, 39.915)


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE)
def test_gcj02_outside_china_is_unchanged(lon: float, lat: float) -> None:
    assert _pair(geo.wgs84_to_gcj02(lon, lat)) == (lon, lat)
    assert _pair(geo.to_wgs84(lon, lat, "gcj02")) == (lon, lat)


def test_unknown_coordinate_system() -> None:
    with pytest.raises(ValueError, match="unknown coordinate system 'utm'"):
        geo.to_wgs84(1.0, 2.0, "utm")


# -- distances -------------------------------------------------------------------------------
def test_haversine_uses_the_mean_earth_radius() -> None:
    # One degree of latitude along a meridian: R * pi / 180.
    assert float(geo.haversine_m(116.0, 39.0, 116.0, 40.0)) == pytest.approx(
        6_371_008.8 * math.pi / 180, rel=1e-12)
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(CHINA):
        assert float(geo.haversine_m(lon1, lat1, lon2, lat2)) == pytest.approx(
            ref_haversine_m(lon1, lat1, lon2, lat2), rel=1e-12)
    assert float(geo.haversine_m(116.404, 39.915, 116.404, 39.915)) == 0.0
