"""Suggested visiting order of a plan's customers, by Google OR-Tools' routing solver.

The trip is an open path: it starts at a given point (the employee's position, say) or at
the first customer, visits every customer once and does not come back. Distances are
great-circle metres (the same haversine as the reports), so the lengths shown next to the
suggestion are the ones a user can check on the map; roads are not modelled.

Points without coordinates are the caller's problem: leave them out before asking (and
put them where the page sees fit); a NaN coordinate raises ValueError instead of silently
producing a meaningless order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from pipelines.geo import haversine_m

_COST_PER_M = 1000  # the solver wants integers: costs are whole millimetres
_TINY = 2  # up to this many points the answer is worked out directly


@dataclass(frozen=True)
class RouteSuggestion:
    """A visiting order and what it saves.

    Attributes:
        order: indices into the points, in visiting order.
        before_m: length of the given order (from the start), metres.
        after_m: length of the suggested order, metres (never more than before_m).
    """

    order: list[int]
    before_m: float
    after_m: float


def _distances(nodes: NDArray[np.float64]) -> NDArray[np.float64]:
    """All pairwise great-circle distances (metres) of (lon, lat) rows, in one numpy call."""
    lon, lat = nodes[:, 0], nodes[:, 1]
    return haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])


def _length(matrix: NDArray[np.float64], path: Sequence[int]) -> float:
    """Length of a path of node indices (consecutive legs summed)."""
    if len(path) < 2:
        return 0.0
    return float(matrix[path[:-1], path[1:]].sum())


def _solve(matrix: NDArray[np.float64], time_limit_s: float) -> list[int] | None:
    """Node order of the shortest open path from node 0 the solver finds in the time limit.

    Returning to node 0 costs nothing, which turns OR-Tools' closed tour into an open path.
    """
    cost = np.rint(matrix * _COST_PER_M).astype(np.int64)
    cost[:, 0] = 0
    manager = pywrapcp.RoutingIndexManager(len(matrix), 1, 0)
    model = pywrapcp.RoutingModel(manager)
    transit = model.RegisterTransitMatrix(cost.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC)
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    solution = model.SolveWithParameters(params)
    if solution is None:
        return None
    path: list[int] = []
    index = model.Start(0)
    while not model.IsEnd(index):
        path.append(manager.IndexToNode(index))
        index = solution.Value(model.NextVar(index))
    return path


def suggest_order(points: Sequence[tuple[float, float]],
                  start: tuple[float, float] | None = None,
                  time_limit_s: float = 1.0) -> RouteSuggestion:
    """Suggest a shorter order to visit `points` (an open path, no return).

    Guided local search keeps improving until the time limit, so a call with more than
    two points takes about `time_limit_s`; the suggestion is never longer than the given
    order (that order is returned when the solver finds nothing better).

    Args:
        points: (lon, lat) WGS-84 of the customers, in the current order.
        start: where the trip starts (lon, lat); None = at points[0], which stays first.
        time_limit_s: the solver's time budget, seconds.

    Raises:
        ValueError: a coordinate is NaN or infinite, or the time limit is not positive.
    """
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be positive, not {time_limit_s!r}")
    coords = np.asarray(points, dtype=float).reshape(-1, 2)
    offset = 0 if start is None else 1  # node of points[0]
    nodes = coords if start is None else np.vstack([np.asarray(start, float)[None, :], coords])
    if not np.isfinite(nodes).all():
        raise ValueError("every point (and the start) needs finite coordinates; "
                         "leave customers without a location out")
    count = len(coords)
    given = list(range(count))
    if count == 0:
        return RouteSuggestion([], 0.0, 0.0)
    matrix = _distances(nodes)

    def length(order: Sequence[int]) -> float:
        return _length(matrix, ([0] if start is not None else []) + [i + offset for i in order])

    before = length(given)
    if count <= _TINY:
        # The first point stays first without a start; with one, try both orders.
        candidates = [given] if start is None else [list(p) for p in itertools.permutations(given)]
        best = min(candidates, key=length)  # min keeps the first (given) order on a tie
        return RouteSuggestion(best, before, length(best))
    path = _solve(matrix, time_limit_s)
    if path is None:
        return RouteSuggestion(given, before, before)
    order = [node - offset for node in path if node >= offset]
    after = length(order)
    if after > before or sorted(order) != given:
        return RouteSuggestion(given, before, before)
    return RouteSuggestion(order, before, after)
