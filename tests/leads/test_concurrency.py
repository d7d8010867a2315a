"""Two workers or two reps at the same instant, on PostgreSQL: the database keeps the data consistent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from calls import outcomes
from calls.models import Call, Outcome
from calls.services import call_log
from leads.models import ConnectionType, FollowUp, Lead, TimelineEntry
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


FROZEN = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LEAD_STATE = (*outcomes.CallHistory.__dataclass_fields__, "stage", "warmth", "warmth_band", "warmth_computed_at")


def lead_state(lead: Lead) -> dict[str, object]:
    """Everything a logged call changes on a lead, without ids (two leads are compared)."""
    lead.refresh_from_db()
    return {
        "lead": {name: getattr(lead, name) for name in LEAD_STATE},
        "calls": list(Call.objects.filter(lead=lead).order_by("pk").values_list("rep_id", "outcome", "called_at")),
        "follow_ups": sorted(
            FollowUp.objects.filter(lead=lead).values_list("status", "reason", "due_at", "owner_id", "status_note")
        ),
        "timeline": sorted(TimelineEntry.objects.filter(lead=lead).values_list("kind", "summary", "actor_id")),
    }


@pytest.mark.parametrize(
    "first, second",
    [
        ({"outcome": Outcome.NO_ANSWER}, {"outcome": Outcome.CALL_BACK, "call_back_on": FROZEN.date() + timedelta(3)}),
        ({"outcome": Outcome.APPOINTMENT_SET}, {"outcome": Outcome.NOT_INTERESTED}),
        ({"outcome": Outcome.VOICEMAIL}, {"outcome": Outcome.CONNECTED_OTHER}),
    ],
    ids=["no-answer+call-back", "appointment+not-interested", "voicemail+talked"],
)
def test_two_calls_at_the_same_instant_leave_the_lead_as_logging_them_one_after_the_other(monkeypatch, first, second):
    # Each call pauses between reading the lead and writing it back, so without the row lock both would
    # fold their call into the same old state and one update would be lost.
    fold = outcomes.history_after_call
    monkeypatch.setattr(outcomes, "history_after_call", lambda *a, **kw: (time.sleep(0.3), fold(*a, **kw))[1])
    owner, manager = UserFactory(role="rep"), UserFactory(role="manager")
    created = FROZEN - timedelta(days=12, hours=3)
    together, apart = (
        LeadFactory(owner=owner, connection_type=ConnectionType.EVENT_ASKED, created_at=created) for _ in range(2)
    )
    with time_machine.travel(FROZEN, tick=False):  # one clock for both threads and the replay
        called_at = FROZEN - timedelta(minutes=1)
        errors = at_once(
            lambda: call_log(lead=together, rep=owner, called_at=called_at, **first),
            lambda: call_log(lead=together, rep=manager, called_at=called_at, **second),
        )
        assert errors == []
        # The row lock put them in some order; the same two calls logged in that order, one after the other:
        order = list(Call.objects.filter(lead=together).order_by("pk").values_list("rep_id", flat=True))
        calls = {owner.pk: (owner, first), manager.pk: (manager, second)}
        for rep_id in order:
            rep, fields = calls[rep_id]
            call_log(lead=Lead.objects.get(pk=apart.pk), rep=rep, called_at=called_at, **fields)

    assert len(order) == 2
    assert lead_state(together) == lead_state(apart)
    assert FollowUp.objects.filter(lead=together, status=FollowUp.Status.OPEN).count() <= 1
