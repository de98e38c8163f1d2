"""The write side of the phone API: check-ins, check-outs, offline batches, new customers.

Visits from a phone take the file import's own path (imports.import_records: validate.detect
and load_visits.insert_new_visits in one transaction), so they reach every report at once,
with the same checks, skips and derived columns as an imported file. The phone's client id
is the visit_id: a resend finds the stored row and changes nothing. A check-in is a visit
row without check-out; the check-out completes that row in place and recomputes its stay,
deviation and validity with the SQL of pipelines.derive (:func:`refresh_visit`).

A client id names a visit only among the employee's own: when another employee's visit
already has it as visit_id, the visit is stored as ``CLIENT_ID@EMPLOYEE`` (a phone cannot
send "@"), so the answer is the same whether or not the id is taken elsewhere (no oracle
on other employees' visit ids); :func:`client_id_of` gives the phone's id back.

Problems carry the API's field names (``client_id``, ``check_in.time``, ...), so the HTTP
layer only prefixes them; an employee is always the token's, never a value of the body.
The API's messages are English with stable codes (the phone translates by code), so they
are not marked for the web's catalogs; problems found by the import keep theirs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pipelines import audit, business_settings, derive, geo, summaries
from pipelines.business_settings import BusinessSettings
from pipelines.customers import EditError, add_own_customer, get_customer
from pipelines.formats import Problem, problem
from pipelines.imports import import_records
from pipelines.store import Cursor, Store

MAX_FUTURE = timedelta(minutes=10)  # phone clocks drift; later than this is refused
MAX_BATCH = 1000

Status = Literal["created", "updated", "duplicate", "rejected", "conflict"]

# Import columns -> the API's field names (problems found by validate.detect).
_IMPORT_FIELDS = {
    "visit_id": "client_id",
    "employee_code": "client_id",
    "customer_code": "customer_code",
    "check_in_at": "check_in.time",
    "check_in_lon": "check_in.lon",
    "check_in_lat": "check_in.lat",
    "check_in_source": "check_in.source",
    "check_out_at": "check_out.time",
    "check_out_lon": "check_out.lon",
    "check_out_lat": "check_out.lat",
    "check_out_source": "check_out.source",
    "coord_system": "coord_system",
}


@dataclass(frozen=True)
class VisitEnd:
    """One end of a visit as the phone saw it: local wall-clock time and location."""

    at: datetime
    lon: float | None = None
    lat: float | None = None
    source: str | None = None


@dataclass(frozen=True)
class PhoneVisit:
    """A visit sent by a phone; `client_id` becomes the visit_id."""

    client_id: str
    customer_code: str
    check_in: VisitEnd
    check_out: VisitEnd | None = None
    coord_system: str = "wgs84"


@dataclass(frozen=True)
class StoredVisit:
    """A visit row as stored, with the derived columns the phone is told about."""

    visit_id: str
    employee_code: str
    customer_code: str
    check_in_at: datetime
    check_in_lon: float | None
    check_in_lat: float | None
    check_in_source: str | None
    check_out_at: datetime | None
    check_out_lon: float | None
    check_out_lat: float | None
    check_out_source: str | None
    stay_minutes: float | None
    check_in_deviation_m: float | None
    check_out_deviation_m: float | None
    invalid_mask: int
    import_id: int | None

    @property
    def reasons(self) -> list[str]:
        return derive.reasons_of(self.invalid_mask)

    @property
    def valid(self) -> bool:
        return self.invalid_mask == 0

    @property
    def valid_so_far(self) -> bool:
        """Valid, as far as can be told: an open visit is not yet short or unfinished."""
        pending = derive.REASON_BIT["no_checkout"] | derive.REASON_BIT["short_stay"]
        mask = self.invalid_mask & ~pending if self.check_out_at is None else self.invalid_mask
        return mask == 0


@dataclass
class Outcome:
    """What became of one sent visit (`visit` is the stored row, when there is one)."""

    index: int
    client_id: str
    status: Status
    visit: StoredVisit | None = None
    problems: list[Problem] = field(default_factory=list)


class VisitRefused(ValueError):
    """A check-out that is refused; `conflict` = it contradicts what is stored (HTTP 409),
    else the values are wrong (HTTP 422)."""

    def __init__(self, problems: Problem | Sequence[Problem], conflict: bool = False) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.conflict = conflict
        super().__init__(" ".join(p.message for p in self.problems))


# -- time ------------------------------------------------------------------------------------
def local_time(value: datetime, timezone: str) -> datetime:
    """A phone's time as stored: wall-clock time of the company time zone, whole seconds.

    A time with an offset is converted; one without is taken as company local time, like a
    file's (DESIGN.md section 1).
    """
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return value.replace(microsecond=0)


def local_now(settings: BusinessSettings) -> datetime:
    """Now, in the company's wall-clock time."""
    return datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None, microsecond=0)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- reading ---------------------------------------------------------------------------------
