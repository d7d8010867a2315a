"""Benchmark: the list import end to end against a plain COPY of the same file (the limit), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warmcrm_bench_import python bench/import.py --rows 100000
    DATABASE_URL=... python bench/import.py --rows 100000 1000000 --existing 100000
    DATABASE_URL=... python bench/import.py --rows 100000 --compare /tmp/warmcrm-previous   # a checkout of HEAD~

For each size it empties the database, adds `--existing` leads (set-based), writes a CSV of that many rows
(about 20% match an existing lead by email or phone, 3% repeat an earlier row of the file, 1% have a
bad email beside a good phone, 1% have no contact), then measures in the same run:
  copy      COPY of the file into a scratch table of text columns: the limit for moving those bytes in
  import    leads.import_services.import_run_now(): read, judge, dedupe, create, merge, timeline, warmth
  again     the same file imported a second time: every row now merges, nothing is created
  previous  with --compare DIR: the same import by the code of another checkout (say the commit before a
            change), on a freshly seeded database, in the same run
  floor     with --floor, after `again`: the import's two largest writes as plain SQL in this process, on
            its one backend, each committed (its FK checks): its new leads inserted again (INSERT ... SELECT
            of the leads the import created: the same columns, indexes and foreign keys) and its merged leads
            updated once (warmth, band, last conversation: the same non-HOT update). No Python, no reading,
            no dedupe: what this schema costs PostgreSQL for those rows, the floor no import code goes under
            on one connection (the import spreads it over two)
  dry run   with --dry-run: import_services.import_dry_run() on the seeded database before the import (the
            web flow's check: counts, writes nothing); its counts must equal the import's. --dry-run-only
            measures just that (a 1M-row dry run's memory without the 1M-row import's ten minutes)
Each import runs in a child process, so its peak RSS (getrusage) is its own; --tracemalloc adds the
Python heap peak (and slows the run); "reader MB" is the peak RSS of the import's own file reader process
(leads.import_reader). Besides wall time it reports the CPU seconds the import cost: the child process and
its reader (Python; "reader" is the reader's share) plus its PostgreSQL backends (the job's connection and
its two writing connections, read from /proc, so the server must be local). On a machine shared with other
work the wall time stretches with the load; the CPU seconds much less. It runs with DJANGO_DEBUG=false, as
the worker does in production (under DEBUG Django keeps every statement's SQL: 1-2 s more per 100k rows). It is
a script that prints figures, not a test; results go to docs/benchmarks.md ("## Import").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_IMPORT_CODE"):  # a child measuring another checkout (--compare)
    sys.path.insert(0, os.environ["BENCH_IMPORT_CODE"])
    # The editable install's finder would map the project's packages back to this checkout.
    sys.meta_path = [finder for finder in sys.meta_path if "__editable__" not in getattr(finder, "__module__", "")]
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/warmcrm_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")
os.environ.setdefault("DJANGO_MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "warmcrm_bench_import_media"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
for _name, _value in {  # production settings, as the worker runs them (see the docstring)
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-import-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "localhost",
}.items():
    os.environ.setdefault(_name, _value)

TABLES = "leads_importrecord, leads_importjob, leads_timelineentry, leads_followup, calls_call, leads_lead, leads_event"


def ensure_database() -> None:
    """Create the benchmark's own database if it does not exist yet."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"] or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')


