"""Logging a call, and everything the outcome changes: the lead's history, stage, follow-ups and warmth.

It all happens in one transaction with the lead row locked, so two reps logging calls on the same
lead at once both get saved and the lead's state stays consistent, and a broker outage never leaves
a call without its follow-up (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.models import FollowUp, Lead
from leads.services import follow_up_schedule, follow_ups_close_open, lead_rescore, lead_set_stage

from . import outcomes
from .models import Call, Outcome


def call_back_due_at(day: date) -> datetime:
    """A requested call-back date becomes a follow-up due at the start of that working day."""
    return datetime.combine(day, time(hour=settings.CALL_BACK_HOUR), tzinfo=timezone.get_current_timezone())


@transaction.atomic
def call_log(
    *,
    lead: Lead,
    rep: Any,
    outcome: str,
    called_at: datetime | None = None,
    notes: str = "",
    duration_seconds: int = 0,
    call_back_on: date | None = None,
    appointment_at: datetime | None = None,
    direction: str = Call.Direction.OUTBOUND,
) -> Call:
    now = timezone.now()
    called_at = called_at or now
    errors = outcomes.validate_call(outcome=outcome, call_back_on=call_back_on, today=timezone.localdate(now))
    if called_at > now + timedelta(minutes=5):
        errors["called_at"] = "A call cannot be logged in the future."
    if errors:
        raise ValidationError(errors)
    # Lock the lead: concurrent calls on it apply one after the other.
    lead = Lead.objects.select_for_update(of=("self",)).select_related("event").get(pk=lead.pk)
    call = Call(
        lead=lead,
        rep=rep,
        outcome=outcome,
        called_at=called_at,
        notes=notes,
        duration_seconds=duration_seconds,
        call_back_on=call_back_on,
        appointment_at=appointment_at,
        direction=direction,
    )
    call.full_clean()
    call.save()

    history = outcomes.history_after_call(
        outcomes.CallHistory(**{name: getattr(lead, name) for name in outcomes.CallHistory.__dataclass_fields__}),
        outcome=outcome,
        called_at=called_at,
    )
    for name, value in asdict(history).items():
        setattr(lead, name, value)
    lead.save(update_fields=[*asdict(history), "updated_at"])

    stage = outcomes.stage_after_call(lead.stage, outcome=outcome)
    if stage != lead.stage:
        lead_set_stage(lead=lead, actor=rep, stage=stage)
    _follow_ups_after_call(lead=lead, call=call, now=now)
    lead_rescore(lead=lead, now=now)
    return call


def _follow_ups_after_call(*, lead: Lead, call: Call, now: datetime) -> None:
    outcome = call.outcome
    end_of_today = datetime.combine(timezone.localdate(now), time.max, tzinfo=timezone.get_current_timezone())
    if outcome in outcomes.UNANSWERED or outcome == Outcome.WRONG_NUMBER:
        # The call that was due has been made; a requested call-back further out stays.
        follow_ups_close_open(
            lead=lead, status=FollowUp.Status.DONE, note=call.get_outcome_display(), due_before=end_of_today
        )
    else:
        follow_ups_close_open(lead=lead, status=FollowUp.Status.DONE, note=call.get_outcome_display())

    if outcome == Outcome.CALL_BACK:
        follow_up_schedule(
            lead=lead,
            due_at=call_back_due_at(call.call_back_on),
            reason=FollowUp.Reason.CALL_BACK,
            created_by=call.rep,
            replace_reasons=tuple(FollowUp.Reason.values),
        )
    elif outcome in outcomes.UNANSWERED and lead.unanswered_attempts <= settings.NO_ANSWER_MAX_RETRIES:
        follow_up_schedule(
            lead=lead,
            due_at=call.called_at + timedelta(days=settings.NO_ANSWER_RETRY_DAYS),
            reason=FollowUp.Reason.RETRY,
            replace_reasons=(FollowUp.Reason.STALE,),
        )
