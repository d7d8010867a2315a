"""Two workers or two reps at the same instant, on PostgreSQL: the database keeps the data consistent."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import Call, Outcome
from calls.services import call_log
from leads.models import ConnectionType, FollowUp, Lead
from leads.services import follow_ups_schedule_stale, warmth_recompute_chunk
from tests.factories import LeadFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def at_once(*jobs: Callable[[], object]) -> list[BaseException]:
    """Run the jobs in threads released by one barrier; return what they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_workers_scheduling_the_same_leads_create_one_follow_up_each():
    rep = UserFactory(role="rep")
    old = timezone.now() - timedelta(days=70)  # past even the cold threshold
    leads = [LeadFactory(owner=rep, connection_type=ConnectionType.EVENT_LIST, created_at=old) for _ in range(40)]
    now = timezone.now()
    chunk = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    assert at_once(*[lambda: follow_ups_schedule_stale(leads=chunk, now=now)] * 4) == []
    assert FollowUp.objects.count() == 40
    assert at_once(*[lambda: warmth_recompute_chunk(first_id=leads[0].pk, last_id=leads[-1].pk)] * 2) == []
    assert FollowUp.objects.count() == 40


def test_two_reps_logging_a_call_on_the_same_lead_at_once():
    owner, manager = UserFactory(role="rep"), UserFactory(role="manager")
    lead = LeadFactory(owner=owner)
    errors = at_once(
        lambda: call_log(lead=lead, rep=owner, outcome=Outcome.NO_ANSWER),
        lambda: call_log(lead=lead, rep=manager, outcome=Outcome.VOICEMAIL),
    )
    assert errors == []
    lead.refresh_from_db()
    assert Call.objects.filter(lead=lead).count() == 2
    assert lead.unanswered_attempts == 2  # neither update was lost
    assert FollowUp.objects.filter(lead=lead, status="open").count() == 1
