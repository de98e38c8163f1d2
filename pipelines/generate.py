"""The seeded demo-data generator behind `visitlens demo` (DESIGN.md section 5).

It builds a whole database that a sales supervisor would recognise: a head office, regions
and city branches, sales staff with Chinese names, a customer archive scattered around the
real cities, owners, routes, daily visit plans, the holiday calendar and a year of visits.

Why it is built this way:

* One ``numpy.random.Generator`` drawn in a fixed order, and explicit values for every
  column that would otherwise take "now" (``created_at``), so the same (seed, size, anchor)
  gives byte-identical tables. Sequences are restarted after the rows they number, so the
  app's own inserts continue the numbering.
* Rows are numpy arrays turned into pyarrow tables and inserted by set-based SQL: the large
  size (ten million visits) must build in a few minutes, which rules out per-row Python.
* Visits go through :func:`pipelines.load_visits.insert_new_visits`, the SQL of the file
  import, so stay, deviations and validity are computed one way only.
* The sample import files are fixed (not seeded, not dated by the anchor): they are
  committed under ``data/samples`` and must not change every time someone runs the demo.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from pipelines import business_settings, derive, geo, load_visits, membership, summaries
from pipelines.api_tokens import set_employee_password
from pipelines.db import Database, DatabaseLockedError
from pipelines.formats import FORMATS
from pipelines.store import Cursor, Store
from pipelines.upgrade import upgrade
from pipelines.users import add_user

Progress = Callable[[str, float], None]
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


class DemoError(Exception):
    """The demo database cannot be built as asked (e.g. it would overwrite real data)."""


@dataclass(frozen=True)
class DemoLogin:
    """A login of the demo database, printed by `visitlens demo`."""

    username: str
    password: str
    description: str


# -- sizes and fixed vocabulary ------------------------------------------------------------
@dataclass(frozen=True)
class _Size:
    """Targets of one demo size; the generated counts land near them, not exactly on them."""

    regions: int
    branches_per_region: int
    employees: int
    customers: int
    visits: int
    visit_chunks: int  # visits are inserted in this many chronological chunks


SIZES: Mapping[str, _Size] = MappingProxyType({
    "small": _Size(4, 2, 50, 2_000, 20_000, 1),
    "medium": _Size(5, 5, 500, 100_000, 1_000_000, 2),
    "large": _Size(6, 10, 5_000, 1_000_000, 10_000_000, 4),
})

VISIT_DAYS = 365  # visits cover the 365 days ending at the anchor
PLAN_AHEAD_DAYS = 14  # plans reach two weeks past the anchor
TIMEZONE = "Asia/Shanghai"
HQ_CODE = "HQ"
M_PER_DEG = derive.EARTH_RADIUS_M * np.pi / 180.0

# (region, ((city, WGS-84 longitude, latitude), ...)); the first city is the biggest branch.
REGIONS: tuple[tuple[str, tuple[tuple[str, float, float], ...]], ...] = (
    ("华东大区", (
        ("上海", 121.4737, 31.2304), ("杭州", 120.1551, 30.2741), ("南京", 118.7969, 32.0603),
        ("苏州", 120.5853, 31.2989), ("宁波", 121.5503, 29.8746), ("合肥", 117.2272, 31.8206),
        ("福州", 119.2965, 26.0745), ("厦门", 118.0894, 24.4798), ("无锡", 120.3119, 31.4912),
        ("南昌", 115.8582, 28.6829),
    )),
    ("华北大区", (
        ("北京", 116.4074, 39.9042), ("天津", 117.2008, 39.0842), ("石家庄", 114.5149, 38.0428),
        ("济南", 117.1205, 36.6510), ("青岛", 120.3826, 36.0671), ("太原", 112.5489, 37.8706),
        ("唐山", 118.1802, 39.6305), ("保定", 115.4646, 38.8739), ("烟台", 121.4479, 37.4638),
        ("潍坊", 119.1619, 36.7069),
    )),
    ("华南大区", (
        ("广州", 113.2644, 23.1291), ("深圳", 114.0579, 22.5431), ("东莞", 113.7518, 23.0205),
        ("佛山", 113.1214, 23.0215), ("南宁", 108.3661, 22.8172), ("海口", 110.1999, 20.0440),
        ("珠海", 113.5767, 22.2707), ("汕头", 116.6822, 23.3535), ("惠州", 114.4126, 23.0794),
        ("桂林", 110.2900, 25.2736),
    )),
    ("西南大区", (
        ("成都", 104.0665, 30.5723), ("重庆", 106.5516, 29.5630), ("昆明", 102.8329, 24.8801),
        ("贵阳", 106.6302, 26.6477), ("绵阳", 104.6796, 31.4675), ("遵义", 106.9274, 27.7255),
        ("南充", 106.1107, 30.8372), ("宜宾", 104.6430, 28.7513), ("大理", 100.2676, 25.6065),
        ("拉萨", 91.1322, 29.6604),
    )),
    ("华中大区", (
        ("武汉", 114.3054, 30.5931), ("长沙", 112.9388, 28.2282), ("郑州", 113.6254, 34.7466),
        ("洛阳", 112.4540, 34.6197), ("宜昌", 111.2865, 30.6919), ("襄阳", 112.1224, 32.0090),
        ("株洲", 113.1340, 27.8274), ("岳阳", 113.1289, 29.3570), ("南阳", 112.5283, 32.9908),
        ("衡阳", 112.5720, 26.8938),
    )),
    ("西北大区", (
        ("西安", 108.9402, 34.3416), ("兰州", 103.8343, 36.0611), ("银川", 106.2309, 38.4872),
        ("西宁", 101.7782, 36.6171), ("乌鲁木齐", 87.6168, 43.8256), ("宝鸡", 107.2377, 34.3619),
        ("咸阳", 108.7093, 34.3296), ("榆林", 109.7347, 38.2852), ("延安", 109.4897, 36.5853),
        ("天水", 105.7249, 34.5809),
    )),
)
REGION_WEIGHTS = (1.4, 1.2, 1.2, 0.9, 0.9, 0.6)

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
    "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
    "石", "廖", "贾", "夏", "韦", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛",
    "段", "雷", "侯", "龙", "史", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严",
)
GIVEN_CHARS = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "霞", "平", "刚", "建", "国", "华", "志", "俊", "海", "红", "梅", "玉", "兰",
    "晓", "东", "春", "燕", "文", "斌", "雪", "鹏", "飞", "宇", "浩", "欣", "怡", "婷", "佳",
    "嘉", "子", "博", "睿", "思", "雨", "鑫", "辉", "琳", "莉", "颖", "凯", "波", "峰", "宁",
    "健", "亮", "晨", "阳", "然", "琪", "瑶", "璐", "倩", "帆", "林", "成", "永", "新", "立",
)
BRAND_FIRST = (
    "鑫", "华", "盛", "金", "永", "福", "兴", "嘉", "宏", "瑞", "丰", "恒", "德", "顺", "隆",
    "佳", "联", "新", "万", "百", "安", "康", "益", "和", "泰", "源", "汇", "惠", "优", "家",
)
BRAND_SECOND = (
    "隆", "华", "达", "发", "源", "盛", "祥", "利", "信", "通", "润", "昌", "旺", "悦", "乐",
    "美", "鑫", "福", "客", "邦", "康", "惠", "佳", "友", "诚", "泰", "丰", "晟", "辉", "缘",
)
# (kind of business, weight, chain-like: some carry a "(xx路店)" suffix)
SHOP_KINDS: tuple[tuple[str, float, bool], ...] = (
    ("超市", 0.20, True), ("便利店", 0.15, True), ("商贸有限公司", 0.10, False),
    ("食品店", 0.07, False), ("烟酒店", 0.08, False), ("批发部", 0.07, False),
    ("药房", 0.07, True), ("大酒店", 0.04, False), ("餐饮管理有限公司", 0.04, False),
    ("百货商店", 0.04, False), ("母婴店", 0.04, True), ("粮油店", 0.03, False),
    ("副食店", 0.04, False), ("日用品商行", 0.03, False),
)
ROADS = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "黄河路", "文化路",
    "胜利路", "朝阳路", "东风路", "幸福路", "光明路", "青年路", "工业路", "民主路", "复兴路",
    "滨江路", "学府路", "府前街", "北京路", "南京路", "延安路", "体育路", "花园路", "友谊路",
    "红旗路", "迎宾大道", "环城路",
)
ADDRESS_TAILS = ("", "", "", "1楼", "底商", "A座1层", "商铺", "一层东侧")
CONTACT_TITLES = ("先生", "女士", "经理", "老板")
PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
)
NOTES = (
    "周末不营业", "需提前电话预约", "老板下午在店", "节假日正常营业", "新开门店",
    "有账期，月底对账", "重点培育客户", "仓库在店铺后面", "午休12:00-14:00不接待",
)
GRADES = ("A", "B", "C", "D")
GRADE_SHARES = (0.10, 0.25, 0.35, 0.20, 0.10)  # A, B, C, D, unrated
GRADE_VISIT_WEIGHTS = (4.0, 2.2, 1.3, 0.7, 0.9)
SOURCES = business_settings.SOURCES  # net, cell, gps
SOURCE_SHARES = (0.40, 0.15, 0.45)
SOURCE_SIGMA_M = (150.0, 300.0, 30.0)  # typical error per axis of each source
ROUTE_NAMES = ("东片线路", "西片线路", "中心线路")
DAILY_PLAN_NAME = "日常拜访"

# Spring Festival (lunar new year) dates; the break is the eve and the six days after.
SPRING_FESTIVAL = (
    date(2020, 1, 25), date(2021, 2, 12), date(2022, 2, 1), date(2023, 1, 22),
    date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6),
    date(2028, 1, 26), date(2029, 2, 13), date(2030, 2, 3), date(2031, 1, 23),
    date(2032, 2, 11), date(2033, 1, 31), date(2034, 2, 19), date(2035, 2, 8),
)

LOGINS: tuple[tuple[str, str, str, str | None], ...] = (
    # username, password, role, department (None = everything)
    ("admin", "visitlens-admin", "admin", None),
    ("supervisor", "visitlens-supervisor", "supervisor", "R01"),
    ("analyst", "visitlens-analyst", "analyst", "B0201"),
)

WORKDAY, WEEKEND, HOLIDAY = 0, 1, 2
_EPOCH = date(1970, 1, 1)


# -- public entry point -------------------------------------------------------------------
def build_demo(
    db_path: str,
    size: str = "small",
    seed: int = 42,
    progress: Progress | None = None,
    samples_dir: Path | None = Path("data/samples"),
    anchor: date | None = None,
) -> list[DemoLogin]:
    """Build (or rebuild) a demo database and write the sample import files.

    Args:
        db_path: the database file. An existing demo database is replaced; any other
            existing file is refused, so real data is never overwritten.
        size: small, medium or large (DESIGN.md section 5).
        seed: the random seed; the same (seed, size, anchor) gives identical tables.
        progress: called with (stage, fraction done).
        samples_dir: where the sample import files go (None = do not write them).
        anchor: the last day with visits (default: today in Asia/Shanghai).

    Returns:
        The demo logins, for the command line to print.

    Raises:
        DemoError: unknown size, or the file exists and is not a demo database.
    """
    if size not in SIZES:
        raise DemoError(f"unknown demo size {size!r}; use one of {', '.join(SIZES)}")
    spec = SIZES[size]
    report: Progress = progress or _no_progress
    anchor = anchor or datetime.now(ZoneInfo(TIMEZONE)).date()
    path = Path(db_path)
    _clear_previous_demo(path)

    rng = np.random.default_rng(seed)
    cal = _calendar(anchor)
    db = Database(path)
    try:
        upgrade(db)
        _insert_holidays(db, cal)
        org = _build_org(db, rng, spec, cal, report)
        arch = _build_archive(db, rng, spec, org, cal, report)
        with db.transaction() as cur:  # customer ids and memberships before any visit
            membership.rebuild(cur)
        planned = _build_plans(db, rng, spec, org, arch, cal, report)
        _build_visits(db, rng, spec, org, arch, cal, planned, report)
        with db.transaction() as cur:  # plans reach past the visits: summarise every day
            summaries.refresh(cur, None)
            summaries.recount_employee_months(cur, None)
        report("users", 0.93)
        logins = _add_logins(db)
        logins.append(_add_phone_login(db))
        with db.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('demo', ?)",
                [json.dumps({"size": size, "seed": seed, "anchor": anchor.isoformat()})],
            )
        db.checkpoint()
    except BaseException:
        db.close()
        _remove_database(path)
        raise
    db.close()
    if samples_dir is not None:
        report("samples", 0.97)
        write_samples(Path(samples_dir))
    report("done", 1.0)
    return logins


def _no_progress(stage: str, fraction: float) -> None:
    return None


def _clear_previous_demo(path: Path) -> None:
    """Delete a previous demo database; refuse any other existing file."""
    if not path.exists():
        _remove_database(path)  # a stray .wal of a deleted file would be replayed
        return
    try:
        with Database(path, read_only=True) as old:
            has_settings = old.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'settings'"
            )
            marker = (
                old.scalar("SELECT value FROM settings WHERE key = 'demo'")
                if has_settings else None
            )
    except DatabaseLockedError as exc:
        raise DemoError(str(exc)) from exc
    except duckdb.Error as exc:
        raise DemoError(
            f"{path} exists and is not a VisitLens database; refusing to overwrite it "
            "(choose another --db or move the file away)"
        ) from exc
    if marker is None:
        raise DemoError(
            f"{path} holds a VisitLens database that is not a demo database; refusing to "
            "overwrite real data (choose another --db, e.g. data/demo.duckdb)"
        )
    _remove_database(path)


def _remove_database(path: Path) -> None:
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)


# -- calendar -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Calendar:
    """Every day from the first visit day to the last plan day.

    Attributes:
        anchor: the last visit day.
        days: day numbers (days since 1970-01-01), first visit day first.
        kind: WORKDAY, WEEKEND or HOLIDAY per day, after the holiday calendar.
        holidays: the rows of the holidays table.
    """

    anchor: date
    days: Ints
    kind: NDArray[np.int8]
    holidays: tuple[tuple[date, str, str], ...]


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def _calendar(anchor: date) -> _Calendar:
    first = anchor - timedelta(days=VISIT_DAYS - 1)
    last = anchor + timedelta(days=PLAN_AHEAD_DAYS)
    days = np.arange(_day_number(first), _day_number(last) + 1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    kind = np.where(weekday >= 5, WEEKEND, WORKDAY).astype(np.int8)
    holidays = _holidays(first, last)
    for day, what, _name in holidays:
        kind[_day_number(day) - days[0]] = HOLIDAY if what == "off" else WORKDAY
    return _Calendar(anchor, days, kind, holidays)


def _holidays(first: date, last: date) -> tuple[tuple[date, str, str], ...]:
    """Public holidays between first and last, and one make-up working Saturday.

    National Day (Oct 1-7), the Spring Festival break, New Year's Day and Labour Day, as a
    Chinese sales team lives them; the make-up Saturday is the first one after a break.
    """
    off: dict[date, str] = {}
    makeup: list[tuple[date, str]] = []
    for year in range(first.year, last.year + 1):
        off[date(year, 1, 1)] = "元旦"
        off.update({date(year, 5, d): "劳动节" for d in range(1, 6)})
        off.update({date(year, 10, d): "国庆节" for d in range(1, 8)})
        makeup.append((_next_saturday(date(year, 10, 8)), "国庆节调休"))
    for new_year in SPRING_FESTIVAL:
        off.update({new_year + timedelta(days=i): "春节" for i in range(-1, 7)})
        makeup.append((_next_saturday(new_year + timedelta(days=7)), "春节调休"))
    rows = [(day, "off", name) for day, name in sorted(off.items()) if first <= day <= last]
    extra = sorted(m for m in makeup if first <= m[0] <= last and m[0] not in off)
    if extra:
        rows.append((extra[0][0], "work", extra[0][1]))
    return tuple(sorted(rows))


def _next_saturday(day: date) -> date:
    return day + timedelta(days=(5 - day.weekday()) % 7)


def _insert_holidays(db: Store, cal: _Calendar) -> None:
    with db.transaction() as cur:
        _register_insert(cur, "holidays", pa.table({
            "day": pa.array([h[0] for h in cal.holidays], pa.date32()),
            "kind": pa.array([h[1] for h in cal.holidays], pa.string()),
            "name": pa.array([h[2] for h in cal.holidays], pa.string()),
        }))


# -- helpers --------------------------------------------------------------------------------
def _codes(prefix: str, width: int, numbers: NDArray[Any]) -> pa.Array:
    """Text codes like E00001: prefix + zero-padded number (codes are text, DESIGN §4)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _pick(words: Sequence[str], index: NDArray[Any], mask: Bools | None = None) -> pa.Array:
    """words[index] as an arrow string array (null where mask is True)."""
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=mask)
    return pa.array(list(words), pa.string()).take(idx)


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _timestamps(seconds: NDArray[Any], mask: Bools | None = None) -> pa.Array:
    """Local wall-clock seconds since 1970 -> arrow TIMESTAMP (no time zone)."""
    micros = np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(micros, pa.int64(), mask=mask).cast(pa.timestamp("us"))


