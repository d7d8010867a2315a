"""SIGKILL a Celery worker in the middle of the warmth recompute and of an import, start another, and check
the work completes exactly as a clean, uninterrupted run does: no duplicate lead, no duplicate open
follow-up, the same scores.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from leads import services
from leads.models import ConnectionType, Event, FollowUp, Lead, Stage
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
    chunk_size = 1500
    ids = seed_leads(24_000)
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