def sql(statement: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def phone(i: int) -> str:
    """A valid US number per i (exchange 200-999 of area code 212/646)."""
    area = 212 if i < 8_000_000 else 646
    return f"({area}) {200 + (i // 10_000) % 800:03d}-{i % 10_000:04d}"


def seed(existing: int) -> int:
    sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    owner = sql("SELECT id FROM auth_user WHERE username = 'bench-rep'")
    if not owner:
        sql(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES ('!', false, 'bench-rep', '', '', '', false, true, now())"
        )
        owner = sql("SELECT id FROM auth_user WHERE username = 'bench-rep'")
    # Existing leads: lead<i>@example.com and the phone of number 5_000_000 + i.
    sql(
        """
        INSERT INTO leads_lead (first_name, last_name, title, company, email, phone, phone_e164, owner_id, stage,
            lost_reason, connection_type, research_notes, do_not_call, unanswered_attempts, warmth, warmth_band,
            stale_snooze_reason, created_at, updated_at)
        SELECT 'Lead', 'No. ' || i, '', CASE WHEN i %% 2 = 0 THEN 'Company ' || (i %% 5000) ELSE '' END,
            'lead' || i || '@example.com', '', '+1212' || lpad((200 + ((5000000 + i) / 10000) %% 800)::text, 3, '0')
            || lpad(((5000000 + i) %% 10000)::text, 4, '0'), %s, 'new', '', 'cold', '', false, 0, 0, 'cold', '',
            now() - interval '200 days', now() - interval '200 days'
        FROM generate_series(0, %s - 1) AS i
        """,
        [owner[0][0], existing],
    )
    sql("ANALYZE")
    return owner[0][0]


def write_file(path: Path, rows: int, existing: int, seed_value: int = 42) -> None:
    rng = random.Random(seed_value)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "Company", "Job Title", "Notes"])
        for i in range(rows):
            roll = rng.random()
            company, title, notes = f"Company {i % 7000}", rng.choice(["CEO", "CTO", "Buyer", ""]), ""
            if roll < 0.15 and existing:  # an existing lead, by email
                k = rng.randrange(existing)
                writer.writerow(["Lead", f"No. {k}", f"lead{k}@example.com", "", company, title, "met at booth"])
            elif roll < 0.20 and existing:  # an existing lead, by phone only
                k = rng.randrange(existing)
                writer.writerow(["Lead", f"No. {k}", "", phone(5_000_000 + k), company, title, notes])
            elif roll < 0.23 and i > 10:  # a repeat of an earlier row of this file
                j = rng.randrange(i)
                writer.writerow([f"Person{j}", "Again", f"new{j}@bench.example.com", "", "", "", ""])
            elif roll < 0.24:  # a bad email beside a good phone: imported with a warning
                writer.writerow([f"Person{i}", "Warn", "not-an-email", phone(i), company, title, notes])
            elif roll < 0.25:  # no contact at all: an error row
                writer.writerow([f"Person{i}", "Error", "", "", company, title, notes])
            else:
                writer.writerow([f"Person{i}", "New", f"new{i}@bench.example.com", phone(i), company, title, notes])


def copy_limit(path: Path) -> float:
    from django.db import connection

    sql("DROP TABLE IF EXISTS bench_import_scratch")
    sql(
        "CREATE TABLE bench_import_scratch (first_name text, last_name text, email text, phone text, "
        "company text, title text, notes text)"
    )
    started = time.perf_counter()
    statement = "COPY bench_import_scratch FROM STDIN WITH (FORMAT csv, HEADER true)"
    with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(statement) as copy:
        while chunk := handle.read(1024 * 1024):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    count = sql("SELECT count(*) FROM bench_import_scratch")[0][0]
    sql("DROP TABLE bench_import_scratch")
    assert count > 0
    return seconds


def write_floor(job_id: int) -> tuple[float, float | None, int, float]:
    """The `floor` run (see the docstring): wall and backend CPU seconds, the rows written, and the wall seconds
    of the insert alone (the rest is the update)."""
    from django.db import transaction

    from leads.models import Lead

    backend = sql("SELECT pg_backend_pid()")[0][0]
    sql("SET jit = off")  # as the import's transactions run
    columns = ", ".join(f.column for f in Lead._meta.concrete_fields if not f.primary_key)
    before, started = backend_cpu_seconds(backend), time.perf_counter()
    with transaction.atomic():
        inserted = sql(
            f"WITH n AS (INSERT INTO leads_lead ({columns}) SELECT {columns} FROM leads_lead "  # nosec B608
            "WHERE import_job_id = %s RETURNING 1) SELECT count(*) FROM n",
            [job_id],
        )[0][0]
    inserting = time.perf_counter() - started
    with transaction.atomic():
        updated = sql(
            "WITH u AS (UPDATE leads_lead SET warmth = (warmth + 7) %% 100, warmth_band = 'warm', "
            "last_conversation_at = now(), updated_at = now() "
            "WHERE id IN (SELECT lead_id FROM leads_importrecord WHERE job_id = %s) RETURNING 1) "
            "SELECT count(*) FROM u",
            [job_id],
        )[0][0]
    seconds, after = time.perf_counter() - started, backend_cpu_seconds(backend)
    return seconds, (None if before is None or after is None else after - before), inserted + updated, inserting


