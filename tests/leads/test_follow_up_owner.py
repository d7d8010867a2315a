"""An open follow-up's owner and a call's lead owner are the lead's owner, whoever writes (triggers, leads 0014 and
calls 0004): Today's counts and list read a rep's by those columns, so a re-owned lead's follow-up and calls move
with it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call, Outcome
from calls.services import call_log
from leads.models import FollowUp, Lead
from leads.selectors import today_counts, today_next_lead, today_queue
from tests.factories import CallFactory, FollowUpFactory, LeadFactory

pytestmark = pytest.mark.django_db


def counts(user) -> tuple[int, int, int]:
    found = today_counts(user)
    return found.overdue_count, found.due_count, found.done_today


def test_a_lead_re_owned_outside_the_services_takes_its_open_follow_up_and_calls_today_along(rep, other_rep):
    lead = LeadFactory(owner=rep)
    closed = FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=9), status=FollowUp.Status.DONE)
    open_one = FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=1))
    CallFactory(lead=lead, rep=rep)
    assert counts(rep) == (1, 0, 1) and counts(other_rep) == (0, 0, 0)

    Lead.objects.filter(pk=lead.pk).update(owner=other_rep)  # as the admin's form, the importer or SQL would

    open_one.refresh_from_db()
    closed.refresh_from_db()
    assert open_one.owner_id == other_rep.pk and closed.owner_id == rep.pk  # closed ones keep who had them
    assert counts(rep) == (0, 0, 0) and counts(other_rep) == (1, 0, 1)
    assert [row.lead.pk for row in today_queue(other_rep).overdue] == [lead.pk] and not today_queue(rep).overdue
    assert today_next_lead(other_rep, after=LeadFactory(owner=other_rep)).pk == lead.pk


def test_an_unowned_lead_given_an_owner_brings_its_open_follow_up_to_them(rep):
    lead = LeadFactory(owner=None)
    follow_up = FollowUpFactory(lead=lead, owner=None, due_at=timezone.now())
    lead.owner = rep
    lead.save()
    follow_up.refresh_from_db()
    assert follow_up.owner_id == rep.pk and counts(rep) == (0, 1, 0)


def test_an_open_follow_up_written_with_someone_elses_name_is_its_leads_owners(rep, other_rep):
    lead = LeadFactory(owner=rep)
    follow_up = FollowUp.objects.create(lead=lead, owner=other_rep, due_at=timezone.now(), reason="manual")
    follow_up.refresh_from_db()
    assert follow_up.owner_id == rep.pk
    FollowUp.objects.filter(pk=follow_up.pk).update(owner=other_rep)  # the follow-up admin's owner field
    follow_up.refresh_from_db()
    assert follow_up.owner_id == rep.pk
    # A closed one may name anyone; reopened, it is the lead owner's again.
    FollowUp.objects.filter(pk=follow_up.pk).update(status=FollowUp.Status.DONE)
    FollowUp.objects.filter(pk=follow_up.pk).update(owner=other_rep)
    assert FollowUp.objects.get(pk=follow_up.pk).owner_id == other_rep.pk
    FollowUp.objects.filter(pk=follow_up.pk).update(status=FollowUp.Status.OPEN)
    assert FollowUp.objects.get(pk=follow_up.pk).owner_id == rep.pk
    assert counts(rep) == (0, 1, 0) and counts(other_rep) == (0, 0, 0)


def test_a_managers_call_on_a_reps_lead_counts_in_the_reps_calls_today(rep, manager):
    lead = LeadFactory(owner=rep)
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=1))
    call_log(lead=lead, rep=manager, outcome=Outcome.NO_ANSWER)
    # The retry the call scheduled is the rep's (due in two days), the call counts on the rep's lead.
    assert FollowUp.objects.get(lead=lead, status=FollowUp.Status.OPEN).owner_id == rep.pk
    assert counts(rep) == (0, 0, 1)


def test_calls_today_and_due_follow_ups_are_counted_in_the_reps_own_day(rep):
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9: the rep's day starts at 15:00 UTC the day before
    lead = LeadFactory(owner=rep)
    CallFactory(lead=lead, called_at=datetime(2026, 3, 10, 23, 50, tzinfo=tokyo))  # yesterday for the rep
    CallFactory(lead=lead, called_at=datetime(2026, 3, 11, 0, 10, tzinfo=tokyo))  # today
    FollowUpFactory(lead=LeadFactory(owner=rep), due_at=datetime(2026, 3, 10, 23, 0, tzinfo=tokyo))  # overdue
    FollowUpFactory(lead=LeadFactory(owner=rep), due_at=datetime(2026, 3, 11, 23, 0, tzinfo=tokyo))  # due tonight
    with time_machine.travel(datetime(2026, 3, 11, 8, 0, tzinfo=tokyo), tick=False), timezone.override(tokyo):
        assert counts(rep) == (1, 1, 1)
    # The same moment in UTC (23:00 on the 10th): both calls are today, the 10th's follow-up is due, not overdue.
    with time_machine.travel(datetime(2026, 3, 11, 8, 0, tzinfo=tokyo), tick=False), timezone.override("UTC"):
        assert counts(rep) == (0, 1, 2)


def test_a_call_moved_to_another_reps_lead_counts_for_that_rep(rep, other_rep):
    call = CallFactory(lead=LeadFactory(owner=rep))
    assert Call.objects.get(pk=call.pk).lead_owner_id == rep.pk
    Call.objects.filter(pk=call.pk).update(lead=LeadFactory(owner=other_rep))  # as a merge moves the calls
    assert Call.objects.get(pk=call.pk).lead_owner_id == other_rep.pk
    assert counts(rep) == (0, 0, 0) and counts(other_rep) == (0, 0, 1)
