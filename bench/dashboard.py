"""Benchmark: server time of the manager dashboard on PostgreSQL at 100k leads / 1M calls.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warmcrm_bench_dash python bench/dashboard.py \
        --leads 100000 --calls 1000000 --runs 15

Fills the database once (seed_demo --leads N --force, about 2.4 calls per lead; then extra calls copied
set-based from the seeded ones, shifted in time, until there are --calls, and the dashboard's call totals
recounted for them with call_totals_rebuild, as call_log would have kept them), takes the band snapshots of
today and a week ago, runs VACUUM ANALYZE (what autovacuum does on a live database), then times the
dashboard view through Django's test Client (the whole request: middleware, queries, template) for a
few selections, after two warm-up requests each. Prints median, p95, the number of queries and the
time spent in SQL, and first what the summary rebuild (the beat job the page reads) costs and holds.
A script that prints figures, not a test; results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls.models import Call  # noqa: E402
from calls.services import call_totals_rebuild  # noqa: E402
from leads.models import Event, Lead  # noqa: E402
from warmcrm.dashboard.models import CohortDay, ReferralDay, RepCallDay  # noqa: E402
from warmcrm.dashboard.services import band_snapshot_take, summary_rebuild  # noqa: E402


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def fill(leads: int, calls: int) -> None:
    have = Lead.objects.count()
    if have < leads:
        print(f"seeding {leads:,} leads (have {have:,}) ...", flush=True)
        started = time.perf_counter()
        call_command("seed_demo", leads=leads, force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"  seed_demo: {time.perf_counter() - started:.0f} s", flush=True)
    have_calls = Call.objects.count()
    if have_calls < calls:
        missing = calls - have_calls
        print(f"adding {missing:,} calls set-based ...", flush=True)
        # Copies of seeded calls, each round shifted back a few days, capped at the leads' creation time,
        # so the extra calls fall inside the 90-day window like real call history.
        rounds = -(-missing // have_calls)
        sql(
            """
            INSERT INTO calls_call (lead_id, rep_id, called_at, direction, outcome, duration_seconds, notes,
                                    call_back_on, appointment_at, created_at)
            SELECT c.lead_id, c.rep_id, GREATEST(c.called_at - make_interval(days => r), l.created_at),
                   c.direction, c.outcome, c.duration_seconds, '', NULL, NULL, c.created_at
            FROM generate_series(1, %s) AS r
            CROSS JOIN calls_call c JOIN leads_lead l ON l.id = c.lead_id
            LIMIT %s
            """,
            [rounds, missing],
        )
        print("recounting the call totals (the copies skipped call_log) ...", flush=True)
        started = time.perf_counter()
        call_totals_rebuild()
        print(f"  call_totals_rebuild: {time.perf_counter() - started:.1f} s", flush=True)
    today = timezone.localdate()
    band_snapshot_take(day=today - timedelta(days=7))
    band_snapshot_take(day=today)
    print("VACUUM ANALYZE ...", flush=True)
    connection.ensure_connection()
    old_autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    sql("VACUUM ANALYZE")
    connection.set_autocommit(old_autocommit)


def measure(client: Client, label: str, params: dict, runs: int, htmx: bool = False) -> list[list[dict]]:
    """Print one table row; return each run's queries (for --slowest)."""
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for _ in range(2):
        client.get("/dashboard/", params, **headers)
    times, sql_times, counts, queries = [], [], [], []
    for _ in range(runs):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/dashboard/", params, **headers)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        counts.append(len(captured))
        sql_times.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
        queries.append(captured.captured_queries)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"| {label} | {statistics.median(times):.0f} | {p95:.0f} | {statistics.median(sql_times):.0f} | "
        f"{max(counts)} |",
        flush=True,
    )
    return queries


def print_slowest(runs: list[list[dict]], count: int) -> None:
    """Each query's median time over the runs, slowest first (the page issues the same queries each run)."""
    print(f"\nslowest {count} queries of the default page (median ms over the runs):")
    by_position = zip(*runs, strict=False)
    medians = [(statistics.median(float(q["time"]) * 1000 for q in same), same[0]["sql"]) for same in by_position]
    for ms, sql_text in sorted(medians, reverse=True)[:count]:
        print(f"  {ms:6.1f}  {' '.join(sql_text.split())[:160]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--slowest", type=int, default=0, help="Also list the N slowest queries of the default page.")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Set DATABASE_URL=postgres://... : the benchmark is for PostgreSQL.")
    call_command("migrate", verbosity=0)
    fill(args.leads, args.calls)
    print(f"data: {Lead.objects.count():,} leads, {Call.objects.count():,} calls", flush=True)
    took = sorted(summary_rebuild().took_ms for _ in range(3))
    print(
        f"summary_rebuild (the beat job): median {took[1]} ms of 3; rows: {CohortDay.objects.count():,} cohort days, "
        f"{ReferralDay.objects.count():,} referral days, {RepCallDay.objects.count():,} rep call days",
        flush=True,
    )

    manager = get_user_model().objects.filter(groups__name="manager").order_by("pk").first()
    rep = get_user_model().objects.filter(groups__name="rep").order_by("pk").first()
    client = Client()
    client.force_login(manager)
    print(f"\n{args.runs} runs each after 2 warm-up requests; times in ms (whole request, test Client)\n")
    print("| selection | median | p95 | SQL (median) | queries |")
    print("|---|---|---|---|---|")
    default_page = measure(client, "last 90 days (default), full page", {}, args.runs)
    measure(client, "this month, htmx refresh", {"period": "month"}, args.runs, htmx=True)
    measure(client, "this week, htmx refresh", {"period": "week"}, args.runs, htmx=True)
    measure(client, "last 90 days, one rep", {"rep": rep.pk}, args.runs, htmx=True)
    measure(client, "last 90 days, event list leads", {"connection": "event_list"}, args.runs, htmx=True)
    measure(client, "last 90 days, one event", {"event": Event.objects.order_by("pk").first().pk}, args.runs, htmx=True)
    if args.slowest:
        print_slowest(default_page, args.slowest)


if __name__ == "__main__":
    main()