_VISIT_COLUMNS = ", ".join(f.name for f in StoredVisit.__dataclass_fields__.values())


def get_visits(cur: Cursor, visit_ids: Sequence[str]) -> dict[str, StoredVisit]:
    """The stored visits with these visit_ids (of any employee), by visit_id."""
    if not visit_ids:
        return {}
    rows = cur.execute(
        f"SELECT {_VISIT_COLUMNS} FROM visits "
        "WHERE visit_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(dict.fromkeys(visit_ids))],
    ).fetchall()
    return {str(r[0]): StoredVisit(*r) for r in rows}


def visit_ids(cur: Cursor, employee_code: str,
              client_ids: Sequence[str]) -> dict[str, str]:
    """The visit_id of each of the employee's client ids: the client id itself, unless
    another employee's visit has it, then ``CLIENT_ID@EMPLOYEE``."""
    others = {str(r[0]) for r in cur.execute(
        "SELECT visit_id FROM visits WHERE visit_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND employee_code <> ?", [list(dict.fromkeys(client_ids)), employee_code]).fetchall()}
    return {c: f"{c}@{employee_code}" if c in others else c for c in client_ids}


def client_id_of(visit_id: str, employee_code: str) -> str:
    """The phone's client id of one of the employee's visits (see :func:`visit_ids`)."""
    return visit_id.removesuffix(f"@{employee_code}")


def own_customers(cur: Cursor, employee_code: str,
                  codes: Sequence[str]) -> set[str]:
    """Which of `codes` the employee looks after (direct or shared, not deleted)."""
    if not codes:
        return set()
    rows = cur.execute(
        """SELECT DISTINCT customer_code FROM employee_population([?]::VARCHAR[])
           WHERE customer_code IN (SELECT unnest(?::VARCHAR[]))""",
        [employee_code, list(dict.fromkeys(codes))],
    ).fetchall()
    return {str(r[0]) for r in rows}


# -- checks that need no stored visit --------------------------------------------------------
def _item_problems(visit: PhoneVisit, now: datetime) -> list[Problem]:
    found: list[Problem] = []
    latest = now + MAX_FUTURE
    for name, end in (("check_in", visit.check_in), ("check_out", visit.check_out)):
        if end is not None and end.at > latest:
            found.append(problem(None, f"{name}.time", "in_future",
                                 "{value} is more than 10 minutes in the future.",
                                 value=_text(end.at)))
    if visit.check_out is not None and visit.check_out.at < visit.check_in.at:
        found.append(problem(None, "check_out.time", "checkout_before_checkin",
                             "Check-out time {value} is before the check-in time.",
                             value=_text(visit.check_out.at)))
    return found


def _not_yours(code: str) -> Problem:
    return problem(None, "customer_code", "not_your_customer",
                   "'{value}' is not one of your customers.", value=code)


def _too_old(visit: PhoneVisit, days: int) -> Problem:
    return problem(None, "check_in.time", "too_old",
                   "{value} is more than {limit} days ago: older visits are imported from a "
                   "file by an admin.", value=_text(visit.check_in.at), limit=days)


