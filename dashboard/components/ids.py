"""Every component id of the app, in one place (DESIGN.md section 6).

Fixed ids are constants; ids repeated per page or per item are small functions returning
pattern-matching dicts, so one callback (with MATCH or ALL) serves every page.
"""

from __future__ import annotations

from typing import Any

# -- the shell ---------------------------------------------------------------------------------
URL = "vl-url"
HEADER = "vl-header"
NAV = "vl-nav"
USER_BADGE = "vl-user"
LOGOUT_FORM = "vl-logout-form"
LOGOUT_BUTTON = "vl-logout"
LOGOUT_ALL_FORM = "vl-logout-all-form"
LOGOUT_ALL_BUTTON = "vl-logout-all"
CONTENT = "vl-content"
HOME_REDIRECT = "vl-home-redirect"

NAV_LINK = "vl-nav-link"
LANG_LINK = "vl-lang-link"
LANG_NEXT = "vl-lang-next"

FILTER_BAR = "vl-filter-bar"
FILTER_DEPARTMENT = "vl-filter-department"
FILTER_PRESET = "vl-filter-preset"
FILTER_DATES = "vl-filter-dates"


def nav_link(page: Any) -> dict[str, Any]:
    """A navigation link of the header (page: a page key, or ALL)."""
    return {"type": NAV_LINK, "page": page}


def lang_link(lang: Any) -> dict[str, Any]:
    """A language switch button of the header (lang: 'zh', 'en', or ALL)."""
    return {"type": LANG_LINK, "lang": lang}


def lang_next(lang: Any) -> dict[str, Any]:
    """The hidden `next` field of a language switch form (where it comes back to)."""
    return {"type": LANG_NEXT, "lang": lang}


def page_title(page: str) -> str:
    """The <h1> of a page."""
    return f"vl-{page}-title"


# -- the filter bar (one per report page) --------------------------------------------------------
def filter_bar(page: Any) -> dict[str, Any]:
    return {"type": FILTER_BAR, "page": page}


def filter_department(page: Any) -> dict[str, Any]:
    """The department dropdown of a page's filter bar (page: a page key, or MATCH/ALL)."""
    return {"type": FILTER_DEPARTMENT, "page": page}


def filter_preset(page: Any) -> dict[str, Any]:
    """The date-range preset choice of a page's filter bar."""
    return {"type": FILTER_PRESET, "page": page}


def filter_dates(page: Any) -> dict[str, Any]:
    """The date range picker of a page's filter bar."""
    return {"type": FILTER_DATES, "page": page}


def filter_employees(page: Any) -> dict[str, Any]:
    """The employee picker of a page's filter bar (server-side search)."""
    return {"type": "vl-filter-employees", "page": page}


def query_store(page: Any) -> dict[str, Any]:
    """The query string a page wants in the address bar (bookmarkable filters)."""
    return {"type": "vl-query", "page": page}


def query_sink(page: Any) -> dict[str, Any]:
    return {"type": "vl-query-sink", "page": page}


# -- employee visit summary (/visits) ------------------------------------------------------------
VISITS_KPIS = "vl-visits-kpis"
VISITS_DAILY = "vl-visits-daily"
VISITS_TABS = "vl-visits-tabs"
VISITS_MESSAGE = "vl-visits-message"
VISITS_RANKING_SECTION = "vl-visits-ranking-section"
VISITS_DETAIL_SECTION = "vl-visits-detail-section"
VISITS_TREND_SECTION = "vl-visits-trend-section"
VISITS_SORT = "vl-visits-sort"
VISITS_RANKING_BARS = "vl-visits-ranking-bars"
VISITS_RANKING_GRID = "vl-visits-ranking-grid"
VISITS_DETAIL_GRID = "vl-visits-detail-grid"
VISITS_VALIDITY = "vl-visits-validity"
VISITS_REASON = "vl-visits-reason"
VISITS_DETAIL_COUNT = "vl-visits-detail-count"
VISITS_GRANULARITY = "vl-visits-granularity"
VISITS_TREND_CHART = "vl-visits-trend-chart"
VISITS_EXPORT_BUTTON = "vl-visits-export"
VISITS_EXPORT_JOB = "vl-visits-export-job"
VISITS_EXPORT_POLL = "vl-visits-export-poll"
VISITS_EXPORT_STATUS = "vl-visits-export-status"


