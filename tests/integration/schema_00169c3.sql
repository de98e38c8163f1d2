-- VisitLens schema. Idempotent: every statement may run against an existing database.
-- Derived tables (department_tree and the visit columns stay_minutes, *_deviation_m,
-- invalid_mask) are refreshed by the import steps, never edited by hand.

CREATE SEQUENCE IF NOT EXISTS seq_import START 1;
CREATE SEQUENCE IF NOT EXISTS seq_plan START 1;
CREATE SEQUENCE IF NOT EXISTS seq_route START 1;
CREATE SEQUENCE IF NOT EXISTS seq_audit START 1;

CREATE TABLE IF NOT EXISTS settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL            -- JSON text
);

CREATE TABLE IF NOT EXISTS departments (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    parent_code VARCHAR,
    created_at TIMESTAMP DEFAULT current_localtimestamp()
);

-- Closure of the department tree: every (ancestor, descendant) pair, itself included.
CREATE TABLE IF NOT EXISTS department_tree (
    ancestor_code VARCHAR NOT NULL,
    descendant_code VARCHAR NOT NULL,
    depth INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS employees (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    department_code VARCHAR NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'active',   -- active | inactive
    created_at TIMESTAMP DEFAULT current_localtimestamp()
);

CREATE TABLE IF NOT EXISTS customers (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    grade VARCHAR,                   -- NULL = unrated
    address VARCHAR,
    longitude DOUBLE,                -- WGS-84
    latitude DOUBLE,
    contact VARCHAR,
    phone VARCHAR,
    department_code VARCHAR,         -- department assignment (at most one)
    note VARCHAR,
    deleted BOOLEAN NOT NULL DEFAULT false,
    deleted_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,   -- optimistic locking for edits
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    updated_at TIMESTAMP DEFAULT current_localtimestamp(),
    updated_by VARCHAR
);

CREATE TABLE IF NOT EXISTS bindings (
    employee_code VARCHAR NOT NULL,
    customer_code VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    PRIMARY KEY (employee_code, customer_code)
);

CREATE TABLE IF NOT EXISTS shares (
    from_employee_code VARCHAR NOT NULL,
    to_employee_code VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    PRIMARY KEY (from_employee_code, to_employee_code)
);

-- One row per check-in. No index: the table is kept in check-in order and scanned by
-- zone maps. Derived columns are computed at import and refreshed when a setting or a
-- customer location changes (pipelines.derive).
CREATE TABLE IF NOT EXISTS visits (
    visit_id VARCHAR,                -- from the file or the phone; NULL when none was given
    employee_code VARCHAR NOT NULL,
    customer_code VARCHAR NOT NULL,
    check_in_at TIMESTAMP NOT NULL,  -- local wall-clock time of the company time zone
    visit_date DATE NOT NULL,        -- the calendar day of the check-in
    check_in_lon DOUBLE,
    check_in_lat DOUBLE,
    check_in_source VARCHAR,         -- net | cell | gps
    check_out_at TIMESTAMP,
    check_out_lon DOUBLE,
    check_out_lat DOUBLE,
    check_out_source VARCHAR,
    stay_minutes DOUBLE,
    check_in_deviation_m DOUBLE,
    check_out_deviation_m DOUBLE,
    invalid_mask UTINYINT NOT NULL DEFAULT 0,  -- 0 = valid; bits as pipelines.derive.REASONS
    import_id BIGINT
);

CREATE TABLE IF NOT EXISTS routes (
    route_id BIGINT PRIMARY KEY,
    employee_code VARCHAR NOT NULL,
    route_name VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    UNIQUE (employee_code, route_name)
);

CREATE TABLE IF NOT EXISTS route_items (
    route_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    customer_code VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS plans (
    plan_id BIGINT PRIMARY KEY,
    employee_code VARCHAR NOT NULL,
    plan_date DATE NOT NULL,
    plan_name VARCHAR NOT NULL,
    route_name VARCHAR,
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    UNIQUE (employee_code, plan_date, plan_name)
);

CREATE TABLE IF NOT EXISTS plan_items (
    plan_id BIGINT NOT NULL,
    position INTEGER NOT NULL,
    employee_code VARCHAR NOT NULL,  -- copied from the plan: one item per employee, day, customer
    plan_date DATE NOT NULL,
    customer_code VARCHAR NOT NULL,
    PRIMARY KEY (employee_code, plan_date, customer_code)
);

CREATE TABLE IF NOT EXISTS holidays (
    day DATE PRIMARY KEY,
    kind VARCHAR NOT NULL,           -- off | work
    name VARCHAR
);

CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL,           -- admin | supervisor | analyst
    language VARCHAR,                -- zh | en | NULL = follow the browser
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP DEFAULT current_localtimestamp()
);

CREATE TABLE IF NOT EXISTS user_departments (
    username VARCHAR NOT NULL,
    department_code VARCHAR NOT NULL,
    PRIMARY KEY (username, department_code)
);

CREATE TABLE IF NOT EXISTS import_history (
    import_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    filename VARCHAR,
    username VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    rows BIGINT,
    inserted BIGINT,
    skipped BIGINT,
    ok BOOLEAN
);

CREATE TABLE IF NOT EXISTS audit_log (
    audit_id BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    username VARCHAR,
    action VARCHAR NOT NULL,         -- e.g. customer.update, import.customers, denied
    entity VARCHAR,
    entity_key VARCHAR,
    before_json VARCHAR,
    after_json VARCHAR
);

-- Customer populations (DESIGN.md section 2), as table macros so that every report query
-- shares one definition. Non-deleted customers only.
-- Of a set of departments: assigned to one of them, or bound (directly) to an employee of one.
CREATE OR REPLACE MACRO department_population(deps) AS TABLE
    SELECT c.code AS customer_code
    FROM customers AS c
    WHERE NOT c.deleted AND c.department_code IN (SELECT unnest(deps))
    UNION
    SELECT b.customer_code
    FROM bindings AS b
    JOIN employees AS e ON e.code = b.employee_code
    JOIN customers AS c ON c.code = b.customer_code
    WHERE NOT c.deleted AND e.department_code IN (SELECT unnest(deps));

-- Of each listed employee: bound directly, or through a share A -> B (B gets A's direct
-- customers; shares do not chain). Returns (employee_code, customer_code, shared_from).
CREATE OR REPLACE MACRO employee_population(emps) AS TABLE
    SELECT b.employee_code, b.customer_code, NULL::VARCHAR AS shared_from
    FROM bindings AS b
    JOIN customers AS c ON c.code = b.customer_code
    WHERE NOT c.deleted AND b.employee_code IN (SELECT unnest(emps))
    UNION ALL
    SELECT s.to_employee_code, b.customer_code, s.from_employee_code
    FROM shares AS s
    JOIN bindings AS b ON b.employee_code = s.from_employee_code
    JOIN customers AS c ON c.code = b.customer_code
    WHERE NOT c.deleted AND s.to_employee_code IN (SELECT unnest(emps));

-- The population of a report: the whole company (everyone), else the listed employees'
-- (when any), else the listed departments'. Distinct customer codes.
CREATE OR REPLACE MACRO customer_population(everyone, deps, emps) AS TABLE
    SELECT code AS customer_code FROM customers WHERE NOT deleted AND everyone
    UNION
    SELECT customer_code FROM department_population(deps)
    WHERE NOT everyone AND len(emps) = 0
    UNION
    SELECT customer_code FROM employee_population(emps)
    WHERE NOT everyone AND len(emps) > 0;

-- Visits to each customer over a date range, by anyone.
CREATE OR REPLACE MACRO customer_visit_counts(date_from, date_to) AS TABLE
    SELECT customer_code, count(*) AS visits, max(visit_date) AS last_visit
    FROM visits
    WHERE visit_date BETWEEN date_from AND date_to
    GROUP BY customer_code;

-- Whether a visit count falls in one of the selected frequency buckets (lows[i]..highs[i],
-- inclusive); no buckets selected = every count.
CREATE OR REPLACE MACRO in_buckets(cnt, lows, highs) AS
    len(lows) = 0
    OR list_bool_or(list_transform(list_zip(lows, highs),
                                   lambda r: cnt >= r[1] AND cnt <= r[2]));

-- The customers a map shows: the population (of the listed employees, each customer with
-- the position of its first selected owner, or of the departments / the whole company),
-- located inside the box, in the selected grades (none selected = all) and buckets, with
-- visits in the range and recency: 0 visited in the range, 1 visited before, 2 never.
CREATE OR REPLACE MACRO map_population(everyone, deps, emps, date_from, date_to, lows, highs,
                                       grades, unrated, west, south, east, north) AS TABLE
    WITH pop AS (
        SELECT customer_code, NULL::INTEGER AS emp_index
        FROM customer_population(everyone, deps, []::VARCHAR[])
        WHERE len(emps) = 0
        UNION ALL
        SELECT customer_code, min(list_position(emps, employee_code)) AS emp_index
        FROM employee_population(emps)
        WHERE len(emps) > 0
        GROUP BY customer_code
    ),
    located AS (
        SELECT pop.customer_code, pop.emp_index, c.longitude AS lon, c.latitude AS lat,
               c.grade
        FROM pop
        JOIN customers AS c ON c.code = pop.customer_code
        WHERE c.longitude BETWEEN west AND east AND c.latitude BETWEEN south AND north
          AND ((len(grades) = 0 AND NOT unrated) OR list_contains(grades, c.grade)
               OR (unrated AND c.grade IS NULL))
    ),
    seen AS (
        SELECT customer_code,
               count(*) FILTER (WHERE visit_date >= date_from) AS visits,
               max(visit_date) AS last_visit
        FROM visits
        WHERE visit_date <= date_to
          AND customer_code IN (SELECT customer_code FROM located)
        GROUP BY customer_code
    )
    SELECT l.*, coalesce(s.visits, 0) AS visits, s.last_visit,
           CASE WHEN coalesce(s.visits, 0) > 0 THEN 0
                WHEN s.last_visit IS NOT NULL THEN 1 ELSE 2 END AS recency
    FROM located AS l
    LEFT JOIN seen AS s USING (customer_code)
    WHERE in_buckets(coalesce(s.visits, 0), lows, highs);

-- Daily summaries that the employee reports read instead of the visits (pipelines/
-- summaries.py keeps them in step: every write of visits, plans or validity refreshes
-- the days it touched, in the same transaction).
CREATE TABLE IF NOT EXISTS visit_day_summary (
    visit_date DATE NOT NULL,
    employee_code VARCHAR NOT NULL,
    visits INTEGER NOT NULL,
    valid_visits INTEGER NOT NULL,
    stay_sum DOUBLE NOT NULL,
    stay_count INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS plan_day_summary (
    plan_date DATE NOT NULL,
    employee_code VARCHAR NOT NULL,
    plan_items INTEGER NOT NULL,
    plan_done INTEGER NOT NULL
);

-- Customer-side derived tables (pipelines/membership.py, pipelines/summaries.py keep them
-- in step in the transaction of every write): a dense integer id per customer so that the
-- customer reports group and join on integers, populations as filtered scans, and visits
-- per customer and day. No indexes: kept in id / department / day order for zone maps.
CREATE TABLE IF NOT EXISTS customer_facts (
    customer_id INTEGER NOT NULL,    -- given once, never changed
    customer_code VARCHAR NOT NULL,
    name VARCHAR,                    -- name, address, department: a page's rows without
    address VARCHAR,                 -- scanning the customers table for them
    department_code VARCHAR,
    phone VARCHAR,
    updated_at TIMESTAMP,
    grade VARCHAR,
    deleted BOOLEAN NOT NULL,
    longitude DOUBLE,
    latitude DOUBLE,
    owners INTEGER NOT NULL,         -- direct bindings (detects rows written by hand)
    first_visit DATE,                -- by anyone, over all time
    last_visit DATE,
    prev_visit DATE,                 -- the latest visit day before last_visit
    search_text VARCHAR              -- lower(code, name, phone, address) joined by chr(31):
);                                   -- the archive's quick search is one contains() scan
-- Files from before search_text get the column here and its values at start-up
-- (pipelines.summaries.ensure_built).
ALTER TABLE customer_facts ADD COLUMN IF NOT EXISTS search_text VARCHAR;

-- (department, customer) for every department whose population holds the customer: it is
-- assigned to the department's subtree or bound directly to one of its employees.
CREATE TABLE IF NOT EXISTS customer_membership (
    department_code VARCHAR NOT NULL,
    customer_id INTEGER NOT NULL,
    grade VARCHAR
);

-- Direct bindings of non-deleted customers, by integer id (shares are applied at query time).
CREATE TABLE IF NOT EXISTS employee_customers (
    employee_code VARCHAR NOT NULL,
    customer_id INTEGER NOT NULL,
    grade VARCHAR
);

CREATE TABLE IF NOT EXISTS customer_day (
    visit_date DATE NOT NULL,
    customer_id INTEGER NOT NULL,
    grade VARCHAR,                   -- the customer's grade now (saves a join per report)
    visits INTEGER NOT NULL          -- visits by anyone that day
);

-- Distinct customers each employee visited per calendar month (first day of the month):
-- the ranking's customers_visited for a whole-month range without a distinct count over
-- the month's visits. Visits are only added, so the visit import path recounts the months
-- it touched (pipelines.summaries.refresh_for_visits).
CREATE TABLE IF NOT EXISTS employee_month (
    month DATE NOT NULL,
    employee_code VARCHAR NOT NULL,
    customers_visited INTEGER NOT NULL
);

-- customer_day summed per calendar month (first day of the month): a range that is one
-- whole month (this month, last month) reads a customer's count as one row, where summing
-- the days costs a hash aggregate of the month's rows (most of a company-wide customer
-- report). Kept with customer_day by every write that changes it.
CREATE TABLE IF NOT EXISTS customer_month (
    month DATE NOT NULL,
    customer_id INTEGER NOT NULL,
    grade VARCHAR,
    visits INTEGER NOT NULL
);

-- A customer report's population, by integer id with the grade: the whole company
-- (everyone), one department subtree (one_root: root, from customer_membership), several
-- (many_roots: roots), or employees (by_employee: their direct customers and those of
-- employees who share with them). The arguments are the queries' parameters of the same
-- names (dashboard.metrics.population_params); each customer once.
CREATE OR REPLACE MACRO population_ids(everyone, one_root, root, many_roots, roots,
                                       by_employee, employees) AS TABLE
    SELECT customer_id, grade FROM customer_facts WHERE everyone AND NOT deleted
    UNION ALL
    SELECT customer_id, grade FROM customer_membership WHERE one_root AND department_code = root
    UNION ALL
    SELECT DISTINCT customer_id, grade FROM customer_membership
    WHERE many_roots AND department_code IN (SELECT unnest(roots::VARCHAR[]))
    UNION ALL
    SELECT DISTINCT customer_id, grade FROM employee_customers
    WHERE by_employee AND employee_code IN (
        SELECT unnest(employees::VARCHAR[])
        UNION
        SELECT from_employee_code FROM shares
        WHERE to_employee_code IN (SELECT unnest(employees::VARCHAR[])));

-- Visits per visited customer over a range (by anyone; non-deleted customers), with its
-- grade: straight from customer_month when the range is one whole month (whole_month,
-- decided by dashboard.metrics.whole_month), else summed from customer_day.
CREATE OR REPLACE MACRO customer_visits(date_from, date_to, whole_month) AS TABLE
    SELECT customer_id, grade, visits
    FROM customer_month
    WHERE whole_month AND month = date_from
    UNION ALL
    SELECT customer_id, any_value(grade) AS grade, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE NOT whole_month AND visit_date BETWEEN date_from AND date_to
    GROUP BY customer_id;

-- The customers a map shows (map_cells, map_points and map_extent read them): the
-- population (the whole company, department subtrees from customer_membership, or the
-- chosen employees' direct and shared customers, each with the position of its first
-- chosen owner), located inside the box, in the chosen grades (none = all) and buckets,
-- with recency: 0 visited in the range, 1 visited before, 2 never (as of date_to).
-- Recency comes from the first / last / second-to-last visit days in customer_facts
-- (customer_day only for the few they cannot decide); visit counts only when buckets are
-- chosen. The arguments are the queries' parameters of the same names (see
-- dashboard.metrics.population_params and dashboard.maps); map_population above is the
-- plain definition the tests compare this one with.
CREATE OR REPLACE MACRO map_customers(everyone, by_employee, employees, one_root, root,
                                      many_roots, roots, west, south, east, north,
                                      grade_filter, grades, unrated, date_from, date_to,
                                      bucketed, bucket_counts, bucket_from,
                                      zero_selected) AS TABLE
    WITH owners AS (  -- the chosen employees' customers: direct, and through shares
        SELECT e.employee_code, e.customer_id
        FROM employee_customers AS e
        WHERE by_employee AND e.employee_code IN (SELECT unnest(employees::VARCHAR[]))
        UNION ALL
        SELECT s.to_employee_code, e.customer_id
        FROM shares AS s
        JOIN employee_customers AS e ON e.employee_code = s.from_employee_code
        WHERE by_employee AND s.to_employee_code IN (SELECT unnest(employees::VARCHAR[]))
    ),
    pop AS (
        SELECT customer_id, NULL::INTEGER AS emp_index
        FROM customer_membership
        WHERE one_root AND department_code = root
        UNION ALL
        SELECT DISTINCT customer_id, NULL::INTEGER AS emp_index
        FROM customer_membership
        WHERE many_roots AND department_code IN (SELECT unnest(roots::VARCHAR[]))
        UNION ALL
        SELECT customer_id,
               min(list_position(employees::VARCHAR[], employee_code)) AS emp_index
        FROM owners
        GROUP BY customer_id
    ),
    located AS (
        SELECT customer_id, customer_code, NULL::INTEGER AS emp_index, longitude AS lon,
               latitude AS lat, grade, first_visit, last_visit, prev_visit
        FROM customer_facts
        WHERE everyone AND NOT deleted
          AND longitude BETWEEN west AND east AND latitude BETWEEN south AND north
          AND (NOT grade_filter OR grade IN (SELECT unnest(grades::VARCHAR[]))
               OR (unrated AND grade IS NULL))
        UNION ALL
        SELECT f.customer_id, f.customer_code, p.emp_index, f.longitude AS lon,
               f.latitude AS lat, f.grade, f.first_visit, f.last_visit, f.prev_visit
        FROM pop AS p
        JOIN customer_facts AS f ON f.customer_id = p.customer_id
        WHERE NOT everyone
          AND f.longitude BETWEEN west AND east AND f.latitude BETWEEN south AND north
          AND (NOT grade_filter OR f.grade IN (SELECT unnest(grades::VARCHAR[]))
               OR (unrated AND f.grade IS NULL))
    ),
    between_seen AS (  -- visited before the range and twice after it: seen inside it?
        SELECT DISTINCT customer_id
        FROM customer_day
        WHERE visit_date BETWEEN date_from AND date_to
          AND customer_id IN (SELECT customer_id FROM customer_facts
                              WHERE first_visit < date_from AND prev_visit > date_to)
    ),
    counted AS (  -- visit counts, only when buckets are selected
        SELECT customer_id, sum(visits) AS visits
        FROM customer_day
        WHERE bucketed AND everyone AND visit_date BETWEEN date_from AND date_to
        GROUP BY customer_id
        UNION ALL
        SELECT customer_id, sum(visits) AS visits
        FROM customer_day
        WHERE bucketed AND NOT everyone AND visit_date BETWEEN date_from AND date_to
          AND customer_id IN (SELECT customer_id FROM pop)
        GROUP BY customer_id
    ),
    chosen AS (
        SELECT customer_id FROM counted
        WHERE visits IN (SELECT unnest(bucket_counts::INTEGER[]))
           OR coalesce(visits >= bucket_from, false)
    )
    SELECT customer_id, customer_code, emp_index, lon, lat, grade, first_visit, last_visit,
           prev_visit,
           CASE WHEN first_visit IS NULL OR first_visit > date_to THEN 2
                WHEN last_visit < date_from THEN 1
                WHEN last_visit <= date_to THEN 0
                WHEN prev_visit BETWEEN date_from AND date_to THEN 0
                WHEN prev_visit < date_from THEN 1
                WHEN first_visit >= date_from THEN 0
                WHEN customer_id IN (SELECT customer_id FROM between_seen) THEN 0
                ELSE 1 END AS recency
    FROM located
    WHERE NOT bucketed
       OR customer_id IN (SELECT customer_id FROM chosen)
       OR (zero_selected AND customer_id NOT IN (SELECT customer_id FROM counted));