def _conflict(visit_id: str) -> Problem:
    return problem(None, "client_id", "client_id_taken",
                   "client_id '{value}' is already used for a different visit.",
                   value=visit_id)


def _matches(stored: StoredVisit, employee_code: str, visit: PhoneVisit) -> bool:
    """Whether the stored row is this visit's check-in (so a resend, not a clash)."""
    return (stored.employee_code == employee_code
            and stored.customer_code == visit.customer_code
            and stored.check_in_at == visit.check_in.at)


# -- check-in and batches --------------------------------------------------------------------
def record_visits(
    db: Store,
    employee_code: str,
    visits: Sequence[PhoneVisit],
    actor: str | None,
    label: str,
    now: datetime | None = None,
    combiner: GroupCommit | None = None,
) -> list[Outcome]:
    """Store an employee's visits (a check-in is one visit without check-out).

    Each visit is judged on its own: refused ones (with their problems) do not stop the
    others. New ones go in through the import path in one transaction; a resent one
    (same client id, employee, customer and check-in time) is a duplicate; one whose
    stored check-in is still open and that now brings a check-out completes it; a client id
    used for another visit is a conflict. A new visit checked in more than the setting
    api_max_backdate_days before today is refused (``too_old``).

    Args:
        db: the database.
        employee_code: the token's employee; every visit is theirs.
        visits: local times (see :func:`local_time`), at most MAX_BATCH.
        actor: who writes, for the import history and the audit log.
        label: the import history's file name, e.g. "api:check-in".
        now: the company's local time now (tests).
        combiner: the process's GroupCommit, to share one import with concurrent calls.

    Returns:
        One Outcome per visit, in order.
    """
    settings = business_settings.load(db)
    now = now or local_now(settings)
    # Phones may send what they recorded offline, but not weeks later: a new visit checked
    # in before this day (company time) is refused; a resend of a stored one is not.
    earliest = now.date() - timedelta(days=settings.api_max_backdate_days)
    cur = db.cursor()
    outcomes = [Outcome(i, v.client_id, "created") for i, v in enumerate(visits)]
    first_seen: dict[str, int] = {}
    for i, visit in enumerate(visits):
        earlier = first_seen.setdefault(visit.client_id, i)
        if earlier != i:
            outcomes[i].problems.append(problem(
                None, "client_id", "duplicate_in_batch",
                "client_id '{value}' is used twice in this batch (first at index {row}).",
                value=visit.client_id, row=earlier))
        outcomes[i].problems += _item_problems(visit, now)
    mine = own_customers(cur, employee_code, [v.customer_code for v in visits])
    for i, visit in enumerate(visits):
        if visit.customer_code not in mine:
            outcomes[i].problems.append(_not_yours(visit.customer_code))
    ids = visit_ids(cur, employee_code, [v.client_id for v in visits])
    stored = get_visits(cur, list(ids.values()))
    to_insert: list[int] = []
    to_complete: list[int] = []
    for i, visit in enumerate(visits):
        out = outcomes[i]
        if out.problems:
            out.status = "rejected"
            continue
        row = stored.get(ids[visit.client_id])
        if row is None and visit.check_in.at.date() < earliest:
            out.status, out.problems = "rejected", [
                _too_old(visit, settings.api_max_backdate_days)]
        elif row is None:
            to_insert.append(i)
        elif not _matches(row, employee_code, visit):
            out.status, out.problems = "conflict", [_conflict(visit.client_id)]
        elif visit.check_out is not None and row.check_out_at is None:
            to_complete.append(i)
        elif (visit.check_out is not None and row.check_out_at is not None
              and row.check_out_at != visit.check_out.at):
            out.status, out.problems = "conflict", [_checked_out(row)]
        else:
            out.status, out.visit = "duplicate", row
    entries = [_Entry(employee_code, visits[i], outcomes[i], ids[visits[i].client_id])
               for i in to_insert]
    if combiner is not None:
        combiner.insert(entries, actor, label)
    else:
        _insert(db, entries, actor, label)
    for i in to_complete:
        visit = visits[i]
        assert visit.check_out is not None
        try:
            row, changed = check_out(db, employee_code, visit.client_id, visit.check_out,
                                     visit.coord_system, actor, now)
            outcomes[i].status, outcomes[i].visit = ("updated" if changed else "duplicate"), row
        except VisitRefused as exc:
            outcomes[i].status = "conflict" if exc.conflict else "rejected"
            outcomes[i].problems = exc.problems
    return outcomes


