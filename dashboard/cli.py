"""The `visitlens` command (DESIGN.md section 5)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pandas as pd

from dashboard.settings import Settings
from pipelines.db import Database, DatabaseLockedError
from pipelines.engines import open_store
from pipelines.formats import KINDS
from pipelines.store import Store
from pipelines.upgrade import upgrade

if TYPE_CHECKING:
    from dashboard.scope import Scope


class CliError(Exception):
    """Bad input or a refused operation: printed to stderr, exit status 1."""


def _progress_printer(label: str):  # type: ignore[no-untyped-def]
    """A progress line on stderr (only on a terminal, so scripts get clean output)."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str, fraction: float) -> None:
        width = 30
        filled = int(width * fraction)
        end = "\n" if fraction >= 1 else ""
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{fraction:4.0%} {stage:<28}{end}")
        sys.stderr.flush()

    return show


def _open(args: argparse.Namespace, init: bool = False) -> Store:
    settings = Settings.from_env(args.db)
    if settings.embedded and not init and not settings.db_file.exists():
        raise CliError(f"no database at {settings.db_path}: run `visitlens init` or "
                       "`visitlens demo` first")
    db = settings.open_database()
    if init or settings.embedded:  # an older file is upgraded by any command
        upgrade(db)
    return db


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args, init=True) as db:
        print(f"Database ready: {db.path}")
    return 0


IMPORT_MEMORY_LIMIT = "2GB"  # DuckDB's share of a streamed import (peak RSS about 2.5 GB)