def backend_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a local PostgreSQL backend process, or None when it is not on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU of this process and of the children it has collected (the import's file reader)."""
    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


def children_cpu_seconds() -> float:
    """User + system CPU of the children this process has collected: the import's file reader."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PHASES = {  # where an import spends its database time: import_services attribute -> label
    "_leads_by_contact": "lookup",
    "_PostgresWriter.insert_leads": "copy leads",
    "_PostgresWriter.update_leads": "update merged",
    "_PostgresWriter.insert_entries": "copy timeline",
    "_PostgresWriter.insert_records": "copy records",
    "warmth_recompute": "rescore merged",
}


def current_backend() -> int | None:
    """The backend of this thread's connection (the import writes on connections of its own threads)."""
    from django.db import connection

    return connection.connection.info.backend_pid if connection.connection is not None else None


def time_phases(module: object) -> dict[str, list[float]]:
    """Wrap the import's database steps (and every commit) to add up their wall and backend CPU seconds; with
    two writing connections their steps overlap, so the walls add up to more than the import's."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    totals: dict[str, list[float]] = {}

    def wrap(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            backend = current_backend()  # None before a thread's first statement: its backend has spent ~0
            wall, cpu = time.perf_counter(), (backend_cpu_seconds(backend) or 0.0) if backend else 0.0
            try:
                return original(*args, **kwargs)
            finally:
                total = totals.setdefault(label, [0.0, 0.0])
                total[0] += time.perf_counter() - wall
                backend = backend or current_backend()
                total[1] += ((backend_cpu_seconds(backend) or 0.0) if backend else 0.0) - cpu

        setattr(owner, name, timed)

    for dotted, label in PHASES.items():
        owner, _, name = dotted.rpartition(".")
        target = getattr(module, owner) if owner else module
        if hasattr(target, name):
            wrap(target, name, label)
    wrap(BaseDatabaseWrapper, "commit", "commit (deferred FK checks)")
    return totals


def writers_cpu(module: object) -> list[float]:
    """The CPU seconds of the backends of the import's own writing connections, read as each closes (the
    import closes them at its end); nothing for code that writes on the job's one connection."""
    spent: list[float] = []
    original = getattr(module, "_close_connection", None)
    if original is not None:

        def close() -> None:
            backend = current_backend()
            if backend is not None:
                spent.append(backend_cpu_seconds(backend) or 0.0)
            original()

        module._close_connection = close  # type: ignore[attr-defined]
    return spent


