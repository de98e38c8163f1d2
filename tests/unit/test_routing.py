"""Suggested visiting order (pipelines.routing) against tours whose optimum is known.

Hand distances (haversine, R = 6 371 008.8 m):
    along the parallel at latitude phi, d(dlon) = 2 R asin(cos(phi) sin(dlon / 2));
    along a meridian, d(dlat) = R * radians(dlat).
At phi = 31 degrees, d(0.1 deg) = 2 R asin(0.857167 * 8.72665e-4) = 9 531.28 m.
"""

from __future__ import annotations

import itertools
import math
import random
import time

import pytest

from pipelines.geo import haversine_m
from pipelines.routing import RouteSuggestion, suggest_order

R = 6_371_008.8


def _parallel(lat: float, dlon: float) -> float:
    return 2 * R * math.asin(math.cos(math.radians(lat)) * math.sin(math.radians(dlon) / 2))


def _meridian(dlat: float) -> float:
    return R * math.radians(dlat)


def _d(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_m(a[0], a[1], b[0], b[1]))


def _brute_force(points: list[tuple[float, float]],
                 start: tuple[float, float] | None) -> float:
    """The shortest open path over every order (points[0] first when there is no start)."""
    nodes = ([start] if start is not None else []) + points
    dist = [[_d(a, b) for b in nodes] for a in nodes]
    best = math.inf
    for order in itertools.permutations(range(1, len(nodes))):
        path = (0, *order)
        best = min(best, sum(dist[a][b] for a, b in itertools.pairwise(path)))
    return best


def _random_points(seed: int, count: int) -> list[tuple[float, float]]:
    """Customers spread over about 50 x 55 km around Shanghai."""
    rng = random.Random(seed)
    return [(121.2 + rng.random() * 0.5, 31.0 + rng.random() * 0.5) for _ in range(count)]


def test_points_on_a_line_are_visited_by_longitude() -> None:
    """121.0 (first, stays first), 121.3, 121.1, 121.2 at 31.0: by longitude is 3 steps of 0.1
    degrees, 3 * 9 531.28 = 28 593.84 m; the given order is 0.3 + 0.2 + 0.1 degrees."""
    points = [(121.0, 31.0), (121.3, 31.0), (121.1, 31.0), (121.2, 31.0)]
    result = suggest_order(points, time_limit_s=0.3)
    assert result.order == [0, 2, 3, 1]
    assert result.after_m == pytest.approx(3 * _parallel(31.0, 0.1), abs=1e-6)
    assert result.after_m == pytest.approx(28_593.84, abs=0.01)
    assert result.before_m == pytest.approx(
        _parallel(31.0, 0.3) + _parallel(31.0, 0.2) + _parallel(31.0, 0.1), abs=1e-6)


def test_a_square_from_a_start_corner() -> None:
    """Start at the south-west corner of a 0.01-degree square; the other corners are given
    opposite corner first. Going east first (a parallel at 31.0, 953.1 m), then north (a
    meridian, 1 111.95 m), then west (a parallel at 31.01, a little shorter) beats going
    north first (two meridians) and every order with a diagonal."""
    start = (121.0, 31.0)
    points = [(121.01, 31.01), (121.0, 31.01), (121.01, 31.0)]
    result = suggest_order(points, start=start, time_limit_s=0.3)
    assert result.order == [2, 0, 1]
    expected = _parallel(31.0, 0.01) + _meridian(0.01) + _parallel(31.01, 0.01)
    assert result.after_m == pytest.approx(expected, abs=1e-6)
    assert result.before_m == pytest.approx(
        _d(start, points[0]) + _d(points[0], points[1]) + _d(points[1], points[2]), abs=1e-6)


# Seeds whose plain local search (GREEDY_DESCENT from PATH_CHEAPEST_ARC) stops short of the
# optimum, so these also show that the guided local search is doing its work.
@pytest.mark.parametrize(("seed", "count", "with_start"), [(5, 8, False), (2, 8, True),
                                                             (23, 7, False), (5, 7, True)])
def test_the_solver_finds_the_brute_force_optimum(seed: int, count: int,
                                                  with_start: bool) -> None:
    points = _random_points(seed, count)
    start = (121.45, 31.25) if with_start else None
    result = suggest_order(points, start=start)
    assert sorted(result.order) == list(range(count))
    if start is None:
        assert result.order[0] == 0
    best = _brute_force(points, start)
    assert result.after_m == pytest.approx(best, rel=1e-9)
    # after_m is the length of the order it returns.
    path = ([start] if start else []) + [points[i] for i in result.order]
    assert result.after_m == pytest.approx(
        sum(_d(a, b) for a, b in itertools.pairwise(path)), rel=1e-9)


def test_fifty_points_within_the_time_limit() -> None:
    points = _random_points(2024, 50)
    began = time.perf_counter()
    result = suggest_order(points, time_limit_s=1.0)
    elapsed = time.perf_counter() - began
    assert elapsed < 1.5, f"took {elapsed:.3f} s"
    assert sorted(result.order) == list(range(50))
    assert result.order[0] == 0
    assert result.after_m <= result.before_m
    # A random order of 50 points is far from good: the suggestion saves more than half.
    assert result.after_m < result.before_m / 2


def test_an_optimal_order_is_kept() -> None:
    points = [(121.0, 31.0), (121.1, 31.0), (121.2, 31.0), (121.3, 31.0)]
    result = suggest_order(points, time_limit_s=0.2)
    assert result.order == [0, 1, 2, 3]
    assert result.after_m == result.before_m


def test_tiny_inputs_are_answered_directly() -> None:
    assert suggest_order([]) == RouteSuggestion([], 0.0, 0.0)
    assert suggest_order([], start=(121.0, 31.0)) == RouteSuggestion([], 0.0, 0.0)
    assert suggest_order([(121.0, 31.0)]) == RouteSuggestion([0], 0.0, 0.0)
    one = suggest_order([(121.1, 31.0)], start=(121.0, 31.0))
    assert one.order == [0] and one.after_m == one.before_m == pytest.approx(_parallel(31.0, 0.1))
    # Without a start the first point stays first, even when the other order is shorter.
    far_first = [(121.0, 31.0), (121.3, 31.0)]
    assert suggest_order(far_first).order == [0, 1]
    # With a start nearer to the second point, the second goes first.
    two = suggest_order(far_first, start=(121.4, 31.0))
    assert two.order == [1, 0]
    assert two.before_m == pytest.approx(_parallel(31.0, 0.4) + _parallel(31.0, 0.3))
    assert two.after_m == pytest.approx(_parallel(31.0, 0.1) + _parallel(31.0, 0.3))


def test_missing_coordinates_are_refused() -> None:
    with pytest.raises(ValueError, match="finite coordinates"):
        suggest_order([(121.0, 31.0), (math.nan, 31.0), (121.2, 31.0)])
    with pytest.raises(ValueError, match="finite coordinates"):
        suggest_order([(121.0, 31.0)], start=(121.0, math.nan))
    with pytest.raises(ValueError, match="time_limit_s"):
        suggest_order([(121.0, 31.0)], time_limit_s=0)