def cmd_import(args: argparse.Namespace) -> int:
    """Detect and import a file. CSV files are streamed (no row or size limit, bounded
    memory); XLSX files are read as the import page reads them (50 MB, 1 048 575 rows)."""
    from pipelines.formats import MAX_UPLOAD_BYTES, too_large_problem
    from pipelines.imports import ImportResult, run_import, run_import_csv_file

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    progress = _progress_printer(f"{args.kind} {path.name}")
    with _open(args) as db:
        if path.suffix.lower() in (".csv", ".txt"):
            # DuckDB's buffer pool would grow to 80 % of the machine's memory on a big file;
            # with a bound it spills its temp tables to DATABASE.tmp instead.
            db.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
            try:
                result = run_import_csv_file(db, args.kind, path, detect_only=args.detect_only,
                                             progress=progress)
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
        elif path.stat().st_size > MAX_UPLOAD_BYTES:  # refused unread (an XLSX is unzipped)
            result = ImportResult(args.kind, False, 0,
                                  problems=[too_large_problem(path.stat().st_size)],
                                  total_problems=1, detect_only=args.detect_only)
        else:
            result = run_import(db, args.kind, path.read_bytes(), path.name,
                                detect_only=args.detect_only, progress=progress)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        for p in result.problems:
            where = f"row {p.row}" if p.row is not None else "file"
            column = f", column {p.column}" if p.column else ""
            print(f"{where}{column}: {p.message}", file=sys.stderr)
        if result.total_problems > len(result.problems):
            print(f"... and {result.total_problems - len(result.problems)} more problems",
                  file=sys.stderr)
        verb = "would insert" if result.detect_only else "inserted"
        summary = (f"{args.kind}: {result.rows} rows, {verb} {result.inserted}, "
                   f"skipped {result.skipped} already stored")
        if result.ok:
            print(summary)
        else:
            print(f"{args.kind}: {result.total_problems} problem(s) in {result.rows} rows; "
                  "nothing was imported", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_user_add(args: argparse.Namespace) -> int:
    from pipelines.users import UserError, add_user

    password = _read_password(args.password_stdin)
    with _open(args) as db:
        try:
            user = add_user(db, args.username, password, args.role, tuple(args.department or ()))
        except UserError as exc:
            raise CliError(str(exc)) from exc
    print(f"User {user.username} ({user.role}) added"
          + (f" for {', '.join(user.departments)}" if user.departments else ""))
    return 0


def cmd_user_change(args: argparse.Namespace) -> int:
    """passwd, set-role, deactivate, activate: each ends the user's web sessions at once."""
    from pipelines import users

    password = _read_password(args.password_stdin) if args.user_command == "passwd" else ""
    with _open(args) as db:
        try:
            if args.user_command == "passwd":
                users.set_password(db, args.username, password)
                done = "password changed"
            elif args.user_command == "set-role":
                user = users.set_role(db, args.username, args.role,
                                      tuple(args.department or ()))
                done = f"now {user.role}" + (f" for {', '.join(user.departments)}"
                                             if user.departments else "")
            else:
                active = args.user_command == "activate"
                users.set_active(db, args.username, active)
                done = "activated" if active else "deactivated"
        except users.UserError as exc:
            raise CliError(str(exc)) from exc
    print(f"User {args.username}: {done}; their web sessions have ended")
    return 0


def cmd_secret_rotate(args: argparse.Namespace) -> int:
    """A new session-signing key in the key file; every web session ends."""
    from pipelines import secret, sessions

    settings = Settings.from_env(args.db)
    with _open(args) as db:  # first: refused while a server holds a DuckDB file
        try:
            path = secret.rotate(settings.secret_file)
        except secret.SecretError as exc:
            raise CliError(str(exc)) from exc
        with db.transaction() as cur:
            sessions.end_all(cur)
    print(f"New session key written to {path}; every web session has ended "
          "(restart running servers)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines import generate

    settings = Settings.from_env(args.db)
    samples = Path(settings.db_path).resolve().parent / "samples"
    try:
        logins = generate.build_demo(settings.db_path, size=args.size, seed=args.seed,
                                     progress=_progress_printer(f"demo {args.size}"),
                                     samples_dir=samples)
    except generate.DemoError as exc:
        raise CliError(str(exc)) from exc
    print(f"Demo database ready: {settings.db_path} ({args.size}, seed {args.seed})")
    print("Demo logins:")
    for login in logins:
        print(f"  {login.username:<12} {login.password:<20} {login.description}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from dashboard.app import create_app

    settings = Settings.from_env(args.db, host=args.host, port=args.port)
    if settings.embedded and not settings.db_file.exists():
        raise CliError(f"no database at {settings.db_path}: run `visitlens demo` first")
    app = create_app(settings)
    server = create_server(app.server, host=settings.host, port=settings.port,
                           threads=settings.threads, ident="VisitLens")
    host = settings.host if settings.host not in ("0.0.0.0", "") else "127.0.0.1"
    print(f"VisitLens is listening on http://{host}:{server.effective_port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2024-05-31: {text!r}") from None


def report_frame(db: Store, args: argparse.Namespace) -> pd.DataFrame:
    """Run one registered report for the command line, in the scope of --as (else all)."""
    from dashboard import reports
    from dashboard.reports.filters import Filters
    from dashboard.scope import operator_scope, scope_for_username

    scope = scope_for_username(db, args.as_user) if args.as_user else operator_scope(db)
    filters = Filters(args.date_from, args.date_to, args.department,
                      tuple(args.employee or ()))
    return reports.get(args.report).frame(db, scope, filters, vars(args))


def cmd_report(args: argparse.Namespace) -> int:
    from dashboard import output, reports
    from dashboard.reports.filters import FilterError
    from dashboard.scope import ScopeError

    with _open(args) as db:
        try:
            frame = report_frame(db, args)
        except (ScopeError, FilterError) as exc:
            raise CliError(str(exc)) from exc
    fields = reports.get(args.report).fields
    rows = output.records(frame, fields)
    if args.format == "json":
        print(output.as_json(args.report, rows))
    elif args.format == "csv":
        sys.stdout.write(output.as_csv(rows, fields))
    else:
        print(output.as_table(rows, fields))
    return 0


def _report_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    """`visitlens report`: its choices and options are the registry's reports and their
    parameters, so a new report module shows up here as it is."""
    from dashboard import reports

    registered = reports.registry()
    rep = sub.add_parser("report", help="print a report (same numbers as the pages)")
    rep.add_argument("report", choices=tuple(registered), help="; ".join(
        f"{r.name}: {r.help}" for r in registered.values()))
    rep.add_argument("--from", dest="date_from", type=_date, required=True)
    rep.add_argument("--to", dest="date_to", type=_date, required=True)
    rep.add_argument("--department", metavar="CODE")
    rep.add_argument("--employee", action="append", metavar="CODE")
    for parameter in reports.parameters().values():
        rep.add_argument(f"--{parameter.name}", help=parameter.help,
                         choices=parameter.choices or None, default=parameter.default,
                         metavar=parameter.metavar)
    rep.add_argument("--as", dest="as_user", metavar="USERNAME")
    rep.add_argument("--format", choices=("table", "csv", "json"), default="table")
    rep.set_defaults(func=cmd_report)


def _scope(db: Store, as_user: str | None) -> Scope:
    """The scope of --as, else the local operator's (everything)."""
    from dashboard.scope import ScopeError, operator_scope, scope_for_username

    try:
        return scope_for_username(db, as_user) if as_user else operator_scope(db)
    except ScopeError as exc:
        raise CliError(str(exc)) from exc


def cmd_export(args: argparse.Namespace) -> int:
    """Write a scoped archive export as csv (UTF-8 BOM), xlsx or json."""
    from dashboard.archive_export import EXPORTS, render

    if args.format == "xlsx" and not args.out:
        raise CliError("--format xlsx needs --out FILE (a workbook is not written to a terminal)")
    build, fields = EXPORTS[args.export]
    with _open(args) as db:
        frame = build(db, _scope(db, args.as_user))
    data = render(args.export, frame, fields, args.format)
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"{args.export}: {len(frame)} rows written to {args.out}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_customer(args: argparse.Namespace) -> int:
    """Soft-delete or restore customers; unknown codes refuse the whole command."""
    from dashboard.scope import operator_scope
    from pipelines.customers import delete_customers, missing_customers, restore_customers

    with _open(args) as db:
        unknown = missing_customers(db, args.codes)
        if unknown:
            raise CliError(f"unknown customer code(s): {', '.join(unknown)}; nothing was changed")
        if args.customer_command == "delete":
            count = delete_customers(db, args.codes, operator_scope(db))
            print(f"{count} customer(s) deleted")
        else:
            count = restore_customers(db, args.codes, operator_scope(db))
            print(f"{count} customer(s) restored")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    """Add or revoke shares of one employee's customers with others."""
    from dashboard.scope import operator_scope
    from pipelines.customers import EditError, add_shares, revoke_share

    with _open(args) as db:
        try:
            if args.share_command == "add":
                count = add_shares(db, args.from_employee, args.to_employees,
                                   operator_scope(db))
                print(f"{count} share(s) added")
            else:
                count = revoke_share(db, args.from_employee, args.to_employee,
                                     operator_scope(db))
                print(f"{count} share(s) revoked")
        except EditError as exc:
            raise CliError(str(exc)) from exc
    return 0


def _read_password(from_stdin: bool) -> str:
    """A new password from standard input (one line), else asked twice on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise CliError("the passwords differ")
    return password


def cmd_employee_password(args: argparse.Namespace) -> int:
    """Set an employee's password for the phone API (docs/API.md)."""
    from pipelines.api_tokens import TokenError, set_employee_password

    password = _read_password(args.password_stdin)
    with _open(args) as db:
        try:
            set_employee_password(db, args.code, password)
        except TokenError as exc:
            raise CliError(str(exc)) from exc
    print(f"API password of employee {args.code} set")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Issue, revoke or list phone API tokens."""
    from pipelines.api_tokens import TokenError, issue_token, list_tokens, revoke_token

    with _open(args) as db:
        try:
            if args.token_command == "issue":
                issued = issue_token(db, args.employee, args.days)
                print(issued.token)
                print(f"token {issued.token_id} for employee {issued.employee_code}, "
                      f"expires {issued.expires_at:%Y-%m-%d %H:%M:%S} (shown once: keep it)",
                      file=sys.stderr)
            elif args.token_command == "revoke":
                if revoke_token(db, args.token_id):
                    print(f"token {args.token_id} revoked")
                else:
                    print(f"token {args.token_id} was already revoked")
            else:
                for info in list_tokens(db, args.employee):
                    state = ("revoked" if info.revoked_at is not None
                             else "active" if info.active(datetime.now()) else "expired")
                    used = (f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at
                            else "never")
                    print(f"{info.token_id}  {info.employee_code:<12} {state:<8} "
                          f"expires {info.expires_at:%Y-%m-%d %H:%M}  last used {used}")
        except TokenError as exc:
            raise CliError(str(exc)) from exc
    return 0


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 < value <= 365:
        raise argparse.ArgumentTypeError("a token lasts more than 0 and at most 365 days")
    return value


def cmd_clickhouse_copy(args: argparse.Namespace) -> int:
    """Copy a DuckDB archive into the (empty) ClickHouse store of VISITLENS_CLICKHOUSE_URL."""
    from pipelines.clickhouse.copy import copy_archive

    settings = Settings.from_env(args.db)
    url = args.url or settings.clickhouse_url
    if not url:
        raise CliError("say where ClickHouse is: --url or VISITLENS_CLICKHOUSE_URL")
    source_path = Path(args.source)
    if not source_path.is_file():
        raise CliError(f"no DuckDB archive at {source_path}")
    target = open_store("clickhouse", url)
    try:
        with Database(source_path, read_only=True) as source:
            def show(table: str, rows: int) -> None:
                sys.stderr.write(f"\rcopying {table:<22} {rows:>12,} rows")
                sys.stderr.flush()

            copied = copy_archive(source, target, progress=show)  # type: ignore[arg-type]
    except RuntimeError as exc:
        raise CliError(str(exc)) from exc
    finally:
        target.close()
    sys.stderr.write("\n")
    print(json.dumps(copied, indent=2) if args.json else
          "\n".join(f"{table}: {rows:,}" for table, rows in copied.items()))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the database to FILE (the server must not be running)."""
    from pipelines.backup import BackupError, backup_file

    settings = Settings.from_env(args.db)
    try:
        target = backup_file(settings.db_file, Path(args.file))
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    except DatabaseLockedError as exc:
        raise CliError(f"{exc} While the server runs, an administrator downloads a backup "
                       "from /download/backup instead.") from exc
    print(f"Backup of {settings.db_path} written to {target}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a backup FILE in place of the database (the server must be stopped)."""
    from pipelines.backup import BackupError, restore

    settings = Settings.from_env(args.db)
    try:
        kept = restore(Path(args.file), settings.db_file)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"Restored {args.file} into {settings.db_path}")
    if kept is not None:
        print(f"The replaced database was kept as {kept}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Bad arguments exit with status 1 like every other error (DESIGN.md section 5)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="visitlens", description="VisitLens field-sales visit analytics")
    parser.add_argument("--db", help="database file (default $VISITLENS_DB, else "
                        "data/visitlens.duckdb)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("init", help="create or upgrade the database").set_defaults(func=cmd_init)

    demo = sub.add_parser("demo", help="build a demo database and print its logins")
    demo.add_argument("--size", choices=("small", "medium", "large"), default="small")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the web app")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    imp = sub.add_parser("import", help="detect and import a CSV or XLSX file")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file")
    imp.add_argument("--detect-only", action="store_true", help="only list problems")
    imp.add_argument("--json", action="store_true", help="machine-readable result")
    imp.set_defaults(func=cmd_import)

    _report_parser(sub)

    exp = sub.add_parser("export", help="export the customer archive or the person-customer "
                         "table (in the scope of --as)")
    exp.add_argument("export", choices=("customers", "person-customers"))
    exp.add_argument("--as", dest="as_user", metavar="USERNAME")
    exp.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv")
    exp.add_argument("--out", metavar="FILE", help="write to FILE (required for xlsx)")
    exp.set_defaults(func=cmd_export)

    cust = sub.add_parser("customer", help="soft-delete or restore customers")
    cust_sub = cust.add_subparsers(dest="customer_command", required=True, parser_class=_Parser)
    for name, text in (("delete", "soft-delete customers (their visits stay)"),
                       ("restore", "restore soft-deleted customers")):
        action = cust_sub.add_parser(name, help=text)
        action.add_argument("codes", nargs="+", metavar="CODE")
        action.set_defaults(func=cmd_customer)

    share = sub.add_parser("share", help="share an employee's customers with others")
    share_sub = share.add_subparsers(dest="share_command", required=True, parser_class=_Parser)
    share_add = share_sub.add_parser("add", help="TO_EMPLOYEE also looks after FROM's customers")
    share_add.add_argument("from_employee", metavar="FROM_EMPLOYEE")
    share_add.add_argument("to_employees", nargs="+", metavar="TO_EMPLOYEE")
    share_add.set_defaults(func=cmd_share)
    share_revoke = share_sub.add_parser("revoke", help="end a share")
    share_revoke.add_argument("from_employee", metavar="FROM_EMPLOYEE")
    share_revoke.add_argument("to_employee", metavar="TO_EMPLOYEE")
    share_revoke.set_defaults(func=cmd_share)

    click = sub.add_parser("clickhouse", help="move to ClickHouse (VISITLENS_ENGINE=clickhouse)")
    click_sub = click.add_subparsers(dest="action", required=True)
    click_copy = click_sub.add_parser("copy", help="copy a DuckDB archive into an empty "
                                      "ClickHouse store")
    click_copy.add_argument("source", help="the DuckDB file to copy from")
    click_copy.add_argument("--url", help="chdb:PATH or http(s)://user:pw@host:8123/db "
                            "(default $VISITLENS_CLICKHOUSE_URL)")
    click_copy.add_argument("--json", action="store_true", help="print rows per table as JSON")
    click_copy.set_defaults(func=cmd_clickhouse_copy)

    backup = sub.add_parser("backup", help="write a consistent copy of the database to "
                            "FILE (while the server runs: /download/backup)")
    backup.add_argument("file", metavar="FILE")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="put a backup FILE in place of the database "
                             "(the server must be stopped; the old file is kept)")
    restore.add_argument("file", metavar="FILE")
    restore.set_defaults(func=cmd_restore)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    add = user_sub.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("admin", "supervisor", "analyst"))
    add.add_argument("--department", action="append", metavar="CODE")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_user_add)
    passwd = user_sub.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=cmd_user_change)
    set_role = user_sub.add_parser("set-role", help="set a user's role and departments "
                                   "(ends their sessions)")
    set_role.add_argument("username")
    set_role.add_argument("--role", required=True, choices=("admin", "supervisor", "analyst"))
    set_role.add_argument("--department", action="append", metavar="CODE")
    set_role.set_defaults(func=cmd_user_change)
    for name, text in (("deactivate", "stop a user from signing in (ends their sessions)"),
                       ("activate", "let a deactivated user sign in again")):
        toggle = user_sub.add_parser(name, help=text)
        toggle.add_argument("username")
        toggle.set_defaults(func=cmd_user_change)

    secret_cmd = sub.add_parser("secret", help="the key that signs web sessions")
    secret_sub = secret_cmd.add_subparsers(dest="secret_command", required=True,
                                           parser_class=_Parser)
    secret_sub.add_parser("rotate", help="write a new key (every web session ends)"
                          ).set_defaults(func=cmd_secret_rotate)

    employee = sub.add_parser("employee", help="employees' access to the phone API")
    employee_sub = employee.add_subparsers(dest="employee_command", required=True,
                                           parser_class=_Parser)
    password = employee_sub.add_parser("password", help="set an employee's API password")
    password.add_argument("code", metavar="CODE")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(func=cmd_employee_password)

    token = sub.add_parser("token", help="phone API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, parser_class=_Parser)
    issue = token_sub.add_parser("issue", help="issue a token (printed once)")
    issue.add_argument("employee", metavar="EMPLOYEE")
    issue.add_argument("--days", type=_days, default=30, help="lifetime (default 30)")
    issue.set_defaults(func=cmd_token)
    revoke = token_sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    revoke.set_defaults(func=cmd_token)
    listing = token_sub.add_parser("list", help="list tokens (without their secrets)")
    listing.add_argument("employee", metavar="EMPLOYEE", nargs="?")
    listing.set_defaults(func=cmd_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"visitlens: error: {exc}", file=sys.stderr)
        return 1
    except DatabaseLockedError as exc:
        print(f"visitlens: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