# -- settings (/settings) ------------------------------------------------------------------------
MIN_STAY = "vl-settings-min-stay"
LIMIT_NET = "vl-settings-limit-net"
LIMIT_CELL = "vl-settings-limit-cell"
LIMIT_GPS = "vl-settings-limit-gps"
WORKDAYS = "vl-settings-workdays"
GRADES = "vl-settings-grades"
EXPORT_DAYS = "vl-settings-export-days"
API_BACKDATE = "vl-settings-api-backdate"
TIMEZONE = "vl-settings-timezone"
SESSION_IDLE = "vl-settings-session-idle"
SAVE = "vl-settings-save"
SAVE_RESULT = "vl-settings-save-result"
HOLIDAY_DATE = "vl-holiday-date"
HOLIDAY_KIND = "vl-holiday-kind"
HOLIDAY_NAME = "vl-holiday-name"
HOLIDAY_ADD = "vl-holiday-add"
HOLIDAY_DELETE = "vl-holiday-delete"
HOLIDAY_RESULT = "vl-holiday-result"
HOLIDAY_GRID = "vl-holiday-grid"


# -- customer visited summary (/customers/visited) ------------------------------------------------
CV_MESSAGE = "vl-cv-message"
CV_BUCKETS = "vl-cv-buckets"
CV_CHIPS = "vl-cv-chips"
CV_CLEAR = "vl-cv-clear"
CV_PIE = "vl-cv-pie"
CV_GRADES = "vl-cv-grades"
CV_BY = "vl-cv-by"
CV_SUMMARY_GRID = "vl-cv-summary-grid"
CV_LIST_GRID = "vl-cv-list-grid"
CV_LIST_COUNT = "vl-cv-list-count"
CV_NAVIGATE = "vl-cv-navigate"
CV_EXPORT_BUTTON = "vl-cv-export"
CV_EXPORT_JOB = "vl-cv-export-job"
CV_EXPORT_POLL = "vl-cv-export-poll"
CV_EXPORT_STATUS = "vl-cv-export-status"


# -- customer map (/map) --------------------------------------------------------------------------
MAP = "vl-map"
MAP_POINTS = "vl-map-points"
MAP_GRADES = "vl-map-grades"
MAP_COLOUR = "vl-map-colour"
MAP_BUCKETS = "vl-map-buckets"
MAP_LEGEND = "vl-map-legend"
MAP_STATUS = "vl-map-status"
CV_MAP_LINK = "vl-cv-map-link"


# -- customer archive (/customers) ----------------------------------------------------------------
CUST_SEARCH = "vl-cust-search"
CUST_GRADES = "vl-cust-grades"
CUST_DEPARTMENT = "vl-cust-department"
CUST_FLAGS = "vl-cust-flags"
CUST_GRID = "vl-cust-grid"
CUST_COUNT = "vl-cust-count"
CUST_CHANGES = "vl-cust-changes"
CUST_MESSAGE = "vl-cust-message"
CUST_RECORD = "vl-cust-record"
CUST_CODE = "vl-cust-code"
CUST_ADD = "vl-cust-add"
CUST_EDIT = "vl-cust-edit"
CUST_DELETE = "vl-cust-delete"
CUST_RESTORE = "vl-cust-restore"
CUST_CONFIRM = "vl-cust-confirm"
CUST_FORM = "vl-cust-form"
CUST_FORM_MODE = "vl-cust-form-mode"
CUST_SAVE = "vl-cust-save"
CUST_CANCEL = "vl-cust-cancel"
CUST_FORM_MESSAGE = "vl-cust-form-message"
CUST_EXPORT_BUTTON = "vl-cust-export"
CUST_EXPORT_JOB = "vl-cust-export-job"
CUST_EXPORT_POLL = "vl-cust-export-poll"
CUST_EXPORT_STATUS = "vl-cust-export-status"


def cust_field(name: str) -> str:
    """An input of the customer form (name: a pipelines.customers field, or 'code'/'owners')."""
    return f"vl-cust-field-{name}"


