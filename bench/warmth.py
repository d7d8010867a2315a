"""Benchmark: the full warmth recompute against a save() loop and a hand-written SQL UPDATE.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warmcrm_bench python bench/warmth.py --leads 10000 100000 1000000

For each size it fills a fresh PostgreSQL database set-based (generate_series; about 2 calls and 0.14
referrals per lead), then measures in the same run:
  project   leads.services.warmth_recompute_all(): the periodic job in one process (chunks in turn)
  scoring   the same chunks without the stale follow-up step (what the hand-written UPDATE does)
  naive     load each lead and save() it through leads.services.lead_rescore, timed on a sample, extrapolated
  limit     one hand-written UPDATE with the same arithmetic (must give the same scores: checked)
and prints seconds, leads/s, ratios, and the process's peak RSS growth during the project run.
It is a script that prints figures, not a test; results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from leads.models import Lead  # noqa: E402
from leads.selectors import warmth_weights  # noqa: E402
from leads.services import lead_rescore, warmth_chunks, warmth_recompute, warmth_recompute_all  # noqa: E402
from leads.warmth import COLD  # noqa: E402

settings.DEBUG = False  # Django keeps every query's SQL in memory under DEBUG; a benchmark must not

TABLES = "calls_call, leads_followup, leads_timelineentry, referrals_referral, referrals_referralsource, leads_lead"


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def seed(n: int) -> None:
    sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    owner = sql("SELECT id FROM auth_user ORDER BY id LIMIT 1")
    if not owner:
        sql(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES ('!', false, 'bench', '', '', '', false, true, now())"
        )
        owner = sql("SELECT id FROM auth_user ORDER BY id LIMIT 1")
    sql("SELECT setseed(0.42)")
    sql(
        """
        INSERT INTO leads_lead (first_name, last_name, title, company, email, phone, phone_e164, owner_id, stage,
            lost_reason, connection_type, research_notes, do_not_call, unanswered_attempts, warmth, warmth_band,
            stale_snooze_reason, created_at, updated_at, last_conversation_at, last_attempt_at,
            last_appointment_at, forgot_us_at, not_interested_at)
        SELECT 'Lead', 'No. ' || i, '', 'Company ' || (i %% 5000), 'lead' || i || '@example.com', '', '', %s,
            (ARRAY['new','attempted','connected','appointment_set','qualified','won','lost','nurture'])[1 + floor(random() * 8)::int],
            '', (ARRAY['event_asked','event_list','referral','inbound','prior_contact','customer','past_customer','cold'])[1 + floor(random() * 8)::int],
            '', random() < 0.02, (random() * 6)::int, 0, 'cold', '',
            c, now(),
            CASE WHEN random() < 0.6 THEN c + (random() * (now() - c)) END,
            CASE WHEN random() < 0.7 THEN c + (random() * (now() - c)) END,
            CASE WHEN random() < 0.1 THEN c + (random() * (now() - c)) END,
            CASE WHEN random() < 0.05 THEN c + (random() * (now() - c)) END,
            CASE WHEN random() < 0.08 THEN c + (random() * (now() - c)) END
        FROM (SELECT i, now() - random() * interval '400 days' AS c FROM generate_series(1, %s) AS i) AS g
        """,
        [owner[0][0], n],
    )
    sources = max(10, n // 200)
    sql(
        "INSERT INTO referrals_referralsource (name, kind, organisation, email, phone, phone_e164, notes, "
        "referrals_converted, created_at) SELECT 'Referrer ' || i, 'customer', '', '', '', '', '', 0, now() "
        "FROM generate_series(1, %s) AS i",
        [sources],
    )
    sql(
        "INSERT INTO referrals_referral (source_id, lead_id, referred_on, note, created_at) "
        "SELECT 1 + (id %% %s), id, created_at::date, '', created_at FROM leads_lead WHERE connection_type = 'referral'",
        [sources],
    )
    sql(
        "INSERT INTO calls_call (lead_id, rep_id, called_at, direction, outcome, duration_seconds, notes, created_at) "
        "SELECT l.id, l.owner_id, l.created_at + (k || ' hours')::interval, 'outbound', "
        "(ARRAY['no_answer','voicemail','connected_other','call_back','appointment_set'])[1 + floor(random() * 5)::int], "
        "60, '', now() FROM leads_lead l CROSS JOIN generate_series(1, 2) AS k"
    )
    sql("ANALYZE")


def hand_written_update(now) -> None:
    w = warmth_weights()
    base = " ".join(f"WHEN '{name}' THEN {points}" for name, points in w.connection_base.items())
    sql(
        f"""
        WITH won AS (
            SELECT r.source_id, count(*) AS n FROM referrals_referral r JOIN leads_lead l ON l.id = r.lead_id
            WHERE l.stage = 'won' GROUP BY r.source_id
        ), converted AS (
            SELECT r.lead_id, greatest(coalesce(won.n, 0) - CASE WHEN l.stage = 'won' THEN 1 ELSE 0 END, 0) AS n
            FROM referrals_referral r JOIN leads_lead l ON l.id = r.lead_id LEFT JOIN won ON won.source_id = r.source_id
        ), scored AS (
            SELECT l.id, greatest(least(
                (CASE l.connection_type {base} ELSE {w.connection_base[COLD]} END)
                + CASE WHEN l.connection_type = 'referral'
                       THEN least(coalesce(c.n, 0) * {w.referral_points_per_conversion}, {w.referral_points_max}) ELSE 0 END
                + CASE WHEN l.last_conversation_at IS NOT NULL THEN {w.conversation_points} ELSE 0 END
                + CASE WHEN l.last_appointment_at IS NOT NULL THEN {w.appointment_points} ELSE 0 END
                - least(greatest(floor(extract(epoch FROM (%(now)s - coalesce(l.last_conversation_at, l.created_at)))
                                 / 86400)::int, 0) * {w.decay_points_per_30_days} / 30, {w.decay_points_max})
                - least(l.unanswered_attempts * {w.unanswered_points_each}, {w.unanswered_points_max})
                - CASE WHEN l.not_interested_at IS NOT NULL AND (l.last_conversation_at IS NULL
                       OR l.not_interested_at >= l.last_conversation_at) THEN {w.not_interested_points} ELSE 0 END,
                CASE WHEN l.forgot_us_at IS NOT NULL AND (l.last_conversation_at IS NULL
                     OR l.forgot_us_at > l.last_conversation_at) THEN {w.lukewarm_from - 1} ELSE 100 END), 0) AS score
            FROM leads_lead l LEFT JOIN converted c ON c.lead_id = l.id
        )
        UPDATE leads_lead SET warmth = scored.score, warmth_computed_at = %(now)s,
            warmth_band = CASE WHEN scored.score >= {w.hot_from} THEN 'hot' WHEN scored.score >= {w.warm_from} THEN 'warm'
                               WHEN scored.score >= {w.lukewarm_from} THEN 'lukewarm' ELSE 'cold' END
        FROM scored WHERE leads_lead.id = scored.id
        """.replace("%(now)s", "%s"),
        [now, now],
    )


def fingerprint() -> tuple:
    return sql(
        "SELECT count(*), sum(warmth), sum(id * warmth) %% 1000000007, count(DISTINCT warmth_band) FROM leads_lead"
    )[0]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, sample: int) -> dict:
    seed(n)
    now = timezone.now()
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    first = warmth_recompute_all(now=now)
    first_run = time.perf_counter() - started
    rss_growth = peak_rss_mb() - rss_before
    project_scores = fingerprint()

    started = time.perf_counter()
    warmth_recompute_all(now=now)  # the hourly steady state: scores rewritten, no new follow-ups
    steady = time.perf_counter() - started

    started = time.perf_counter()
    for first_id, last_id in warmth_chunks():
        warmth_recompute(leads=Lead.objects.filter(pk__gte=first_id, pk__lte=last_id), now=now)
    scoring = time.perf_counter() - started

    sql("UPDATE leads_lead SET warmth = 0, warmth_band = 'cold'")
    started = time.perf_counter()
    hand_written_update(now)
    limit = time.perf_counter() - started
    assert fingerprint() == project_scores, "the hand-written UPDATE must give the same scores"

    ids = [pk for (pk,) in sql("SELECT id FROM leads_lead ORDER BY random() LIMIT %s", [sample])]
    started = time.perf_counter()
    for pk in ids:
        lead_rescore(lead=Lead.objects.select_related("event").get(pk=pk), now=now)
    naive = (time.perf_counter() - started) / len(ids) * n
    return {
        "n": n,
        "first": first_run,
        "created": first.follow_ups_created,
        "steady": steady,
        "scoring": scoring,
        "limit": limit,
        "naive": naive,
        "rss": rss_growth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sample", type=int, default=2000, help="leads timed in the save() loop")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "Run it on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/warmcrm_bench python bench/warmth.py"
        )
    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.pg_version}, chunk size {settings.WARMTH_CHUNK_SIZE}, one process")
    print(
        f"{'leads':>9} {'1st run s':>9} {'follow-ups':>10} {'steady s':>8} {'scoring s':>9} {'limit s':>7} "
        f"{'naive s':>8} {'scoring/limit':>13} {'naive/steady':>12} {'leads/s':>8} {'RSS +MB':>7}"
    )
    for n in args.leads:
        r = measure(n, min(args.sample, n))
        print(
            f"{r['n']:>9,} {r['first']:>9.2f} {r['created']:>10,} {r['steady']:>8.2f} {r['scoring']:>9.2f} "
            f"{r['limit']:>7.2f} {r['naive']:>8.1f} {r['scoring'] / r['limit']:>12.2f}x "
            f"{r['naive'] / r['steady']:>11.1f}x {r['n'] / r['steady']:>8,.0f} {r['rss']:>7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