def child_import(path: Path, owner_id: int, use_tracemalloc: bool, phases: bool = False, dry_run: bool = False) -> None:
    """Runs in a fresh process: one import (or dry run), then one JSON line of figures on stdout."""
    from leads import import_services, importing

    with open(path, "rb") as stream:
        headers = importing.read_table(stream, file_name=path.name).headers
    options = import_services.ImportOptions(
        mapping=importing.guess_mapping(headers), event_name="Bench Expo", event_date=None, owner_ids=[owner_id]
    )
    from django.db import connection

    connection.ensure_connection()
    backend = sql("SELECT pg_backend_pid()")[0][0]
    totals = time_phases(import_services) if phases else {}
    writers = writers_cpu(import_services)
    rss_base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if use_tracemalloc:
        tracemalloc.start()
    cpu_before, backend_before = own_cpu_seconds(), backend_cpu_seconds(backend)
    reader_before = children_cpu_seconds()
    started = time.perf_counter()
    if dry_run:
        report = import_services.import_dry_run(path=path, file_name=path.name, options=options, keep_rows=100)
    else:
        _, report = import_services.import_run_now(path=path, file_name=path.name, options=options, actor=None)
    seconds = time.perf_counter() - started
    cpu, backend_after = own_cpu_seconds() - cpu_before, backend_cpu_seconds(backend)
    heap_peak = tracemalloc.get_traced_memory()[1] / 1048576 if use_tracemalloc else None
    figures = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "reader_cpu_seconds": children_cpu_seconds() - reader_before,
        "db_cpu_seconds": (
            None if backend_after is None or backend_before is None else backend_after - backend_before + sum(writers)
        ),
        "rows": report.rows,
        "created": report.created,
        "merged": report.merged,
        "errors": report.errors,
        "warnings": report.warnings,
        "rss_base_mb": rss_base,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # The file reader's process (leads.import_reader, for files over IMPORT_READER_PROCESS_MIN_BYTES).
        "reader_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "heap_peak_mb": heap_peak,
        "phases": totals,
    }
    print(json.dumps(figures))


