"""The shared grid builder: AG Grid with the infinite row model, paged on the server.

The browser asks for blocks of rows (getRowsRequest); a page callback answers one block
(getRowsResponse) from a scoped query. When the page's filters change, the callback that
owns them bumps the grid's version store and a clientside function purges the grid's
cache, so it asks again. Big tables never travel to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash_ag_grid as dag
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)
from dash.exceptions import MissingCallbackContextException

from dashboard.components.widgets import grid_text_options

PAGE_ROWS = 100


@dataclass(frozen=True)
class GridRequest:
    """One block request: rows [start, end), and the sort the user clicked (if any)."""

    start: int
    end: int
    sort: str | None
    descending: bool

    @property
    def limit(self) -> int:
        return self.end - self.start


def parse_request(request: Any, sortable: tuple[str, ...] = ()) -> GridRequest | None:
    """Validate a getRowsRequest from the browser (it is user input); None when unusable."""
    if not isinstance(request, dict):
        return None
    start, end = request.get("startRow"), request.get("endRow")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        return None
    if start < 0 or end <= start:
        return None
    end = min(end, start + 5 * PAGE_ROWS)
    sort, descending = None, False
    model = request.get("sortModel")
    if isinstance(model, list) and model and isinstance(model[0], dict):
        col, direction = model[0].get("colId"), model[0].get("sort")
        if col in sortable and direction in ("asc", "desc"):
            sort, descending = str(col), direction == "desc"
    return GridRequest(start, end, sort, descending)


def version_id(grid_id: str) -> str:
    return f"{grid_id}-version"


def next_version(version: Any) -> Any:
    """The grid's version store, bumped (browser input: anything but a small int restarts).

    Not on a callback's initial call (a page just loaded): its grids are new and have just
    asked for their first rows with the filters they show, and a bump would make them ask
    a second time (issue 15 item 15).
    """
    if _initial_call():
        return no_update
    if isinstance(version, int) and not isinstance(version, bool) and 0 <= version < 2**31:
        return version + 1
    return 1


def _initial_call() -> bool:
    """Whether the running callback is an initial call (nothing in the page triggered it)."""
    try:
        return ctx.triggered_id is None and not ctx.triggered_prop_ids
    except MissingCallbackContextException:
        return False


def server_grid(
    grid_id: str,
    column_defs: list[dict[str, Any]],
    *,
    height: str = "520px",
    row_id: str | None = None,
    extra_options: dict[str, Any] | None = None,
) -> html.Div:
    """A grid paged on the server, with its version store (see module docstring).

    Call :func:`register_refresh` once per grid id at import time of the page module.
    """
    options: dict[str, Any] = {
        "cacheBlockSize": PAGE_ROWS,
        "maxBlocksInCache": 20,
        "infiniteInitialRowCount": 1,
        "rowBuffer": 0,
        "enableCellTextSelection": True,
        "suppressDragLeaveHidesColumns": True,
        "overlayNoRowsTemplate": None,
    }
    if row_id:
        options["getRowId"] = {"function": f"params.data.{row_id}"}
    options.update(grid_text_options())
    options.update(extra_options or {})
    options = {k: v for k, v in options.items() if v is not None}
    return html.Div(className="vl-grid", children=[
        dcc.Store(id=version_id(grid_id), data=0),
        dag.AgGrid(
            id=grid_id,
            rowModelType="infinite",
            columnDefs=column_defs,
            # Headers wrap rather than cut off ("Custom…"): a narrow numeric column
            # still says what it counts (issue 15 item 10).
            defaultColDef={"sortable": False, "resizable": True, "filter": False,
                           "minWidth": 80, "wrapHeaderText": True, "autoHeaderHeight": True},
            dashGridOptions=options,
            style={"height": height, "width": "100%"},
            className="ag-theme-quartz",
        ),
        html.Div(id=f"{grid_id}-sink", hidden=True),
    ])


def register_refresh(grid_id: str) -> None:
    """When the grid's version store changes, purge its cache so it fetches again."""
    clientside_callback(
        ClientsideFunction("visitlens", "purgeGrid"),
        Output(f"{grid_id}-sink", "title"),
        Input(version_id(grid_id), "data"),
        State(grid_id, "id"),
        prevent_initial_call=True,
    )


def response(rows: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """A getRowsResponse: this block's rows and how many rows all blocks hold."""
    return {"rowData": rows, "rowCount": total}