# -- person-customer table (/assignments) ---------------------------------------------------------
ASSIGN_CHANGES = "vl-assign-changes"
ASSIGN_MESSAGE = "vl-assign-message"
ASSIGN_EMPLOYEE_GRID = "vl-assign-employee-grid"
ASSIGN_BIND_PICK = "vl-assign-bind-pick"
ASSIGN_BIND = "vl-assign-bind"
ASSIGN_UNBIND = "vl-assign-unbind"
ASSIGN_SHARE_PICK = "vl-assign-share-pick"
ASSIGN_SHARE = "vl-assign-share"
ASSIGN_SHARES = "vl-assign-shares"
ASSIGN_REVOKE_PICK = "vl-assign-revoke-pick"
ASSIGN_REVOKE = "vl-assign-revoke"
ASSIGN_DEPARTMENT = "vl-assign-department"
ASSIGN_DEPARTMENT_GRID = "vl-assign-department-grid"
ASSIGN_DEPT_PICK = "vl-assign-dept-pick"
ASSIGN_DEPT_ADD = "vl-assign-dept-add"
ASSIGN_DEPT_REMOVE = "vl-assign-dept-remove"
ASSIGN_EXPORT_BUTTON = "vl-assign-export"
ASSIGN_EXPORT_JOB = "vl-assign-export-job"
ASSIGN_EXPORT_POLL = "vl-assign-export-poll"
ASSIGN_EXPORT_STATUS = "vl-assign-export-status"


# -- data import (/customers/import) -------------------------------------------------------------
IMPORT_KIND = "vl-import-kind"
IMPORT_TEMPLATE_ZH = "vl-import-template-zh"
IMPORT_TEMPLATE_EN = "vl-import-template-en"
IMPORT_UPLOAD = "vl-import-upload"
IMPORT_FILE = "vl-import-file"
IMPORT_DETECT = "vl-import-detect"
IMPORT_RUN = "vl-import-run"
IMPORT_STATUS = "vl-import-status"
IMPORT_POLL = "vl-import-poll"
IMPORT_DETECT_JOB = "vl-import-detect-job"
IMPORT_RUN_JOB = "vl-import-run-job"
IMPORT_SUMMARY = "vl-import-summary"
IMPORT_PROBLEMS_SECTION = "vl-import-problems-section"
IMPORT_PROBLEMS_GRID = "vl-import-problems-grid"
IMPORT_RESULT = "vl-import-result"
IMPORT_HISTORY_GRID = "vl-import-history-grid"


# -- audit log (/audit) ---------------------------------------------------------------------------
AUDIT_SEARCH = "vl-audit-search"
AUDIT_GRID = "vl-audit-grid"
AUDIT_COUNT = "vl-audit-count"


# -- visit plans and routes (/plans) --------------------------------------------------------------
PLAN_MONTH = "vl-plan-month"
PLAN_PREV = "vl-plan-prev"
PLAN_NEXT = "vl-plan-next"
PLAN_MONTH_LABEL = "vl-plan-month-label"
PLAN_CALENDAR = "vl-plan-calendar"
PLAN_CHANGES = "vl-plan-changes"
PLAN_MODE = "vl-plan-mode"
PLAN_EDITOR_TITLE = "vl-plan-editor-title"
PLAN_NEW_ROUTE = "vl-plan-new-route"
PLAN_ROUTE_PICK = "vl-plan-route-pick"
PLAN_DATE = "vl-plan-date"
PLAN_NAME = "vl-plan-name"
PLAN_FROM_ROUTE = "vl-plan-from-route"
PLAN_CUSTOMERS = "vl-plan-customers"
PLAN_ORDER = "vl-plan-order"
PLAN_SUGGEST = "vl-plan-suggest"
PLAN_MAP = "vl-plan-map"
PLAN_DISTANCE = "vl-plan-distance"
PLAN_SAVE = "vl-plan-save"
PLAN_DELETE = "vl-plan-delete"
PLAN_MESSAGE = "vl-plan-message"
PLAN_SCHEDULE_START = "vl-plan-schedule-start"
PLAN_SCHEDULE_UNTIL = "vl-plan-schedule-until"
PLAN_SCHEDULE_DAYS = "vl-plan-schedule-days"
PLAN_SCHEDULE = "vl-plan-schedule"
PLAN_PLAN_FIELDS = "vl-plan-plan-fields"
PLAN_ROUTE_FIELDS = "vl-plan-route-fields"


def plan_day(day: Any) -> dict[str, Any]:
    """A day of the calendar (click: new plan on that day)."""
    return {"type": "vl-plan-day", "day": day}


def plan_open(plan: Any) -> dict[str, Any]:
    """A plan on the calendar (click: edit it)."""
    return {"type": "vl-plan-open", "plan": plan}


def plan_move(index: Any, direction: Any) -> dict[str, Any]:
    """An arrow of the ordered customer list (direction: up or down)."""
    return {"type": "vl-plan-move", "index": index, "dir": direction}