def run_child(
    path: Path,
    owner_id: int,
    use_tracemalloc: bool,
    code: Path | None = None,
    phases: bool = False,
    dry_run: bool = False,
) -> dict:
    """One import in a fresh process; `code` is another checkout whose leads/ and warmcrm/ it runs instead."""
    command = [sys.executable, __file__, "--child", str(path), "--owner-id", str(owner_id)]
    for flag, wanted in (("--tracemalloc", use_tracemalloc), ("--phases", phases), ("--dry-run", dry_run)):
        if wanted:
            command.append(flag)
    env = os.environ.copy()
    if code is not None:
        env["BENCH_IMPORT_CODE"] = str(code)
    # Run it from that checkout: the project puts the working directory first on the path.
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code or ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"import child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--existing", type=int, default=100_000, help="leads in the database before the import")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the Python heap peak (slower)")
    parser.add_argument("--compare", type=Path, help="also import with the code of this checkout (same run)")
    parser.add_argument("--phases", action="store_true", help="also show the database time of each import step")
    parser.add_argument("--dry-run", action="store_true", help="also measure the dry run (before the import)")
    parser.add_argument("--floor", action="store_true", help="also measure the SQL floor of the import's writes")
    parser.add_argument("--dry-run-only", action="store_true", help="measure only the dry run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--owner-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import django

    if args.child:
        django.setup()
        child_import(args.child, args.owner_id, args.tracemalloc, args.phases, args.dry_run)
        return
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Run it on PostgreSQL (DATABASE_URL=postgres://...).")
    ensure_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.pg_version}, {args.existing:,} leads already in the database, {os.cpu_count()} CPUs")
    print(
        f"{'rows':>9} {'MB':>5} {'run':>9} {'s':>7} {'rows/s':>9} {'x copy':>7} {'py cpu s':>9} {'reader':>6} "
        f"{'db cpu s':>9} {'rows/cpu s':>11} {'created':>8} {'merged':>8} {'errors':>7} {'RSS MB':>7} {'RSS +MB':>8} "
        f"{'reader MB':>9} {'load':>5}" + (f" {'heap MB':>8}" if args.tracemalloc else "")
    )
    workdir = Path(tempfile.mkdtemp(prefix="warmcrm-bench-import-"))
    for rows in args.rows:
        path = workdir / f"list-{rows}.csv"
        write_file(path, rows, args.existing)
        megabytes = path.stat().st_size / 1048576
        owner_id = seed(args.existing)
        copy_seconds = copy_limit(path)
        print(f"{rows:>9,} {megabytes:>5.1f} {'copy':>9} {copy_seconds:>7.2f} {rows / copy_seconds:>9,.0f}", flush=True)
        dry = None
        if args.dry_run or args.dry_run_only:
            dry = run_child(path, owner_id, args.tracemalloc, dry_run=True)
            show(rows, megabytes, copy_seconds, "dry run", dry, args.tracemalloc)
            assert dry["created"] + dry["merged"] + dry["errors"] == dry["rows"] == rows
            if args.dry_run_only:
                path.unlink()
                continue
        runs = [("import", run_child(path, owner_id, args.tracemalloc, phases=args.phases))]
        show(rows, megabytes, copy_seconds, *runs[-1], args.tracemalloc)
        for label, (wall, cpu) in sorted(runs[0][1]["phases"].items(), key=lambda item: -item[1][1]):
            print(f"{'':>9} {'':>5} {'':>9} {wall:>7.2f} {'':>9} {'':>7} {'':>9} {cpu:>9.2f}  {label}")
        runs.append(("again", run_child(path, owner_id, False)))
        show(rows, megabytes, copy_seconds, *runs[-1], False)
        if args.floor:
            job_id = sql("SELECT min(id) FROM leads_importjob")[0][0]
            seconds, db_cpu, written, inserting = write_floor(job_id)
            print(
                f"{rows:>9,} {megabytes:>5.1f} {'floor':>9} {seconds:>7.2f} {rows / seconds:>9,.0f} "
                f"{seconds / copy_seconds:>6.0f}x {'':>9} {db_cpu if db_cpu is not None else float('nan'):>9.2f}"
                f"  ({written:,} lead rows written, the insert {inserting:.2f} s of it; the import took "
                f"{runs[0][1]['seconds'] / seconds:.1f}x as long)",
                flush=True,
            )
        if args.compare:
            owner_id = seed(args.existing)
            runs.append(("previous", run_child(path, owner_id, False, code=args.compare)))
            show(rows, megabytes, copy_seconds, *runs[-1], False)
        first = runs[0][1]
        assert first["created"] + first["merged"] + first["errors"] == first["rows"] == rows
        assert runs[1][1]["created"] == 0, "a second import of the same file must create nothing"
        if dry is not None:
            counts = ("rows", "created", "merged", "errors", "warnings")
            assert all(dry[k] == first[k] for k in counts), "the dry run must count what the import does"
        if args.compare:
            previous = runs[2][1]
            same = all(previous[k] == first[k] for k in ("rows", "created", "merged", "errors", "warnings"))
            print(
                f"{'':>9} {'':>5} {'speed-up':>9} {previous['seconds'] / first['seconds']:>7.1f}x wall, "
                f"{total_cpu(previous) / total_cpu(first):.1f}x CPU; same counts as the previous code: {same}"
            )
        path.unlink()


def total_cpu(figures: dict) -> float:
    return figures["cpu_seconds"] + (figures["db_cpu_seconds"] or 0)


def show(rows: int, megabytes: float, copy_seconds: float, name: str, figures: dict, heap: bool) -> None:
    db_cpu = figures["db_cpu_seconds"]
    print(
        f"{rows:>9,} {megabytes:>5.1f} {name:>9} {figures['seconds']:>7.2f} {rows / figures['seconds']:>9,.0f} "
        f"{figures['seconds'] / copy_seconds:>6.0f}x {figures['cpu_seconds']:>9.2f} "
        f"{figures.get('reader_cpu_seconds', float('nan')):>6.2f} "
        f"{db_cpu if db_cpu is not None else float('nan'):>9.2f} {rows / total_cpu(figures):>11,.0f} "
        f"{figures['created']:>8,} {figures['merged']:>8,} {figures['errors']:>7,} {figures['rss_peak_mb']:>7.0f} "
        f"{figures['rss_peak_mb'] - figures['rss_base_mb']:>8.0f} {figures.get('reader_rss_mb', 0):>9.0f} "
        f"{os.getloadavg()[0]:>5.1f}" + (f" {figures['heap_peak_mb']:>8.0f}" if heap else ""),
        flush=True,
    )


if __name__ == "__main__":
    main()
