"""Report values as users and scripts see them (DESIGN.md section 5).

Floats are rounded to 2 decimals half away from zero, timestamps are local
`YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, undefined values null. The CLI, the page grids
and the exports all go through :func:`records`, so they show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd


def round2(value: float) -> float:
    """Round to 2 decimals, half away from zero, on the shortest decimal form of the float."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def clean_value(value: Any) -> Any:
    """One cell as JSON-ready output."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean_value(v) for v in value]
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round2(float(value))
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(frame: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The frame's rows restricted to `fields`, cleaned for output."""
    columns = [frame[f].tolist() for f in fields]
    return [
        {f: clean_value(v) for f, v in zip(fields, row, strict=True)}
        for row in zip(*columns, strict=True)
    ] if len(frame) else []


def as_json(report: str, rows: list[dict[str, Any]]) -> str:
    return json.dumps({"report": report, "rows": rows}, ensure_ascii=False, indent=1)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def as_csv(rows: list[dict[str, Any]], fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell_text(row[f]) for f in fields])
    return buffer.getvalue()


def as_table(rows: list[dict[str, Any]], fields: Sequence[str]) -> str:
    """Aligned text columns for a terminal (CJK characters count double width)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    cells = [[_cell_text(r[f]) for f in fields] for r in rows]
    widths = [max([width(f)] + [width(c[i]) for c in cells]) for i, f in enumerate(fields)]
    lines = ["  ".join(f + " " * (w - width(f)) for f, w in zip(fields, widths, strict=True))]
    for c in cells:
        lines.append("  ".join(v + " " * (w - width(v)) for v, w in zip(c, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