def _floats(values: Floats) -> pa.Array:
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def _group_bounds(sorted_keys: NDArray[Any], n_groups: int) -> tuple[Ints, Ints]:
    """Start and end offsets of each group 0..n_groups-1 in an ascending key array."""
    groups = np.arange(n_groups)
    return (np.searchsorted(sorted_keys, groups, "left").astype(np.int64),
            np.searchsorted(sorted_keys, groups, "right").astype(np.int64))


def _rank_in_group(sorted_keys: NDArray[Any]) -> Ints:
    """0, 1, 2 ... within each run of equal keys of an ascending key array."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, n])
    return np.arange(n, dtype=np.int64) - np.repeat(starts, sizes)


def _weighted_pick(
    rng: np.random.Generator, lo: Ints, hi: Ints, cum_weight: Floats
) -> Ints:
    """One index per draw from [lo, hi), weighted, using the global cumulative weights."""
    base = np.where(lo > 0, cum_weight[np.maximum(lo - 1, 0)], 0.0)
    top = cum_weight[hi - 1]
    target = base + rng.random(len(lo)) * (top - base)
    found = np.searchsorted(cum_weight, target, side="right")
    return np.clip(found, lo, hi - 1).astype(np.int64)


def _person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Chinese names: a common surname (frequent ones more often) and one or two characters."""
    rank = np.arange(len(SURNAMES))
    surname_p = 1.0 / (rank + 8.0)
    surname = rng.choice(len(SURNAMES), n, p=surname_p / surname_p.sum())
    first = rng.integers(0, len(GIVEN_CHARS), n)
    second = rng.integers(0, len(GIVEN_CHARS), n)
    two = rng.random(n) < 0.7
    return _join(_pick(SURNAMES, surname), _pick(GIVEN_CHARS, first),
                 pc.if_else(pa.array(two), _pick(GIVEN_CHARS, second), ""))


