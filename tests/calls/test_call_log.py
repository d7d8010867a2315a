"""Logging a call: what each outcome does to the lead's history, stage, follow-ups and warmth."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from calls.models import Call, Outcome
from calls.services import call_log
from leads.models import FollowUp, Stage, TimelineEntry
from tests.factories import FollowUpFactory

pytestmark = pytest.mark.django_db

FROZEN = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(FROZEN, tick=False):
        yield


def open_follow_up(lead) -> FollowUp | None:
    return FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN).first()


def test_call_back_creates_a_follow_up_on_the_requested_date(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 3, 1), notes="Contract ends")
    follow_up = open_follow_up(lead)
    assert follow_up.reason == FollowUp.Reason.CALL_BACK
    assert timezone.localtime(follow_up.due_at).date() == date(2027, 3, 1)
    assert timezone.localtime(follow_up.due_at).hour == 9
    assert follow_up.created_by == rep


def test_a_new_call_back_date_moves_the_open_follow_up(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 3, 1))
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 4, 1))
    assert FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN).count() == 1
    assert timezone.localtime(open_follow_up(lead).due_at).date() == date(2027, 4, 1)


def test_no_answer_schedules_a_retry_after_the_gap(lead, rep, settings):
    settings.NO_ANSWER_RETRY_DAYS = 3
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER)
    follow_up = open_follow_up(lead)
    assert (follow_up.reason, follow_up.due_at) == (FollowUp.Reason.RETRY, FROZEN + timedelta(days=3))
    lead.refresh_from_db()
    assert (lead.unanswered_attempts, lead.stage, lead.last_attempt_at) == (1, Stage.ATTEMPTED, FROZEN)


def test_no_answer_does_not_move_a_requested_call_back(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 3, 1))
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER)
    follow_up = open_follow_up(lead)
    assert follow_up.reason == FollowUp.Reason.CALL_BACK
    assert timezone.localtime(follow_up.due_at).date() == date(2027, 3, 1)


def test_no_answer_on_a_due_follow_up_completes_it_and_retries(lead, rep):
    due = FollowUpFactory(lead=lead, due_at=FROZEN - timedelta(hours=1), reason=FollowUp.Reason.STALE)
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER)
    due.refresh_from_db()
    assert due.status == FollowUp.Status.DONE
    assert open_follow_up(lead).reason == FollowUp.Reason.RETRY


def test_retries_stop_after_the_maximum(lead, rep, settings):
    settings.NO_ANSWER_MAX_RETRIES = 2
    for _ in range(3):
        call_log(lead=lead, rep=rep, outcome=Outcome.VOICEMAIL)
        FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN).update(status=FollowUp.Status.DONE)
    assert open_follow_up(lead) is None
    assert FollowUp.objects.filter(lead=lead, reason=FollowUp.Reason.RETRY).count() == 2


def test_appointment_closes_open_follow_ups_and_warms_the_lead(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 3, 1))
    before = lead.__class__.objects.get(pk=lead.pk).warmth
    call_log(lead=lead, rep=rep, outcome=Outcome.APPOINTMENT_SET, appointment_at=FROZEN + timedelta(days=2))
    assert open_follow_up(lead) is None
    lead.refresh_from_db()
    assert lead.stage == Stage.APPOINTMENT_SET
    assert lead.warmth > before
    assert lead.warmth_computed_at == FROZEN
    assert TimelineEntry.objects.filter(lead=lead, kind=TimelineEntry.Kind.STAGE_CHANGED).count() == 2


def test_did_not_remember_us_makes_the_lead_cold(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.DID_NOT_REMEMBER)
    lead.refresh_from_db()
    assert (lead.warmth_band, lead.forgot_us_at) == ("cold", FROZEN)


def test_not_interested_cools_off_and_closes_follow_ups(lead, rep):
    FollowUpFactory(lead=lead, due_at=FROZEN + timedelta(days=5))
    call_log(lead=lead, rep=rep, outcome=Outcome.NOT_INTERESTED)
    lead.refresh_from_db()
    assert lead.not_interested_at == FROZEN
    assert open_follow_up(lead) is None
    assert lead.warmth < 60


def test_do_not_call_leads_are_never_scheduled(lead, rep):
    lead.do_not_call = True
    lead.save()
    call_log(lead=lead, rep=rep, outcome=Outcome.CALL_BACK, call_back_on=date(2027, 3, 1))
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER)
    assert not FollowUp.objects.filter(lead=lead).exists()
    assert Call.objects.filter(lead=lead).count() == 2


def test_a_call_logged_late_does_not_rewind_the_history(lead, rep):
    call_log(lead=lead, rep=rep, outcome=Outcome.CONNECTED_OTHER)
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER, called_at=FROZEN - timedelta(days=3))
    lead.refresh_from_db()
    assert (lead.last_conversation_at, lead.last_attempt_at, lead.unanswered_attempts) == (FROZEN, FROZEN, 0)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"outcome": Outcome.CALL_BACK}, "call_back_on", "Pick the date they asked you to call back."),
        (
            {"outcome": Outcome.CALL_BACK, "call_back_on": date(2026, 11, 1)},
            "call_back_on",
            "The call-back date is in the past.",
        ),
        (
            {"outcome": Outcome.NO_ANSWER, "called_at": FROZEN + timedelta(days=1)},
            "called_at",
            "A call cannot be logged in the future.",
        ),
        ({"outcome": "sold_it"}, "outcome", "Value 'sold_it' is not a valid choice."),
    ],
)
def test_bad_calls_are_refused_with_a_message_and_nothing_is_written(lead, rep, kwargs, field, message):
    with pytest.raises(ValidationError) as error:
        call_log(lead=lead, rep=rep, **kwargs)
    assert error.value.message_dict[field] == [message]
    assert not Call.objects.exists()
    assert not FollowUp.objects.exists()
    lead.refresh_from_db()
    assert (lead.last_attempt_at, lead.stage) == (None, Stage.NEW)


def test_a_call_moves_the_stage_of_a_lead_whose_other_fields_would_fail_the_form(lead, rep):
    # Imported or legacy rows the lead form would refuse: the stage change validates what it writes, not them.
    lead.__class__.objects.filter(pk=lead.pk).update(email="chloé@exämple", phone="not a phone", first_name="")
    lead.refresh_from_db()
    call_log(lead=lead, rep=rep, outcome=Outcome.NO_ANSWER)
    lead.refresh_from_db()
    assert lead.stage == Stage.ATTEMPTED and lead.unanswered_attempts == 1
    assert TimelineEntry.objects.filter(lead=lead, kind=TimelineEntry.Kind.STAGE_CHANGED).count() == 1


# What the lead has open before the call: nothing, a follow-up due now, a requested call-back further out.
BEFORE_THE_CALL = {
    "none": [],
    "due": [(FollowUp.Reason.RETRY, timedelta(hours=-2))],
    "call-back-later": [(FollowUp.Reason.CALL_BACK, timedelta(days=4))],
}


@pytest.mark.parametrize("before", BEFORE_THE_CALL)
@pytest.mark.parametrize(
    ("outcome", "fields"),
    [
        (Outcome.NO_ANSWER, {}),
        (Outcome.VOICEMAIL, {}),
        (Outcome.WRONG_NUMBER, {}),
        (Outcome.CONNECTED_OTHER, {}),
        (Outcome.NOT_INTERESTED, {}),
        (Outcome.CALL_BACK, {"call_back_on": date(2027, 3, 1)}),
        (Outcome.APPOINTMENT_SET, {"appointment_at": FROZEN + timedelta(days=2)}),
    ],
)
@pytest.mark.parametrize("do_not_call", [False, True])
def test_the_returned_call_carries_the_leads_open_follow_up_as_stored(lead, rep, before, outcome, fields, do_not_call):
    # The Today row and the notice show it without reading it again: it must be the stored one, or none.
    lead.do_not_call = do_not_call
    lead.save()
    for reason, due_in in BEFORE_THE_CALL[before]:
        FollowUpFactory(lead=lead, reason=reason, due_at=FROZEN + due_in)
    call = call_log(lead=lead, rep=rep, outcome=outcome, **fields)
    stored = open_follow_up(lead)
    if stored is None:
        assert call.open_follow_up is None
    else:
        assert call.open_follow_up is not None
        assert (call.open_follow_up.pk, call.open_follow_up.due_at, call.open_follow_up.reason) == (
            stored.pk,
            stored.due_at,
            stored.reason,
        )


def test_a_lead_outside_the_given_leads_is_not_logged(lead, other_lead, rep):
    with pytest.raises(other_lead.__class__.DoesNotExist):
        call_log(lead=other_lead, leads=lead.__class__.objects.filter(owner=rep), rep=rep, outcome=Outcome.NO_ANSWER)
    assert not Call.objects.exists()
    other_lead.refresh_from_db()
    assert other_lead.last_attempt_at is None
