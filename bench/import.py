"""Benchmark: the list import end to end against a plain COPY of the same file (the limit), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warmcrm_bench_import python bench/import.py --rows 100000
    DATABASE_URL=... python bench/import.py --rows 100000 1000000 --existing 100000

For each size it empties the database, adds `--existing` leads (set-based), writes a CSV of that many rows
(about 20% match an existing lead by email or phone, 3% repeat an earlier row of the file, 1% have a
bad email beside a good phone, 1% have no contact), then measures in the same run:
  copy      COPY of the file into a scratch table of text columns: the limit for moving those bytes in
  import    leads.import_services.import_run_now(): read, judge, dedupe, create, merge, timeline, warmth
  again     the same file imported a second time: every row now merges, nothing is created
Each import runs in a child process, so its peak RSS (getrusage) is its own; --tracemalloc adds the
Python heap peak (and slows the run). It is a script that prints figures, not a test; results go to
docs/benchmarks.md ("## Import").
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/warmcrm_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")
os.environ.setdefault("DJANGO_MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "warmcrm_bench_import_media"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

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


def child_import(path: Path, owner_id: int, use_tracemalloc: bool) -> None:
    """Runs in a fresh process: one import, then one JSON line of figures on stdout."""
    from leads import import_services, importing

    with open(path, "rb") as stream:
        headers = importing.read_table(stream, file_name=path.name).headers
    options = import_services.ImportOptions(
        mapping=importing.guess_mapping(headers), event_name="Bench Expo", event_date=None, owner_ids=[owner_id]
    )
    from django.db import connection

    connection.ensure_connection()
    rss_base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if use_tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    _, report = import_services.import_run_now(path=path, file_name=path.name, options=options, actor=None)
    seconds = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1] / 1048576 if use_tracemalloc else None
    figures = {
        "seconds": seconds,
        "rows": report.rows,
        "created": report.created,
        "merged": report.merged,
        "errors": report.errors,
        "warnings": report.warnings,
        "rss_base_mb": rss_base,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "heap_peak_mb": heap_peak,
    }
    print(json.dumps(figures))


def run_child(path: Path, owner_id: int, use_tracemalloc: bool) -> dict:
    command = [sys.executable, __file__, "--child", str(path), "--owner-id", str(owner_id)]
    if use_tracemalloc:
        command.append("--tracemalloc")
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)
    if result.returncode != 0:
        sys.exit(f"import child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--existing", type=int, default=100_000, help="leads in the database before the import")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the Python heap peak (slower)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--owner-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import django

    if args.child:
        django.setup()
        child_import(args.child, args.owner_id, args.tracemalloc)
        return
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Run it on PostgreSQL (DATABASE_URL=postgres://...).")
    ensure_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.pg_version}, {args.existing:,} leads already in the database, one process")
    print(
        f"{'rows':>9} {'MB':>6} {'copy s':>7} {'copy rows/s':>12} {'import s':>9} {'import rows/s':>14} "
        f"{'import/copy':>12} {'again rows/s':>13} {'created':>9} {'merged':>9} {'errors':>7} "
        f"{'RSS peak MB':>12} {'RSS +MB':>8}" + (f" {'heap MB':>8}" if args.tracemalloc else "")
    )
    workdir = Path(tempfile.mkdtemp(prefix="warmcrm-bench-import-"))
    for rows in args.rows:
        path = workdir / f"list-{rows}.csv"
        write_file(path, rows, args.existing)
        owner_id = seed(args.existing)
        copy_seconds = copy_limit(path)
        first = run_child(path, owner_id, args.tracemalloc)
        again = run_child(path, owner_id, False)
        assert first["created"] + first["merged"] + first["errors"] == first["rows"] == rows
        assert again["created"] == 0, "a second import of the same file must create nothing"
        print(
            f"{rows:>9,} {path.stat().st_size / 1048576:>6.1f} {copy_seconds:>7.2f} {rows / copy_seconds:>12,.0f} "
            f"{first['seconds']:>9.2f} {rows / first['seconds']:>14,.0f} "
            f"{first['seconds'] / copy_seconds:>11.1f}x {rows / again['seconds']:>13,.0f} "
            f"{first['created']:>9,} {first['merged']:>9,} {first['errors']:>7,} "
            f"{first['rss_peak_mb']:>12.0f} {first['rss_peak_mb'] - first['rss_base_mb']:>8.0f}"
            + (f" {first['heap_peak_mb']:>8.0f}" if args.tracemalloc else ""),
            flush=True,
        )
        path.unlink()


if __name__ == "__main__":
    main()
