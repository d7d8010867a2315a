"""SIGKILL a Celery worker in the middle of the warmth recompute and of an import, start another, and check
the work completes exactly as a clean, uninterrupted run does: no duplicate lead, no duplicate open
follow-up, the same scores.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from leads import import_services, importing, services
from leads.models import ConnectionType, Event, FollowUp, ImportJob, ImportRecord, Lead, Stage, TimelineEntry
from leads.tasks import warmth_recompute_all
from referrals.models import Referral, ReferralSource
from tests.factories import UserFactory
from tests.faults.conftest import active_statements, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

OPEN_STAGES = [Stage.NEW, Stage.ATTEMPTED, Stage.CONNECTED, Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.NURTURE]


class Rollback(Exception):
    """Raised to undo the clean reference run once its results are read."""


def seed_leads(count: int) -> list[int]:
    """`count` leads spread over every input of the formula; timestamps sit mid-day, far from any day cut-off."""
    reps = [UserFactory(role="rep") for _ in range(3)]
    event = Event.objects.create(name="Expo North", date=timezone.localdate() - timedelta(days=20))
    sources = ReferralSource.objects.bulk_create(ReferralSource(name=f"Referrer {i}") for i in range(20))
    base = timezone.now() - timedelta(hours=12)
    types = list(ConnectionType.values)

    def ago(days: int | None) -> object:
        return None if days is None else base - timedelta(days=days)

    leads = [
        Lead(
            first_name=f"Lead {i}",
            email=f"lead{i}@faults.example.com",
            owner=reps[i % 3] if i % 11 else None,
            connection_type=types[i % len(types)],
            event=event if i % 4 == 0 else None,
            stage=Stage.WON if i % 29 == 0 else Stage.LOST if i % 31 == 0 else OPEN_STAGES[i % len(OPEN_STAGES)],
            do_not_call=i % 17 == 0,
            created_at=ago(i % 150),
            last_conversation_at=ago(None if i % 3 == 0 else i % 70),
            last_attempt_at=ago(None if i % 5 == 0 else i % 9),
            unanswered_attempts=i % 6,
            last_appointment_at=ago(i % 40 if i % 7 == 0 else None),
            forgot_us_at=ago(i % 30 if i % 13 == 0 else None),
            not_interested_at=ago(i % 100 if i % 19 == 0 else None),
        )
        for i in range(count)
    ]
    Lead.objects.bulk_create(leads, batch_size=2000)
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    referred = Lead.objects.filter(connection_type=ConnectionType.REFERRAL).values_list("pk", flat=True)
    Referral.objects.bulk_create(Referral(source=sources[n % 20], lead_id=pk) for n, pk in enumerate(referred))
    return ids


def scores() -> dict[int, tuple]:
    return {
        row[0]: row[1:]
        for row in Lead.objects.values_list("pk", "warmth", "warmth_band", "warmth_computed_at", "owner_id", "stage")
    }


def open_follow_ups() -> list[tuple]:
    return sorted(
        FollowUp.objects.filter(status=FollowUp.Status.OPEN).values_list("lead_id", "reason", "due_at", "owner_id")
    )


def referrer_counts() -> dict[int, int]:
    return dict(ReferralSource.objects.values_list("pk", "referrals_converted"))


def clean_recompute(now, chunk_size: int) -> tuple[dict, list, dict]:
    """The reference: the whole recompute in this process, uninterrupted, then rolled back."""
    try:
        with transaction.atomic():
            services.warmth_recompute_all(now=now, chunk_size=chunk_size)
            expected = (
                scores(),
                open_follow_ups(),
                dict(ReferralSource.objects.values_list("pk", "referrals_converted")),
            )
            raise Rollback
    except Rollback:
        return expected


def test_a_worker_killed_mid_recompute_leaves_scores_equal_to_a_clean_run(processes):
    chunk_size = 1000
    ids = seed_leads(16_000)
    now = timezone.now().replace(microsecond=0)
    expected_scores, expected_follow_ups, expected_referrers = clean_recompute(now, chunk_size)
    assert len({score for _, (score, *_) in expected_scores.items()}) > 20  # the data exercises the formula
    assert len(expected_follow_ups) > 1000
    assert not Lead.objects.filter(warmth_computed_at=now).exists()  # the reference left nothing behind

    stack = processes(
        WARMTH_CHUNK_SIZE=str(chunk_size),
        CELERY_VISIBILITY_TIMEOUT="4",  # the killed worker's unacknowledged chunk comes back after 4 s
        CELERY_UNACKED_RESTORE_SECONDS="1",
    )
    first = stack.worker()
    warmth_recompute_all.delay(now.isoformat())

    def mid_chunk() -> bool:
        running = active_statements()
        done = Lead.objects.filter(warmth_computed_at=now).count()
        return chunk_size <= done <= len(ids) // 2 and any(
            q.startswith('UPDATE "leads_lead" SET "warmth" =') for q in running
        )

    wait_for(mid_chunk, seconds=60, interval=0.02, what="some chunks scored and one being scored")
    stack.kill(first)
    done_at_kill = Lead.objects.filter(warmth_computed_at=now).count()
    wait_for(lambda: not active_statements("UPDATE"), seconds=30, what="the killed chunk's transaction to end")
    assert Lead.objects.filter(warmth_computed_at=now).count() == done_at_kill < len(ids)

    stack.worker()
    wait_for(lambda: not Lead.objects.exclude(warmth_computed_at=now).exists(), seconds=60, what="every chunk scored")

    assert scores() == expected_scores
    assert open_follow_ups() == expected_follow_ups  # one open follow-up per lead, none twice
    assert referrer_counts() == expected_referrers
    assert Lead.objects.count() == len(ids)
    # The chunk running when the worker died was taken again, by the new worker, from the broker.
    first_log, second_log = stack.log("worker-1"), stack.log("worker-2")
    received = set(re.findall(r"Task leads\.tasks\.warmth_recompute_chunk\[([0-9a-f-]+)\] received", first_log))
    finished = set(re.findall(r"Task leads\.tasks\.warmth_recompute_chunk\[([0-9a-f-]+)\] succeeded", first_log))
    lost = received - finished
    assert lost, "the first worker finished every chunk it took: the kill came between chunks"
    for task_id in lost:
        assert f"warmth_recompute_chunk[{task_id}] succeeded" in second_log


# --- The import ----------------------------------------------------------------------------------------

LEAD_FIELDS = ("first_name", "last_name", "title", "company", "email", "phone", "phone_e164", "research_notes")


def write_list(path: Path, *, rows: int, existing: int) -> None:
    """A trade-show list: new people, people we have (by email), repeats within the file, warnings, errors."""
    rng = random.Random(8)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "Company", "Job Title", "Notes"])
        for i in range(rows):
            roll = rng.random()
            phone = f"(212) {200 + i // 10_000:03d}-{i % 10_000:04d}"
            if roll < 0.15:  # someone we have: merged, blank fields filled
                k = rng.randrange(existing)
                writer.writerow(["Lead", f"No. {k}", f"lead{k}@faults.example.com", "", f"Co {k}", "CTO", "met again"])
            elif roll < 0.18 and i:  # a repeat of an earlier row of the file
                j = rng.randrange(i)
                writer.writerow([f"Person{j}", "Again", f"new{j}@faults.example.com", "", "", "", ""])
            elif roll < 0.19:  # a bad email beside a good phone: imported with a warning
                writer.writerow([f"Person{i}", "Warn", "not-an-email", phone, "", "", ""])
            elif roll < 0.20:  # no way to reach them: an error row
                writer.writerow([f"Person{i}", "Error", "", "", "Nowhere Inc", "", ""])
            else:
                writer.writerow([f"Person{i}", "New", f"new{i}@faults.example.com", phone, f"Co {i % 700}", "", ""])


def lead_rows() -> dict[tuple[str, str], tuple]:
    """Every lead by its email and phone (ids differ between runs: a killed batch still used its sequence values)."""
    rows = Lead.objects.values_list(
        *LEAD_FIELDS, "owner_id", "event__name", "connection_type", "stage", "warmth", "warmth_band"
    )
    by_contact = {(row[4], row[6]): row for row in rows}
    assert len(by_contact) == len(rows), "two leads share an email and phone: a duplicate"
    return by_contact


def job_outcome(job: ImportJob) -> dict:
    job.refresh_from_db()
    return {
        "status": job.status,
        "counts": (job.rows_processed, job.created_count, job.merged_count, job.error_count, job.warning_count),
        "created": Lead.objects.filter(import_job=job).count(),
        "records": ImportRecord.objects.filter(job=job).count(),
        "timeline": sorted(TimelineEntry.objects.values_list("kind").annotate(n=Count("pk"))),
        "errors": [(row["row"], row["reason"]) for row in import_services.error_file_rows(job=job)],
        "open_follow_ups": sorted(
            FollowUp.objects.filter(status=FollowUp.Status.OPEN).values_list("lead__email", "reason", "owner_id")
        ),
    }


def clean_import(path: Path, options: import_services.ImportOptions) -> tuple[dict, dict]:
    """The reference: the same file imported in this process, uninterrupted, then rolled back."""
    try:
        with transaction.atomic():
            job, _ = import_services.import_run_now(path=path, file_name=path.name, options=options, actor=None)
            expected = lead_rows(), job_outcome(job)
            raise Rollback
    except Rollback:
        return expected


def test_a_worker_killed_mid_import_resumes_and_ends_as_a_clean_import(processes, tmp_path):
    admin, reps = UserFactory(role="admin"), [UserFactory(role="rep") for _ in range(2)]
    existing = 3000
    base = timezone.now() - timedelta(days=40, hours=12)
    Lead.objects.bulk_create(
        Lead(
            first_name="Lead",
            last_name=f"No. {k}",
            email=f"lead{k}@faults.example.com",
            owner=reps[k % 2],
            connection_type=ConnectionType.EVENT_LIST,
            created_at=base,
            last_conversation_at=base,
        )
        for k in range(existing)
    )
    path = tmp_path / "expo.csv"
    write_list(path, rows=2 * import_services.BATCH_SIZE + 5_000, existing=existing)  # three batches
    with open(path, "rb") as stream:
        headers = importing.read_table(stream, file_name=path.name).headers
    options = import_services.ImportOptions(
        mapping=importing.guess_mapping(headers),
        event_name="Fault Fair",
        event_date=timezone.localdate() - timedelta(days=3),
        connection_type=ConnectionType.EVENT_ASKED,
        owner_ids=[rep.pk for rep in reps],
    )
    expected_leads, expected_job = clean_import(path, options)
    assert expected_job["counts"][1] > 12_000 and expected_job["counts"][2] > 2_000  # created, merged
    assert Lead.objects.count() == existing and not ImportJob.objects.exists()  # the reference left nothing

    stack = processes(IMPORT_STALE_AFTER_SECONDS="4", CATCH_UP_MINUTES="0.05")  # catch-up every 3 s
    first = stack.worker()
    stack.beat()
    with open(path, "rb") as stream:
        job = import_services.import_job_create(actor=admin, source=stream, file_name=path.name)
    import_services.import_job_configure(
        job=job,
        actor=admin,
        mapping=options.mapping,
        connection_type=options.connection_type,
        owner_ids=options.owner_ids,
        event_name=options.event_name,
        event_date=options.event_date,
    )
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.CHECKED, what="the dry run")
    import_services.import_job_confirm(job=job, actor=admin)

    def mid_import() -> bool:
        job.refresh_from_db()
        return 0 < job.rows_processed < (job.rows_total or 0)

    wait_for(mid_import, seconds=60, interval=0.05, what="the import to be part-way")
    stack.kill(first)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and job.rows_processed < job.rows_total

    stack.worker()
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, what="the import to finish")

    assert job_outcome(job) == expected_job
    assert lead_rows() == expected_leads
    assert "had stalled (running); queued again" in stack.log("beat-1") + stack.log("worker-2")