def _register_insert(cur: Cursor, table: str, data: pa.Table) -> None:
    """INSERT the arrow table's columns (by name) into `table`."""
    cur.register("gen_rows", data)
    cols = ", ".join(data.column_names)
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM gen_rows")
    cur.unregister("gen_rows")


def _restart_sequence(cur: Cursor, name: str, next_value: int) -> None:
    """Make `name` continue after ids the generator assigned itself (deterministically)."""
    cur.execute(f"DROP SEQUENCE IF EXISTS {name}")
    cur.execute(f"CREATE SEQUENCE {name} START {int(next_value)}")


# -- organisation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Org:
    """Branches and employees (index i = employee code E{i+1:05d})."""

    branch_codes: tuple[str, ...]
    branch_names: tuple[str, ...]
    branch_cities: tuple[str, ...]
    branch_lon: Floats
    branch_lat: Floats
    emp_branch: Ints
    emp_codes: pa.Array
    emp_active: Bools
    emp_first_day: Ints  # first calendar index the employee worked
    emp_last_day: Ints  # last calendar index (the plan horizon for active staff)
    emp_productivity: Floats
    emp_fulfil: Floats
    branch_emp: Ints  # employees sorted by branch
    branch_emp_lo: Ints
    branch_emp_hi: Ints


def _allocate(total: int, weights: Floats, minimum: int) -> Ints:
    """Split `total` by `weights` (largest remainder), each part at least `minimum`."""
    rest = total - minimum * len(weights)
    share = weights / weights.sum() * rest
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: rest - counts.sum()]] += 1
    return counts + minimum


def _build_org(
    db: Store, rng: np.random.Generator, spec: _Size, cal: _Calendar, report: Progress
) -> _Org:
    report("departments", 0.02)
    start = _day_number(cal.anchor) - VISIT_DAYS + 1
    dept_rows: list[tuple[str, str, str | None]] = [(HQ_CODE, "总部", None)]
    codes, names, cities, lons, lats, weights = [], [], [], [], [], []
    for r, (region, region_cities) in enumerate(REGIONS[: spec.regions]):
        region_code = f"R{r + 1:02d}"
        dept_rows.append((region_code, region, HQ_CODE))
        for b, (city, lon, lat) in enumerate(region_cities[: spec.branches_per_region]):
            code = f"B{r + 1:02d}{b + 1:02d}"
            dept_rows.append((code, f"{city}分公司", region_code))
            codes.append(code)
            names.append(f"{city}分公司")
            cities.append(city)
            lons.append(lon)
            lats.append(lat)
            weights.append(REGION_WEIGHTS[r] / (1.0 + 0.3 * b))
    created = datetime(2018, 1, 1, 9, 0)
    with db.transaction() as cur:
        _register_insert(cur, "departments", pa.table({
            "code": [d[0] for d in dept_rows],
            "name": [d[1] for d in dept_rows],
            "parent_code": pa.array([d[2] for d in dept_rows], pa.string()),
            "created_at": pa.array([created] * len(dept_rows), pa.timestamp("us")),
        }))
        derive.refresh_department_tree(cur)

    report("employees", 0.05)
    n = spec.employees
    counts = _allocate(n, np.asarray(weights), 3)
    emp_branch = rng.permutation(np.repeat(np.arange(len(codes)), counts)).astype(np.int64)
    emp_names = _person_names(rng, n)
    n_days = len(cal.days)
    inactive = rng.choice(n, size=max(1, round(n * 0.05)), replace=False)
    active = np.ones(n, bool)
    active[inactive] = False
    first_day = np.zeros(n, np.int64)
    joined = (rng.random(n) < 0.08) & active
    first_day[joined] = rng.integers(20, VISIT_DAYS - 60, joined.sum())
    last_day = np.full(n, n_days - 1, np.int64)
    last_day[~active] = rng.integers(60, VISIT_DAYS - 7, (~active).sum())
    hired = np.where(joined, cal.days[0] + first_day, start - rng.integers(30, 2500, n))
    hired_at = hired * 86400 + 9 * 3600
    productivity = rng.lognormal(0.0, 0.35, n)
    productivity /= productivity.mean()
    fulfil = np.clip(rng.normal(0.72, 0.08, n), 0.45, 0.92)
    emp_codes = _codes("E", 5, np.arange(1, n + 1))
    branch_codes = pa.array(codes).take(pa.array(emp_branch))
    with db.transaction() as cur:
        _register_insert(cur, "employees", pa.table({
            "code": emp_codes,
            "name": emp_names,
            "department_code": branch_codes,
            "status": pa.array(np.where(active, "active", "inactive").tolist(), pa.string()),
            "created_at": _timestamps(hired_at),
        }))
    branch_emp = np.argsort(emp_branch, kind="stable").astype(np.int64)
    lo, hi = _group_bounds(emp_branch[branch_emp], len(codes))
    return _Org(tuple(codes), tuple(names), tuple(cities), np.asarray(lons), np.asarray(lats),
                emp_branch, emp_codes, active, first_day, last_day, productivity, fulfil,
                branch_emp, lo, hi)


# -- customers, bindings, shares, routes ----------------------------------------------------
@dataclass(frozen=True)
class _Archive:
    """Customers (index i = code C{i+1:07d}) and who looks after them."""

    cust_branch: Ints
    cust_lon: Floats  # NaN = no location
    cust_lat: Floats
    cust_codes: pa.Array
    branch_cust: Ints  # customers sorted by branch
    branch_cust_lo: Ints
    branch_cust_hi: Ints
    branch_cum_weight: Floats  # cumulative visit weight along branch_cust
    bind_emp: Ints  # bindings sorted by employee
    bind_cust: Ints
    emp_bind_lo: Ints
    emp_bind_hi: Ints
    bind_cum_weight: Floats  # cumulative visit weight along the bindings
    route_emp: Ints  # routes in id order (route_id = index + 1)
    route_number: Ints  # 0, 1, 2: the route's name in ROUTE_NAMES
    route_lo: Ints  # items of route r: route_cust[route_lo[r]:route_hi[r]]
    route_hi: Ints
    route_cust: Ints
    emp_route_lo: Ints
    emp_route_hi: Ints