def _record(entry: _Entry) -> dict[str, str | None]:
    """A visits-file row of the visit (the import's column names, text values)."""
    employee_code, visit = entry.employee_code, entry.visit
    row: dict[str, str | None] = {
        "visit_id": entry.visit_id,
        "employee_code": employee_code,
        "customer_code": visit.customer_code,
        "check_in_at": _text(visit.check_in.at),
        "check_in_lon": _text(visit.check_in.lon),
        "check_in_lat": _text(visit.check_in.lat),
        "check_in_source": visit.check_in.source,
        "coord_system": visit.coord_system,
    }
    out = visit.check_out
    if out is not None:
        row |= {"check_out_at": _text(out.at), "check_out_lon": _text(out.lon),
                "check_out_lat": _text(out.lat), "check_out_source": out.source}
    return row


@dataclass
class _Entry:
    """A visit to insert: whose it is and where its outcome goes."""

    employee_code: str
    visit: PhoneVisit
    outcome: Outcome
    visit_id: str  # see visit_ids()


def _insert(db: Store, entries: Sequence[_Entry], actor: str | None, label: str) -> None:
    """Import the entries; a client id that comes again (two requests combined by
    GroupCommit) goes in a second import, where it is skipped as present when the first
    was stored, and so answered as a duplicate or a conflict like a later resend."""
    first: list[_Entry] = []
    again: list[_Entry] = []
    seen: set[str] = set()
    for entry in entries:
        (again if entry.visit_id in seen else first).append(entry)
        seen.add(entry.visit_id)
    _insert_once(db, first, actor, label)
    if again:
        _insert(db, again, actor, label)


def _insert_once(db: Store, entries: Sequence[_Entry], actor: str | None,
                 label: str) -> None:
    """Import entries of distinct client ids in one transaction; rows that detect refuses
    are rejected and the rest tried again (detect judges row by row, so round two meets
    only rows it passed)."""
    chosen = list(entries)
    for _attempt in range(2):
        if not chosen:
            return
        result = import_records(db, "visits", [_record(e) for e in chosen], actor, label)
        if result.ok:
            break
        refused: set[int] = set()
        for p in result.problems:
            if p.row is None or not 2 <= p.row < len(chosen) + 2:
                continue
            refused.add(p.row - 2)
            out = chosen[p.row - 2].outcome
            out.status = "rejected"
            out.problems.append(replace(
                p, row=None, column=_IMPORT_FIELDS.get(p.column or "", p.column)))
        if not refused:  # a file-level problem: nothing can be told apart
            for entry in chosen:
                entry.outcome.status = "rejected"
                entry.outcome.problems += [replace(p, row=None) for p in result.problems]
            return
        chosen = [e for n, e in enumerate(chosen) if n not in refused]
    else:  # pragma: no cover - detect judges rows one by one, so round two passes
        for entry in chosen:
            entry.outcome.status = "rejected"
            entry.outcome.problems.append(problem(
                None, None, "not_stored", "The visit could not be stored; send it again."))
        return
    stored = get_visits(db.cursor(), [e.visit_id for e in chosen])
    for entry in chosen:
        row = stored.get(entry.visit_id)
        out = entry.outcome
        if row is None or not _matches(row, entry.employee_code, entry.visit):
            out.status, out.problems = "conflict", [_conflict(entry.visit.client_id)]
        else:
            created = result.import_id is not None and row.import_id == result.import_id
            out.status, out.visit = ("created" if created else "duplicate"), row