-- The phone API (docs/API.md): employees sign in with their own password and get bearer
-- tokens. Only hashes are stored: scrypt for passwords, SHA-256 for tokens (a token is 256
-- random bits, so a slow hash would add nothing but latency to every request).
CREATE TABLE IF NOT EXISTS employee_passwords (
    employee_code VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    updated_at TIMESTAMP DEFAULT current_localtimestamp()
);

CREATE TABLE IF NOT EXISTS api_tokens (
    token_id VARCHAR PRIMARY KEY,    -- public part of the token: lists, revoke, audit
    token_hash VARCHAR NOT NULL,     -- sha256 hex of the secret part; never the token itself
    employee_code VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);

-- Long work (exports, imports) when several web processes share one ClickHouse store
-- (dashboard/jobs.py SharedJobRegistry): any process can answer a progress poll. A DuckDB
-- deployment is one process and keeps its jobs in memory; the table stays empty.
CREATE TABLE IF NOT EXISTS jobs (
    job_id VARCHAR PRIMARY KEY,
    owner VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    fraction DOUBLE NOT NULL,
    done BOOLEAN NOT NULL,
    error VARCHAR,
    result_json VARCHAR,             -- the job kind's codec (never pickle)
    path VARCHAR,                    -- result file in the shared job folder
    filename VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