def _build_archive(
    db: Store,
    rng: np.random.Generator,
    spec: _Size,
    org: _Org,
    cal: _Calendar,
    report: Progress,
) -> _Archive:
    report("customers", 0.10)
    n = spec.customers
    n_branch = len(org.branch_codes)
    branch_share = (org.branch_emp_hi - org.branch_emp_lo).astype(float)
    branch = rng.choice(n_branch, n, p=branch_share / branch_share.sum()).astype(np.int64)
    grade = rng.choice(len(GRADE_SHARES), n, p=GRADE_SHARES)
    spread_m = np.where(rng.random(n) < 0.75, 3000.0, 8000.0)
    lat = org.branch_lat[branch] + rng.normal(0, 1, n) * spread_m / M_PER_DEG
    lon = org.branch_lon[branch] + rng.normal(0, 1, n) * spread_m / (
        M_PER_DEG * np.cos(np.radians(org.branch_lat[branch])))
    no_location = rng.random(n) < 0.03
    lat[no_location] = np.nan
    lon[no_location] = np.nan

    kind_p = np.asarray([k[1] for k in SHOP_KINDS])
    kind = rng.choice(len(SHOP_KINDS), n, p=kind_p / kind_p.sum())
    chain = np.asarray([k[2] for k in SHOP_KINDS])[kind] & (rng.random(n) < 0.4)
    road = rng.integers(0, len(ROADS), n)
    city = _pick(org.branch_cities, branch)
    road_name = _pick(ROADS, road)
    name = _join(city, _pick(BRAND_FIRST, rng.integers(0, len(BRAND_FIRST), n)),
                 _pick(BRAND_SECOND, rng.integers(0, len(BRAND_SECOND), n)),
                 _pick([k[0] for k in SHOP_KINDS], kind),
                 pc.if_else(pa.array(chain), _join("(", road_name, "店)"), ""))
    house = pc.cast(pa.array(rng.integers(1, 1000, n)), pa.string())
    address = _join(city, "市", road_name, house, "号",
                    _pick(ADDRESS_TAILS, rng.integers(0, len(ADDRESS_TAILS), n)))
    person = _person_names(rng, n)
    titled = rng.random(n) < 0.3
    contact = pc.if_else(
        pa.array(titled),
        _join(pc.utf8_slice_codeunits(person, 0, 1),
              _pick(CONTACT_TITLES, rng.integers(0, len(CONTACT_TITLES), n))),
        person)
    phone = _join(_pick(PHONE_PREFIXES, rng.integers(0, len(PHONE_PREFIXES), n)),
                  pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**8, n)), pa.string()), 8, "0"))
    assigned = rng.random(n) < 0.30
    has_note = rng.random(n) < 0.06
    note = _pick(NOTES, rng.integers(0, len(NOTES), n), mask=~has_note)
    start = int(cal.days[0])
    created_day = start - rng.integers(1, 1500, n)
    created_at = _timestamps(created_day * 86400 + rng.integers(9 * 3600, 18 * 3600, n))
    cust_codes = _codes("C", 7, np.arange(1, n + 1))
    with db.transaction() as cur:
        _register_insert(cur, "customers", pa.table({
            "code": cust_codes,
            "name": name,
            "grade": _pick(GRADES, np.minimum(grade, 3), mask=grade == 4),
            "address": address,
            "longitude": _floats(lon),
            "latitude": _floats(lat),
            "contact": contact,
            "phone": phone,
            "department_code": _pick(org.branch_codes, branch, mask=~assigned),
            "note": note,
            "created_at": created_at,
            "updated_at": created_at,
        }))

    report("bindings", 0.16)
    weight = np.asarray(GRADE_VISIT_WEIGHTS)[grade]
    u = rng.random(n)
    owners = np.where(u < 0.05, 0, np.where(u < 0.90, 1, 2))
    count = (org.branch_emp_hi - org.branch_emp_lo)[branch]
    first_slot = np.floor(rng.random(n) * count).astype(np.int64)
    second_slot = (first_slot + 1 + np.floor(rng.random(n) * (count - 1)).astype(np.int64)) % count
    lo = org.branch_emp_lo[branch]
    owner1 = org.branch_emp[lo + first_slot]
    owner2 = org.branch_emp[lo + second_slot]
    bind_emp = np.concatenate([owner1[owners >= 1], owner2[owners >= 2]])
    bind_cust = np.concatenate([np.flatnonzero(owners >= 1), np.flatnonzero(owners >= 2)])
    order = np.lexsort((bind_cust, bind_emp))
    bind_emp, bind_cust = bind_emp[order], bind_cust[order]
    emp_bind_lo, emp_bind_hi = _group_bounds(bind_emp, spec.employees)
    bind_day = created_day[bind_cust] + rng.integers(0, 30, len(bind_cust))
    bind_created = bind_day * 86400 + 10 * 3600
    shares = _shares(rng, org)
    with db.transaction() as cur:
        _register_insert(cur, "bindings", pa.table({
            "employee_code": org.emp_codes.take(pa.array(bind_emp)),
            "customer_code": cust_codes.take(pa.array(bind_cust)),
            "created_at": _timestamps(bind_created),
        }))
        _register_insert(cur, "shares", pa.table({
            "from_employee_code": org.emp_codes.take(pa.array(shares[:, 0])),
            "to_employee_code": org.emp_codes.take(pa.array(shares[:, 1])),
            "created_at": _timestamps((start + 60 + np.arange(len(shares)) * 7) * 86400
                                      + 11 * 3600),
        }))

    report("routes", 0.20)
    routes = _routes(rng, spec.employees, bind_emp, bind_cust, emp_bind_lo)
    route_emp, route_j, route_lo, route_hi, route_cust = routes
    route_items = route_hi - route_lo
    with db.transaction() as cur:
        _register_insert(cur, "routes", pa.table({
            "route_id": np.arange(1, len(route_emp) + 1, dtype=np.int64),
            "employee_code": org.emp_codes.take(pa.array(route_emp)),
            "route_name": _pick(ROUTE_NAMES, route_j),
            "created_at": _timestamps((start - 20 - route_j) * 86400 + 17 * 3600),
        }))
        item_route = np.repeat(np.arange(len(route_emp)), route_items)
        _register_insert(cur, "route_items", pa.table({
            "route_id": item_route + 1,
            "position": (_rank_in_group(item_route) + 1).astype(np.int32),
            "customer_code": cust_codes.take(pa.array(route_cust)),
        }))
        _restart_sequence(cur, "seq_route", len(route_emp) + 1)
    emp_route_lo, emp_route_hi = _group_bounds(route_emp, spec.employees)

    branch_cust = np.argsort(branch, kind="stable").astype(np.int64)
    branch_cust_lo, branch_cust_hi = _group_bounds(branch[branch_cust], n_branch)
    return _Archive(
        cust_branch=branch, cust_lon=lon, cust_lat=lat, cust_codes=cust_codes,
        branch_cust=branch_cust, branch_cust_lo=branch_cust_lo, branch_cust_hi=branch_cust_hi,
        branch_cum_weight=np.cumsum(weight[branch_cust]), bind_emp=bind_emp,
        bind_cust=bind_cust, emp_bind_lo=emp_bind_lo, emp_bind_hi=emp_bind_hi,
        bind_cum_weight=np.cumsum(weight[bind_cust]), route_emp=route_emp,
        route_number=route_j, route_lo=route_lo, route_hi=route_hi, route_cust=route_cust,
        emp_route_lo=emp_route_lo, emp_route_hi=emp_route_hi,
    )