@dataclass
class _Job:
    entries: list[_Entry]
    actor: str | None
    label: str
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Combines the inserts of concurrent requests into one import transaction.

    Every import holds the one writer lock, and a single check-in costs nearly what a
    hundred do (detect, the insert and the summaries are set-based), so phones checking in
    at once would otherwise queue for the lock one by one. The first request becomes the
    leader and imports everything queued, its own included; whatever arrived meanwhile is
    handed to the next leader, so no request waits for more than two rounds. Outcomes are
    exactly those of separate imports: detect judges each row, refused rows are rejected
    alone, and a client id sent twice in one round is stored once (see :func:`_insert`).

    One per process, kept by the web app (it holds threads' hand-over state, no data).
    """

    def __init__(self, db: Store) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._busy = False

    def insert(self, entries: list[_Entry], actor: str | None, label: str) -> None:
        """Insert the entries (filling their outcomes), together with concurrent calls."""
        if not entries:
            return
        job = _Job(entries, actor, label)
        with self._lock:
            self._queue.append(job)
            if not self._busy:
                self._busy = job.lead = True
        while True:
            if job.lead:
                job.lead = False
                self._round()
            job.wake.wait()
            job.wake.clear()
            if job.done:
                if job.error is not None:
                    raise job.error
                return

    def _round(self) -> None:
        with self._lock:
            jobs, self._queue = self._queue, []
        try:
            actors = {j.actor for j in jobs}
            labels = {j.label for j in jobs}
            _insert(self.db, [e for j in jobs for e in j.entries],
                    actors.pop() if len(actors) == 1 else "phone-api",
                    labels.pop() if len(labels) == 1 else "api:visits")
        except BaseException as exc:  # every waiting request answers for itself
            for j in jobs:
                j.error = exc
        finally:
            for j in jobs:
                j.done = True
                j.wake.set()
            with self._lock:
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].wake.set()
                else:
                    self._busy = False


# -- check-out -------------------------------------------------------------------------------
def _checked_out(row: StoredVisit) -> Problem:
    return problem(None, "check_out.time", "already_checked_out",
                   "This visit was already checked out at {value}.",
                   value=_text(row.check_out_at))


def check_out(
    db: Store,
    employee_code: str,
    client_id: str,
    end: VisitEnd,
    coord_system: str,
    actor: str | None,
    now: datetime | None = None,
) -> tuple[StoredVisit, bool]:
    """Complete the employee's open visit `client_id` with its check-out (audited).

    Returns:
        (the stored visit, whether it changed): a resent check-out with the same time
        changes nothing.

    Raises:
        VisitRefused: no check-in of this employee with this client id, a time before the
            check-in or in the future (422), or already checked out at another time (409).
    """
    settings = business_settings.load(db)
    now = now or local_now(settings)
    with db.transaction() as cur:
        visit_id = visit_ids(cur, employee_code, [client_id])[client_id]
        row = get_visits(cur, [visit_id]).get(visit_id)
        if row is None or row.employee_code != employee_code:
            raise VisitRefused(problem(None, "client_id", "no_checkin",
                                       "There is no check-in with client_id '{value}'.",
                                       value=client_id))
        if row.check_out_at is not None:
            if row.check_out_at == end.at:
                return row, False
            raise VisitRefused(_checked_out(row), conflict=True)
        problems = _item_problems(
            PhoneVisit(client_id, row.customer_code, VisitEnd(row.check_in_at), end), now)
        if problems:
            raise VisitRefused(problems)
        lon, lat = end.lon, end.lat
        if lon is not None and lat is not None and coord_system != "wgs84":
            wgs_lon, wgs_lat = geo.to_wgs84(lon, lat, coord_system)
            lon, lat = float(wgs_lon[0]), float(wgs_lat[0])
        cur.execute(
            """UPDATE visits SET check_out_at = $at, check_out_lon = $lon,
                   check_out_lat = $lat, check_out_source = $source
               WHERE visit_id = $visit_id AND check_in_at = $check_in_at""",
            {"at": end.at, "lon": lon, "lat": lat, "source": end.source,
             "visit_id": visit_id, "check_in_at": row.check_in_at},
        )
        refresh_visit(cur, settings, visit_id, row.check_in_at)
        after = get_visits(cur, [visit_id])[visit_id]
        audit.record(cur, actor, "visit.check_out", "visit", visit_id, None,
                     {"check_out_at": after.check_out_at, "source": after.check_out_source,
                      "invalid_mask": after.invalid_mask})
    return after, True


def refresh_visit(cur: Cursor, settings: BusinessSettings, visit_id: str,
                  check_in_at: datetime) -> None:
    """Recompute one visit's stay, deviations and invalid_mask (derive.refresh_validity for
    a single row; the check-in time lets the zone maps skip the rest of the table), and the
    daily summaries of its day, which count valid visits and stays."""
    dev_in = derive.haversine_sql("v.check_in_lon", "v.check_in_lat", "c.longitude",
                                  "c.latitude")
    dev_out = derive.haversine_sql("v.check_out_lon", "v.check_out_lat", "c.longitude",
                                   "c.latitude")
    key = {"visit_id": visit_id, "check_in_at": check_in_at}
    cur.execute(
        f"""
        UPDATE visits AS v SET
            stay_minutes = (epoch(v.check_out_at) - epoch(v.check_in_at)) / 60.0,
            check_in_deviation_m = {dev_in},
            check_out_deviation_m = {dev_out}
        FROM customers AS c
        WHERE c.code = v.customer_code AND v.visit_id = $visit_id
          AND v.check_in_at = $check_in_at
        """,
        key,
    )
    cur.execute(
        f"""
        UPDATE visits AS v SET invalid_mask = m.mask
        FROM (
            SELECT v.rowid AS rid, {derive.MASK_SQL} AS mask
            FROM visits AS v
            LEFT JOIN (SELECT code, longitude AS cust_lon FROM customers) AS c
                ON c.code = v.customer_code
            WHERE v.visit_id = $visit_id AND v.check_in_at = $check_in_at
        ) AS m
        WHERE v.rowid = m.rid
        """,
        {**derive.validity_params(settings), **key},
    )
    summaries.refresh(cur, [check_in_at.date()])


# -- new customers ---------------------------------------------------------------------------
def phone_customer_code(employee_code: str, client_id: str) -> str:
    """The code of a new customer sent without one: the same for a resend of the same
    client id by the same employee, so the resend finds what the first request stored."""
    digest = hashlib.sha256(f"{employee_code}\x1f{client_id}".encode()).hexdigest()
    return "APP" + digest[:12].upper()


def add_phone_customer(db: Store, employee_code: str, values: Mapping[str, str | None],
                       actor: str | None) -> tuple[dict[str, Any], bool]:
    """Create a customer bound to the employee, validated like the import (audited).

    Idempotent by code: when the customer exists and is bound to this employee directly,
    it is returned unchanged, so a resend after a timeout adds nothing.

    Returns:
        (the stored customer record, whether it was created now).

    Raises:
        EditError: values the import refuses, or (problem code "exists") a code taken by a
            customer that is not this employee's: the API derives codes from the employee
            and the client id, so only the employee's own deleted customer or a code an
            admin chose can be met, never a probe of another employee's codes.
    """
    code = (values.get("code") or "").strip()
    existing = get_customer(db, code) if code else None
    if existing is not None:
        return _own_or_taken(existing, employee_code)
    try:
        return add_own_customer(db, values, employee_code, actor), True
    except EditError as exc:
        again = get_customer(db, code) if code else None
        if again is not None and any(p.code == "exists" for p in exc.problems):
            return _own_or_taken(again, employee_code)  # a concurrent resend won the race
        raise


def _own_or_taken(record: dict[str, Any], employee_code: str) -> tuple[dict[str, Any], bool]:
    if employee_code in record["owner_codes"] and not record["deleted"]:
        return record, False
    raise EditError(problem(None, "code", "exists",
                            "Customer '{value}' already exists.", value=record["code"]))