def _shares(rng: np.random.Generator, org: _Org) -> Ints:
    """A handful of (from, to) shares between active colleagues of one branch."""
    wanted = max(4, len(org.emp_branch) // 150)
    found: dict[tuple[int, int], None] = {}
    for _ in range(wanted * 4):
        if len(found) >= wanted:
            break
        b = int(rng.integers(0, len(org.branch_codes)))
        staff = org.branch_emp[org.branch_emp_lo[b]: org.branch_emp_hi[b]]
        staff = staff[org.emp_active[staff]]
        if len(staff) < 2:
            continue
        a, c = rng.choice(staff, 2, replace=False)
        found[(int(a), int(c))] = None
    return np.asarray(list(found), np.int64).reshape(-1, 2)


def _routes(
    rng: np.random.Generator, n_emp: int, bind_emp: Ints, bind_cust: Ints, emp_bind_lo: Ints
) -> tuple[Ints, Ints, Ints, Ints, Ints]:
    """Each employee's 2-3 routes of 5-10 of their own customers, disjoint.

    The employee's bound customers are shuffled and cut into slots of ten; route j takes
    the first 5-10 customers of slot j. Routes left with fewer than 5 customers (an
    employee with few customers) are dropped.

    Returns:
        (route_emp, route_number, item_lo, item_hi, item_customer), routes in
        (employee, number) order.
    """
    n_routes = rng.integers(2, 4, n_emp)
    length = rng.integers(5, 11, (n_emp, 3))
    shuffle = np.lexsort((rng.random(len(bind_emp)), bind_emp))
    emp, cust = bind_emp[shuffle], bind_cust[shuffle]
    rank = np.arange(len(emp)) - emp_bind_lo[emp]
    j, pos = rank // 10, rank % 10
    keep = j < n_routes[emp]
    keep[keep] &= pos[keep] < length[emp[keep], j[keep]]
    emp, cust, j = emp[keep], cust[keep], j[keep]
    key = emp * 3 + j
    sizes = np.bincount(key, minlength=n_emp * 3)
    full = sizes >= 5
    item_keep = full[key]
    emp, cust, key = emp[item_keep], cust[item_keep], key[item_keep]
    route_keys = np.flatnonzero(full)
    counts = sizes[route_keys]
    hi = np.cumsum(counts)
    return (route_keys // 3, route_keys % 3, hi - counts, hi, cust)


# -- plans ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Planned:
    """The plan items that were fulfilled: a visit that day by that employee to that customer."""

    emp: Ints
    day: Ints
    cust: Ints


def _plan_rate(spec: _Size, cal: _Calendar) -> float:
    """Share of an employee's workdays with a plan.

    Most staff plan most workdays; but when the size's visit target is low (small: about
    1.6 visits a day per person) planning every day would make the plans alone exceed it,
    so the rate is lowered until planned visits are about 60% of all visits.
    """
    workdays = int((cal.kind[:VISIT_DAYS] == WORKDAY).sum())
    visits_per_day = spec.visits / (spec.employees * 0.95 * workdays)
    fulfilled_per_plan = 5.9 * 0.72
    return float(min(0.85, 0.6 * visits_per_day / fulfilled_per_plan))


def _build_plans(
    db: Store,
    rng: np.random.Generator,
    spec: _Size,
    org: _Org,
    arch: _Archive,
    cal: _Calendar,
    report: Progress,
) -> _Planned:
    report("plans", 0.24)
    n_emp = spec.employees
    workdays = np.flatnonzero(cal.kind == WORKDAY)
    has_customers = arch.emp_bind_hi > arch.emp_bind_lo
    # plans[w, e]: np.nonzero walks it by date, then employee: the order of plan ids
    on_duty = ((workdays[:, None] >= org.emp_first_day[None, :])
               & (workdays[:, None] <= org.emp_last_day[None, :]) & has_customers[None, :])
    chosen = on_duty & (rng.random((len(workdays), n_emp)) < _plan_rate(spec, cal))
    plan_w, plan_emp = np.nonzero(chosen)
    plan_day = workdays[plan_w].astype(np.int64)
    plan_emp = plan_emp.astype(np.int64)
    n_plans = len(plan_emp)

    route_count = (arch.emp_route_hi - arch.emp_route_lo)[plan_emp]
    from_route = (rng.random(n_plans) < 0.3) & (route_count > 0)
    route = arch.emp_route_lo[plan_emp] + np.floor(
        rng.random(n_plans) * np.maximum(route_count, 1)).astype(np.int64)
    route = np.where(from_route, route, -1)

    # Route plans copy the route's customers in order.
    r_plans = np.flatnonzero(from_route)
    r_len = (arch.route_hi - arch.route_lo)[route[r_plans]]
    r_plan = np.repeat(r_plans, r_len)
    r_pos = _rank_in_group(r_plan)
    r_cust = arch.route_cust[np.repeat(arch.route_lo[route[r_plans]], r_len) + r_pos]

    # Other plans: 3-8 of the employee's customers, important (A) ones more often.
    c_plans = np.flatnonzero(~from_route)
    size = rng.integers(3, 9, len(c_plans))
    draws = np.repeat(c_plans, size + 3)
    emp_of = plan_emp[draws]
    bind = _weighted_pick(rng, arch.emp_bind_lo[emp_of], arch.emp_bind_hi[emp_of],
                          arch.bind_cum_weight)
    cust = arch.bind_cust[bind]
    _, first = np.unique(draws * len(arch.cust_branch) + cust, return_index=True)
    first.sort()
    c_plan, c_cust = draws[first], cust[first]
    c_pos = _rank_in_group(c_plan)
    limit = np.zeros(n_plans, np.int64)
    limit[c_plans] = size
    keep = c_pos < limit[c_plan]
    c_plan, c_cust, c_pos = c_plan[keep], c_cust[keep], c_pos[keep]

    item_plan = np.concatenate([r_plan, c_plan])
    item_pos = np.concatenate([r_pos, c_pos])
    item_cust = np.concatenate([r_cust, c_cust])
    order = np.argsort(item_plan * 16 + item_pos, kind="stable")
    item_plan, item_pos, item_cust = item_plan[order], item_pos[order], item_cust[order]

    number = arch.route_number[route] if len(arch.route_number) else np.zeros(n_plans)
    route_name = _pick(ROUTE_NAMES, np.where(from_route, number, 0), mask=~from_route)
    plan_name = pc.if_else(pa.array(from_route), route_name, DAILY_PLAN_NAME)
    created = ((cal.days[plan_day] - 1) * 86400 + 17 * 3600
               + rng.integers(0, 4 * 3600, n_plans))
    plan_dates = pa.array(cal.days[plan_day].astype(np.int32), pa.date32())
    report("plans", 0.30)
    with db.transaction() as cur:
        _register_insert(cur, "plans", pa.table({
            "plan_id": np.arange(1, n_plans + 1, dtype=np.int64),
            "employee_code": org.emp_codes.take(pa.array(plan_emp)),
            "plan_date": plan_dates,
            "plan_name": plan_name,
            "route_name": route_name,
            "created_at": _timestamps(created),
        }))
        _register_insert(cur, "plan_items", pa.table({
            "plan_id": item_plan + 1,
            "position": (item_pos + 1).astype(np.int32),
            "employee_code": org.emp_codes.take(pa.array(plan_emp[item_plan])),
            "plan_date": plan_dates.take(pa.array(item_plan)),
            "customer_code": arch.cust_codes.take(pa.array(item_cust)),
        }))
        _restart_sequence(cur, "seq_plan", n_plans + 1)

    # Which past items were kept: each employee keeps about 72% of their plan.
    item_emp = plan_emp[item_plan]
    item_day = plan_day[item_plan]
    done = (item_day < VISIT_DAYS) & (rng.random(len(item_plan)) < org.emp_fulfil[item_emp])
    return _Planned(item_emp[done], item_day[done], item_cust[done])


# -- visits ---------------------------------------------------------------------------------
def _build_visits(
    db: Store,
    rng: np.random.Generator,
    spec: _Size,
    org: _Org,
    arch: _Archive,
    cal: _Calendar,
    planned: _Planned,
    report: Progress,
) -> None:
    report("visits", 0.36)
    emp, day, cust = _visit_targets(rng, spec, org, arch, cal, planned)
    check_in, stay = _visit_times(rng, emp, day, cal)
    # Chronological order; equal times by employee, then customer.
    rel = check_in - int(cal.days[0]) * 86400
    order = np.argsort((rel << 33) | (emp << 20) | cust, kind="stable")
    emp, day, cust, check_in, stay = emp[order], day[order], cust[order], check_in[order], \
        stay[order]
    table = _visit_table(rng, emp, cust, check_in, stay, arch, org)
    report("visits", 0.50)

    settings = business_settings.load(db)
    bounds = np.linspace(0, VISIT_DAYS, spec.visit_chunks + 1).round().astype(np.int64)
    cuts = np.searchsorted(day, bounds)
    for i in range(spec.visit_chunks):
        lo, hi = int(cuts[i]), int(cuts[i + 1])
        with db.transaction() as cur:
            cur.register("gen_visits", table.slice(lo, hi - lo))
            cols = ", ".join(load_visits.VISIT_COLUMNS)
            cur.execute(f"CREATE OR REPLACE TEMP TABLE imp_new AS SELECT {cols} FROM gen_visits")
            load_visits.insert_new_visits(cur, settings, None)
            cur.execute("DROP TABLE imp_new")
            cur.unregister("gen_visits")
        report("visits", 0.50 + 0.42 * (i + 1) / spec.visit_chunks)


def _visit_targets(
    rng: np.random.Generator,
    spec: _Size,
    org: _Org,
    arch: _Archive,
    cal: _Calendar,
    planned: _Planned,
) -> tuple[Ints, Ints, Ints]:
    """(employee, day, customer) of every visit: kept plan items plus unplanned visits.

    Unplanned visits fall on (employee, day) cells by the employee's productivity and the
    kind of day (weekends light, holidays rare); most go to the employee's own customers,
    the rest to other customers of the branch, important ones more often.
    """
    unplanned = max(spec.visits - len(planned.emp), spec.visits // 6)
    day_weight = np.choose(cal.kind[:VISIT_DAYS], (1.0, 0.09, 0.03))
    days = np.arange(VISIT_DAYS)
    on_duty = ((days[None, :] >= org.emp_first_day[:, None])
               & (days[None, :] <= org.emp_last_day[:, None]))
    rate = org.emp_productivity[:, None] * day_weight[None, :] * on_duty
    counts = rng.poisson(rate * (unplanned / rate.sum()))
    cell_emp, cell_day = np.nonzero(counts)
    per_cell = counts[cell_emp, cell_day]
    u_emp = np.repeat(cell_emp, per_cell).astype(np.int64)
    u_day = np.repeat(cell_day, per_cell).astype(np.int64)

    own = (rng.random(len(u_emp)) < 0.85) & (arch.emp_bind_hi[u_emp] > arch.emp_bind_lo[u_emp])
    u_cust = np.empty(len(u_emp), np.int64)
    bind = _weighted_pick(rng, arch.emp_bind_lo[u_emp[own]], arch.emp_bind_hi[u_emp[own]],
                          arch.bind_cum_weight)
    u_cust[own] = arch.bind_cust[bind]
    branch = org.emp_branch[u_emp[~own]]
    slot = _weighted_pick(rng, arch.branch_cust_lo[branch], arch.branch_cust_hi[branch],
                          arch.branch_cum_weight)
    u_cust[~own] = arch.branch_cust[slot]
    return (np.concatenate([planned.emp, u_emp]), np.concatenate([planned.day, u_day]),
            np.concatenate([planned.cust, u_cust]))


def _visit_times(
    rng: np.random.Generator, emp: Ints, day: Ints, cal: _Calendar
) -> tuple[Ints, Ints]:
    """Check-in time and stay (seconds) of each visit, never overlapping for one person.

    Each visit gets a wished time of day (a morning peak around 10:00, an afternoon peak
    around 15:00, a lunch dip between); an employee's visits of a day are taken in that
    order and each one starts no earlier than the previous stay plus travel allows:
    t_i = max(wish_i, t_(i-1) + stay_(i-1) + travel_(i-1)), computed for all days at once
    as C_i + running max of (wish_j - C_j), C being the cumulative stay and travel. Stays
    are lognormal with a median of 25 minutes, about 12% under 10 minutes; on a crowded
    day (a busy person's day of 12 visits and more) stays and travel are shortened so the
    round still ends in the early evening.
    """
    n = len(emp)
    stay = np.clip(np.round(rng.lognormal(np.log(25.5 * 60), 0.77, n)), 60, 5 * 3600)
    travel = np.clip(rng.lognormal(np.log(12 * 60), 0.6, n), 180, 5400)
    morning = rng.random(n) < 0.55
    wish = np.where(morning, rng.normal(10 * 3600, 70 * 60, n), rng.normal(15 * 3600, 75 * 60, n))
    wish = np.clip(wish, 7.75 * 3600, 18.5 * 3600).astype(np.int64)
    order = np.argsort((emp << 50) | (day << 41) | wish, kind="stable")
    inverse = np.empty(n, np.int64)
    inverse[order] = np.arange(n)
    g_emp, g_day, g_wish = emp[order], day[order], wish[order]
    starts = np.flatnonzero(np.r_[True, (g_emp[1:] != g_emp[:-1]) | (g_day[1:] != g_day[:-1])])
    sizes = np.diff(np.r_[starts, n])
    # A crowded day is done faster: travel shrinks first, then the stays, to fit the
    # round into about 8.5 hours.
    day_stay = np.add.reduceat(stay[order], starts)
    day_travel = np.add.reduceat(travel[order], starts)
    travel_pace = np.clip((8.5 * 3600 - day_stay) / day_travel, 0.3, 1.0)
    stay_pace = np.clip((8.5 * 3600 - travel_pace * day_travel) / day_stay, 0.5, 1.0)
    for values, pace in ((travel, travel_pace), (stay, stay_pace)):
        values[order] *= np.repeat(pace, sizes)
    stay = np.maximum(np.round(stay), 60)
    step = np.round((stay + travel)[order]).astype(np.int64)
    before = np.cumsum(step) - step
    elapsed = before - np.repeat(before[starts], sizes)
    # A per-day offset far above any (wish - elapsed) keeps the running max inside each day.
    lift = np.repeat(np.arange(len(starts), dtype=np.int64), sizes) * 10_000_000
    seconds = elapsed + np.maximum.accumulate(g_wish - elapsed + lift) - lift
    seconds = np.minimum(seconds, 23 * 3600 + 1800)
    check_in = cal.days[g_day] * 86400 + seconds
    return check_in[inverse], stay.astype(np.int64)


def _offset(
    rng: np.random.Generator, lon: Floats, lat: Floats, metres: Floats
) -> tuple[Floats, Floats]:
    """Move each point by `metres` in a random direction."""
    angle = rng.random(len(lon)) * 2 * np.pi
    dlat = metres * np.cos(angle) / M_PER_DEG
    dlon = metres * np.sin(angle) / (M_PER_DEG * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def _scatter(rng: np.random.Generator, sigma: Floats) -> Floats:
    """Distance of a 2-D normal error with `sigma` per axis (Rayleigh)."""
    return sigma * np.sqrt(-2.0 * np.log1p(-rng.random(len(sigma))))


def _visit_table(
    rng: np.random.Generator,
    emp: Ints,
    cust: Ints,
    check_in: Ints,
    stay: Ints,
    arch: _Archive,
    org: _Org,
) -> pa.Table:
    """The visits as an arrow table with the columns of load_visits.VISIT_COLUMNS (WGS-84).

    Check-in near the customer (tens of metres by GPS, hundreds by network or cell), about
    5% far beyond the limit, 2% without location; 6% never checked out; the check-out is
    usually where the check-in was.
    """
    n = len(emp)
    limits = np.asarray([1000.0, 1000.0, 500.0])  # the default limits of net, cell, gps
    sigma = np.asarray(SOURCE_SIGMA_M)
    # Where the employee really was: the customer, or for customers without a location
    # somewhere in the branch's city.
    base_lon, base_lat = arch.cust_lon[cust].copy(), arch.cust_lat[cust].copy()
    lost = np.isnan(base_lon)
    branch = arch.cust_branch[cust[lost]]
    base_lon[lost], base_lat[lost] = _offset(rng, org.branch_lon[branch], org.branch_lat[branch],
                                             _scatter(rng, np.full(lost.sum(), 2500.0)))

    in_src = rng.choice(3, n, p=SOURCE_SHARES)
    far = rng.random(n) < 0.05
    dist = np.where(far, limits[in_src] * np.exp(rng.uniform(np.log(1.3), np.log(15.0), n)),
                    _scatter(rng, sigma[in_src]))
    in_lon, in_lat = _offset(rng, base_lon, base_lat, dist)
    no_in = rng.random(n) < 0.02
    in_lon[no_in] = np.nan
    in_lat[no_in] = np.nan

    out_src = np.where(rng.random(n) < 0.8, in_src, rng.choice(3, n, p=SOURCE_SHARES))
    from_lon = np.where(no_in, base_lon, in_lon)
    from_lat = np.where(no_in, base_lat, in_lat)
    moved = rng.random(n) < 0.015
    out_dist = np.where(moved, rng.uniform(2000.0, 10000.0, n), _scatter(rng, sigma[out_src]))
    out_lon, out_lat = _offset(rng, from_lon, from_lat, out_dist)
    no_out = rng.random(n) < 0.06
    no_out_loc = no_out | (rng.random(n) < 0.01)
    out_lon[no_out_loc] = np.nan
    out_lat[no_out_loc] = np.nan
    return pa.table({
        "visit_id": _codes("V", 9, np.arange(1, n + 1)),
        "employee_code": org.emp_codes.take(pa.array(emp)),
        "customer_code": arch.cust_codes.take(pa.array(cust)),
        "check_in_at": _timestamps(check_in),
        "check_in_lon": _floats(in_lon),
        "check_in_lat": _floats(in_lat),
        "check_in_source": _pick(SOURCES, in_src, mask=no_in),
        "check_out_at": _timestamps(check_in + stay, mask=no_out),
        "check_out_lon": _floats(out_lon),
        "check_out_lat": _floats(out_lat),
        "check_out_source": _pick(SOURCES, out_src, mask=no_out_loc),
    })


# -- users ----------------------------------------------------------------------------------
def _add_logins(db: Store) -> list[DemoLogin]:
    """The three demo users: one per role, scoped to show what each role sees."""
    names = dict(db.rows("SELECT code, name FROM departments"))
    logins = []
    for username, password, role, department in LOGINS:
        add_user(db, username, password, role, (department,) if department else ())
        scope = f"{names[department]} ({department})" if department else "everything"
        logins.append(DemoLogin(username, password, f"{role} — {scope}"))
    return logins


PHONE_PASSWORD = "visitlens-phone"


def _add_phone_login(db: Store) -> DemoLogin:
    """An API password for one employee of the supervisor's region, so that the curl
    session of docs/API.md works against `make demo`: the first active one by code who
    looks after customers and has plans."""
    region = next(dep for _user, _pw, role, dep in LOGINS if role == "supervisor")
    row = db.execute(
        """SELECT e.code, e.name, d.name FROM employees AS e
           JOIN department_tree AS t ON t.descendant_code = e.department_code
           JOIN departments AS d ON d.code = e.department_code
           WHERE t.ancestor_code = ? AND e.status = 'active'
             AND EXISTS (SELECT 1 FROM bindings AS b WHERE b.employee_code = e.code)
             AND EXISTS (SELECT 1 FROM plans AS p WHERE p.employee_code = e.code)
           ORDER BY e.code LIMIT 1""",
        [region],
    ).fetchone()
    if row is None:
        raise DemoError("the demo has no active employee with customers for the phone login")
    set_employee_password(db, str(row[0]), PHONE_PASSWORD)
    return DemoLogin(str(row[0]), PHONE_PASSWORD,
                     f"employee (phone API only, docs/API.md) — {row[1]}, {row[2]}")


# -- sample import files --------------------------------------------------------------------
# Fixed rows with their own codes (prefix S) for the demo database (`visitlens demo`, any
# size or seed): the customer files name the demo's branches and staff (B0101, E00001…), so
# each imports cleanly on its own; employees.csv needs departments.csv first, visits.csv and
# plans.csv visit the customers of customers.csv (made by the demo's staff). Importing them
# in the order of SAMPLE_FILES succeeds without problems. customers_with_errors.csv is the
# exception on purpose (SAMPLE_ERROR_CUSTOMERS).
SAMPLE_DEPARTMENTS: tuple[tuple[str, ...], ...] = (
    ("SHQ", "样例商贸集团", ""),
    ("SR01", "东北大区", "SHQ"),
    ("SB0101", "沈阳分公司", "SR01"),
    ("SB0102", "大连分公司", "SR01"),
    ("SB0103", "长春分公司", "SR01"),
    ("SB0104", "哈尔滨分公司", "SR01"),
    ("SR02", "内蒙古大区", "SHQ"),
    ("SB0201", "呼和浩特分公司", "SR02"),
    ("SB0202", "包头分公司", "SR02"),
    ("SB0203", "鄂尔多斯分公司", "SR02"),
)
SAMPLE_EMPLOYEES: tuple[tuple[str, ...], ...] = (
    ("S00001", "王建国", "SB0101", "在职"),
    ("S00002", "李晓燕", "SB0101", "在职"),
    ("S00003", "张伟", "SB0101", "离职"),
    ("S00004", "刘海涛", "SB0102", "在职"),
    ("S00005", "陈静", "SB0102", "active"),
    ("S00006", "杨帆", "SB0103", "在职"),
    ("S00007", "赵丽", "SB0104", "在职"),
    ("S00008", "周鹏飞", "SB0104", ""),
    ("S00009", "吴敏", "SB0201", "在职"),
    ("S00010", "孙浩", "SB0202", "在职"),
    ("S00011", "马志强", "SB0203", "在职"),
    ("S00012", "高婷", "SB0201", "inactive"),
)
# code suffix, name, grade, address, lon, lat (WGS-84), coord_system, contact, phone,
# department_code, owner_codes, note. The gcj02 row is converted from WGS-84 when written.
SAMPLE_CUSTOMERS: tuple[tuple[str, ...], ...] = (
    ("01", "沈阳鑫隆超市(中山路店)", "A", "沈阳市中山路118号", "123.4190", "41.7990", "wgs84",
     "王先生", "13840001234", "B0101", "E00001", "周末不营业"),
    ("02", "沈阳华联便利店", "B", "沈阳市北京街25号", "123.4380", "41.8120", "",
     "李娜", "13940005678", "", "E00001;E00002", ""),
    ("03", "沈阳永福药房", "C", "沈阳市青年大街301号", "123.4420", "41.7860", "gcj02",
     "赵敏", "15840009012", "B0101", "E00002", "需提前电话预约"),
    ("04", "大连盛达商贸有限公司", "A", "大连市人民路66号", "121.6400", "38.9210", "",
     "刘经理", "13604112345", "B0102", "E00004", ""),
    ("05", "大连金源烟酒店", "D", "大连市解放路210号", "121.6020", "38.9010", "wgs84",
     "陈老板", "18641106789", "", "E00004;E00005", ""),
    ("06", "长春佳友食品店", "", "长春市人民大街500号", "125.3240", "43.8680", "wgs84",
     "孙丽", "13504310011", "B0201", "E00006", "新开门店"),
    ("07", "长春恒泰批发部", "B", "长春市重庆路88号", "", "", "",
     "周先生", "13756782233", "", "E00006", "地址待核实"),
    ("08", "哈尔滨康源超市", "A", "哈尔滨市中央大街12号", "126.6190", "45.7740", "wgs84",
     "吴女士", "13904511122", "B0202", "E00007;E00008", "重点培育客户\n月底对账"),
    ("09", "哈尔滨德顺粮油店", "C", "哈尔滨市红旗大街77号", "126.6600", "45.7580", "",
     "郑老板", "15904513344", "", "E00008", ""),
    ("10", "呼和浩特万家母婴店", "B", "呼和浩特市新华大街150号", "111.6700", "40.8190", "",
     "高倩", "13847105566", "B0301", "E00009", ""),
    ("11", "包头百惠大酒店", "A", "包头市钢铁大街35号", "109.8400", "40.6570", "wgs84",
     "马经理", "15804727788", "B0302", "E00010", "节假日正常营业"),
    ("12", "鄂尔多斯安和日用品商行", "D", "鄂尔多斯市鄂尔多斯大街9号", "109.7810", "39.6080",
     "", "林先生", "18947709900", "", "E00011", ""),
)
# visit_id, employee, customer suffix, check-in, in lon, in lat, in source, check-out,
# out lon, out lat, out source, coord_system
SAMPLE_VISITS: tuple[tuple[str, ...], ...] = (
    ("SV0000001", "E00001", "01", "2026-11-16 09:05:00", "123.4195", "41.7993", "GPS",
     "2026-11-16 09:38:20", "123.4192", "41.7991", "GPS", ""),
    ("SV0000002", "E00001", "02", "2026-11-16 10:12:00", "123.4391", "41.8128", "网络",
     "2026-11-16 10:41:00", "123.4388", "41.8125", "网络", ""),
    ("SV0000003", "E00002", "03", "2026-11-16 14:20:00", "123.4423", "41.7862", "gps",
     "2026-11-16 14:27:30", "123.4424", "41.7863", "gps", "gcj02"),
    ("SV0000004", "E00004", "04", "2026-11-17 09:30:00", "121.6405", "38.9213", "基站",
     "2026-11-17 10:05:00", "121.6402", "38.9212", "基站", ""),
    ("SV0000005", "E00005", "05", "2026-11-17 11:00:00", "121.6690", "38.9400", "net",
     "2026-11-17 11:35:00", "121.6688", "38.9401", "net", ""),
    ("SV0000006", "E00006", "06", "2026-11-17 15:10:00", "125.3245", "43.8683", "网络",
     "", "", "", "", ""),
    ("SV0000007", "E00006", "07", "2026-11-18 09:45:00", "125.3300", "43.8700", "cell",
     "2026-11-18 10:20:00", "125.3301", "43.8702", "cell", ""),
    ("SV0000008", "E00007", "08", "2026-11-18 10:05:00+08:00", "126.6192", "45.7741", "gps",
     "2026-11-18 10:52:00+08:00", "126.6193", "45.7742", "gps", ""),
    ("SV0000009", "E00008", "09", "2026-11-18 13:30:00", "", "", "",
     "2026-11-18 14:01:00", "126.6602", "45.7581", "网络", ""),
    ("SV0000010", "E00009", "10", "2026-11-19 09:20:00", "111.6705", "40.8192", "gps",
     "2026-11-19 09:58:00", "111.6703", "40.8190", "gps", ""),
    ("SV0000011", "E00010", "11", "2026-11-19 10:40:00", "109.8410", "40.6575", "网络",
     "2026-11-19 11:30:00", "109.8412", "40.6577", "网络", ""),
    ("SV0000012", "E00011", "12", "2026-11-19 16:00:00", "109.7815", "39.6082", "gps",
     "2026-11-19 16:25:00", "", "", "", ""),
    ("SV0000013", "E00001", "01", "2026-11-20 09:10:00", "123.4191", "41.7989", "gps",
     "2026-11-20 09:55:00", "123.4190", "41.7990", "gps", ""),
    ("SV0000014", "E00002", "02", "2026-11-20 14:00:00", "123.4379", "41.8121", "基站",
     "2026-11-20 14:36:00", "123.4377", "41.8119", "基站", ""),
    ("SV0000015", "E00004", "05", "2026-11-20 15:15:00", "121.6025", "38.9012", "gps",
     "2026-11-20 15:48:00", "121.6024", "38.9011", "gps", ""),
)
# employee, date, plan name, customer suffix, route name
SAMPLE_PLANS: tuple[tuple[str, ...], ...] = (
    ("E00001", "2026-11-30", "日常拜访", "01", ""),
    ("E00001", "2026-11-30", "日常拜访", "02", ""),
    ("E00001", "2026-11-30", "日常拜访", "03", ""),
    ("E00002", "2026-11-30", "东片线路", "03", "东片线路"),
    ("E00002", "2026-11-30", "东片线路", "02", "东片线路"),
    ("E00004", "2026-12-01", "日常拜访", "04", ""),
    ("E00004", "2026-12-01", "日常拜访", "05", ""),
    ("E00006", "2026-12-01", "重点客户拜访", "06", ""),
    ("E00006", "2026-12-01", "重点客户拜访", "07", ""),
    ("E00007", "2026-12-02", "日常拜访", "08", ""),
    ("E00008", "2026-12-02", "日常拜访", "08", ""),
    ("E00008", "2026-12-02", "日常拜访", "09", ""),
    ("E00009", "2026-12-03", "日常拜访", "10", ""),
    ("E00010", "2026-12-03", "日常拜访", "11", ""),
    ("E00011", "2026-12-03", "日常拜访", "12", ""),
)
SAMPLE_HOLIDAYS: tuple[tuple[str, ...], ...] = (
    ("2027-01-01", "休息", "元旦"),
    *((f"2027-02-{d:02d}", "休息", "春节") for d in range(5, 12)),
    ("2027-02-13", "调休上班", "春节调休"),
    ("2027-04-05", "休息", "清明节"),
    *((f"2027-05-{d:02d}", "off", "劳动节") for d in range(1, 4)),
    ("2027-06-09", "off", "端午节"),
    ("2027-09-15", "off", "中秋节"),
    *((f"2027-10-{d:02d}", "off", "国庆节") for d in range(1, 6)),
    ("2027-10-09", "work", "国庆节调休"),
)
# A customers file with deliberate errors, one kind per row (the header is row 1), to show
# what detect reports; nothing in it imports. Row 2 is correct, row 8 repeats its code.
SAMPLE_ERROR_CUSTOMERS: tuple[tuple[str, ...], ...] = (
    ("SE000001", "正确的一行", "A", "沈阳市中山路1号", "123.4190", "41.7990", "", "", "",
     "B0101", "E00001", ""),
    ("SE000002", "等级不在设置中", "E", "", "", "", "", "", "", "", "", ""),
    ("SE000003", "经度不是数字", "B", "", "东经123度", "41.7990", "", "", "", "", "", ""),
    ("SE000004", "只有经度", "B", "", "123.4190", "", "", "", "", "", "", ""),
    ("SE000005", "部门不存在", "C", "", "", "", "", "", "", "B9999", "", ""),
    ("SE000006", "负责人不存在", "C", "", "", "", "", "", "", "", "E99999", ""),
    ("SE000001", "编码在文件中重复", "D", "", "", "", "", "", "", "", "", ""),
    ("C0000001", "编码已在数据库中", "D", "", "", "", "", "", "", "", "", ""),
    ("", "缺少客户编码", "A", "", "", "", "", "", "", "", "", ""),
)
ERRORS_SAMPLE = "customers_with_errors.csv"
# file name, import kind (the samples that import cleanly, in this order)
SAMPLE_FILES: tuple[tuple[str, str], ...] = (
    ("departments.csv", "departments"),
    ("employees.csv", "employees"),
    ("customers.csv", "customers"),
    ("customers_gbk.csv", "customers"),
    ("customers.xlsx", "customers"),
    ("visits.csv", "visits"),
    ("plans.csv", "plans"),
    ("holidays.csv", "holidays"),
)


def _sample_customers(prefix: str) -> list[list[str]]:
    """The sample customers with codes prefix + suffix; the gcj02 row converted to GCJ-02."""
    rows = []
    for suffix, *rest in SAMPLE_CUSTOMERS:
        row = [f"{prefix}{suffix}", *rest]
        if row[6] == "gcj02":
            lon, lat = geo.wgs84_to_gcj02(float(row[4]), float(row[5]))
            row[4], row[5] = f"{float(lon):.6f}", f"{float(lat):.6f}"
        rows.append(row)
    return rows


def _sample_visits() -> list[list[str]]:
    """The sample visits; the gcj02 row's coordinates converted to GCJ-02."""
    rows = []
    for vid, emp, suffix, *rest in SAMPLE_VISITS:
        row = [vid, emp, f"SC0000{suffix}", *rest]
        if row[11] == "gcj02":
            for lon_i, lat_i in ((4, 5), (8, 9)):
                lon, lat = geo.wgs84_to_gcj02(float(row[lon_i]), float(row[lat_i]))
                row[lon_i], row[lat_i] = f"{float(lon):.6f}", f"{float(lat):.6f}"
        rows.append(row)
    return rows


def _csv_bytes(kind: str, rows: Sequence[Sequence[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.zh for c in FORMATS[kind]])
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx_bytes(kind: str, rows: Sequence[Sequence[str]]) -> bytes:
    """An XLSX with codes and phones as text cells and coordinates as numbers."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": datetime(2026, 1, 1)})  # the same bytes on every run
    sheet = book.add_worksheet(kind)
    numeric = {c.name for c in FORMATS[kind] if c.kind in ("lon", "lat", "number")}
    for j, col in enumerate(FORMATS[kind]):
        sheet.write_string(0, j, col.zh)
        sheet.set_column(j, j, 16)
    for i, row in enumerate(rows, start=1):
        for j, (col, value) in enumerate(zip(FORMATS[kind], row, strict=True)):
            if value == "":
                continue
            if col.name in numeric:
                sheet.write_number(i, j, float(value))
            else:
                sheet.write_string(i, j, value)
    book.close()
    return buffer.getvalue()


def sample_files() -> dict[str, bytes]:
    """The sample import files by name: those of SAMPLE_FILES in their order, then
    ERRORS_SAMPLE."""
    return {
        "departments.csv": _csv_bytes("departments", SAMPLE_DEPARTMENTS, "utf-8-sig"),
        "employees.csv": _csv_bytes("employees", SAMPLE_EMPLOYEES, "utf-8-sig"),
        "customers.csv": _csv_bytes("customers", _sample_customers("SC0000"), "utf-8-sig"),
        "customers_gbk.csv": _csv_bytes("customers", _sample_customers("SC1000"), "gbk"),
        "customers.xlsx": _xlsx_bytes("customers", _sample_customers("SC2000")),
        "visits.csv": _csv_bytes("visits", _sample_visits(), "utf-8-sig"),
        "plans.csv": _csv_bytes(
            "plans", [[e, d, p, f"SC0000{c}", r] for e, d, p, c, r in SAMPLE_PLANS], "utf-8-sig"),
        "holidays.csv": _csv_bytes("holidays", SAMPLE_HOLIDAYS, "utf-8-sig"),
        ERRORS_SAMPLE: _csv_bytes("customers", SAMPLE_ERROR_CUSTOMERS, "utf-8-sig"),
    }


def write_samples(folder: Path) -> list[Path]:
    """Write the sample import files into `folder` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sample_files().items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written
