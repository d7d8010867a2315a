"""Logging a call, and everything the outcome changes: the lead's history, stage, follow-ups and warmth.

It all happens in one transaction with the lead row locked, so two reps logging calls on the same
lead at once both get saved and the lead's state stays consistent, and a broker outage never leaves
a call without its follow-up (see docs/architecture.md).

The same transaction keeps the dashboard's call totals: the lead's first call / conversation /
appointment and the rep's RepCallHour row. Anything that writes calls another way (bulk loads, the
admin, deletions) recounts them from the calls with call_totals_refresh or call_totals_rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from leads.models import FollowUp, Lead
from leads.services import follow_up_schedule, follow_ups_close_open, lead_rescore, lead_set_stage

from . import outcomes
from .models import Call, Outcome, RepCallHour

# The lead's call totals: each is the time of its first call with one of these outcomes (None: any outcome).
FIRST_CALL_FIELDS: dict[str, frozenset[str] | None] = {
    "first_call_at": None,
    "first_conversation_at": outcomes.CONVERSATIONS,
    "first_appointment_set_at": frozenset({Outcome.APPOINTMENT_SET.value}),
}


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
    leads: QuerySet[Lead] | None = None,
) -> Call:
    """Log the call on `lead` (locked and re-read here; with `leads`, only if it is among them: Lead.DoesNotExist
    if not, so a view can pass the leads its user sees and an id, without reading the lead first).

    The returned call's `open_follow_up` is the lead's open follow-up after the call (None: it has none), known in
    the transaction without reading it again, and its `lead` the locked row with what the Today row shows.
    """
    now = timezone.now()
    called_at = called_at or now
    errors = outcomes.validate_call(
        outcome=outcome, call_back_on=call_back_on, today=timezone.localdate(now), appointment_at=appointment_at
    )
    if called_at > now + timedelta(minutes=5):
        errors["called_at"] = "A call cannot be logged in the future."
    if errors:
        raise ValidationError(errors)
    # Lock the lead: concurrent calls on it apply one after the other. With what the warmth and Today's row and notice
    # read, so the returned call's lead serves the response without reading it again (a caller that shows more, like
    # the lead page, asks for it in `leads`: the owner's join cost every call from Today ~1 ms of Python).
    lead = (
        (Lead.objects.all() if leads is None else leads)
        .select_for_update(of=("self",))
        .select_related("event", "referral__source")
        .get(pk=lead.pk)
    )
    call = Call(
        lead=lead,
        lead_owner_id=lead.owner_id,  # as the database's trigger sets it
        rep=rep,
        outcome=outcome,
        called_at=called_at,
        notes=notes,
        duration_seconds=duration_seconds,
        call_back_on=call_back_on,
        appointment_at=appointment_at,
        direction=direction,
    )
    # Rows in hand: the locked lead, its owner, the signed-in rep.
    call.full_clean(exclude=["lead", "rep", "lead_owner"])
    call.save()

    history = outcomes.history_after_call(
        outcomes.CallHistory(**{name: getattr(lead, name) for name in outcomes.CallHistory.__dataclass_fields__}),
        outcome=outcome,
        called_at=called_at,
    )
    for name, value in asdict(history).items():
        setattr(lead, name, value)
    for name, counted in FIRST_CALL_FIELDS.items():
        if (counted is None or outcome in counted) and (getattr(lead, name) is None or called_at < getattr(lead, name)):
            setattr(lead, name, called_at)
    # The warmth reads the call history (not the stage or the follow-ups): history and warmth in one UPDATE.
    lead_rescore(lead=lead, now=now, also_saving=[*asdict(history), *FIRST_CALL_FIELDS])
    _rep_call_hour_add(call)

    stage = outcomes.stage_after_call(lead.stage, outcome=outcome)
    if stage != lead.stage:
        lead_set_stage(lead=lead, actor=rep, stage=stage)
    call.open_follow_up = _follow_ups_after_call(lead=lead, call=call, now=now)
    return call


def _follow_ups_after_call(*, lead: Lead, call: Call, now: datetime) -> FollowUp | None:
    """Close and schedule the lead's follow-ups for the call; returns its open follow-up afterwards.

    A lead has one open follow-up at most (a constraint), so after closing every open one it has none, and
    follow_up_schedule returns the open one it made, moved or kept: only a partial close not followed by a
    schedule needs to read what is left.
    """
    outcome = call.outcome
    end_of_today = datetime.combine(timezone.localdate(now), time.max, tzinfo=timezone.get_current_timezone())
    closed_all = not (outcome in outcomes.UNANSWERED or outcome == Outcome.WRONG_NUMBER)
    if closed_all:
        follow_ups_close_open(lead=lead, status=FollowUp.Status.DONE, note=call.get_outcome_display())
    else:
        # The call that was due has been made; a requested call-back further out stays.
        follow_ups_close_open(
            lead=lead, status=FollowUp.Status.DONE, note=call.get_outcome_display(), due_before=end_of_today
        )

    scheduled = None
    if outcome == Outcome.CALL_BACK:
        scheduled = follow_up_schedule(
            lead=lead,
            due_at=call_back_due_at(call.call_back_on),
            reason=FollowUp.Reason.CALL_BACK,
            created_by=call.rep,
            replace_reasons=tuple(FollowUp.Reason.values),
        )
    elif outcome in outcomes.UNANSWERED and lead.unanswered_attempts <= settings.NO_ANSWER_MAX_RETRIES:
        scheduled = follow_up_schedule(
            lead=lead,
            due_at=call.called_at + timedelta(days=settings.NO_ANSWER_RETRY_DAYS),
            reason=FollowUp.Reason.RETRY,
            replace_reasons=(FollowUp.Reason.STALE,),
        )
    if scheduled is not None or closed_all:
        return scheduled
    return FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN).first()


# --- The dashboard's call totals ----------------------------------------------------------------------


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` falls in: the key of RepCallHour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _rep_call_hour_add(call: Call) -> None:
    """One more call in its rep's hour: an upsert, so concurrent calls of one rep both count."""
    if call.rep_id is None:
        return  # nobody's activity
    table = connection.ops.quote_name(RepCallHour._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hour, rep_id, calls, conversations, appointments) "  # noqa: S608 # nosec B608 # no user input
            "VALUES (%s, %s, 1, %s, %s) ON CONFLICT (hour, rep_id) DO UPDATE SET "
            f"calls = {table}.calls + 1, conversations = {table}.conversations + excluded.conversations, "
            f"appointments = {table}.appointments + excluded.appointments",
            [
                connection.ops.adapt_datetimefield_value(hour_of(call.called_at)),
                call.rep_id,
                int(call.outcome in outcomes.CONVERSATIONS),
                int(call.outcome == Outcome.APPOINTMENT_SET),
            ],
        )


def lead_call_facts_refresh(*, leads: QuerySet[Lead]) -> int:
    """Recount the first call / conversation / appointment of `leads` from their calls: one UPDATE."""
    calls = Call.objects.filter(lead_id=OuterRef("pk")).order_by("called_at").values("called_at")
    return leads.update(
        **{
            name: Subquery((calls if counted is None else calls.filter(outcome__in=counted))[:1])
            for name, counted in FIRST_CALL_FIELDS.items()
        }
    )


@transaction.atomic
def rep_call_hours_rebuild(*, hours: Iterable[datetime] | None = None) -> int:
    """Recount RepCallHour rows from the calls: for the given hours, or (None) all of them. Safe to run twice.

    Set-based: one DELETE, then one INSERT ... SELECT of the calls grouped by rep and UTC hour.
    """
    rows, calls = RepCallHour.objects.all(), Call.objects.filter(rep__isnull=False)
    if hours is not None:
        starts = sorted({hour_of(moment) for moment in hours})
        if not starts:
            return 0
        in_hours = Q()
        for start in starts:
            in_hours |= Q(called_at__gte=start, called_at__lt=start + timedelta(hours=1))
        rows, calls = rows.filter(hour__in=starts), calls.filter(in_hours)
    rows.delete()
    grouped = (
        calls.annotate(bucket=TruncHour("called_at", tzinfo=UTC))
        .order_by()
        .values("bucket", "rep_id")
        .annotate(
            n_calls=Count("pk"),
            n_conversations=Count("pk", filter=Q(outcome__in=outcomes.CONVERSATIONS)),
            n_appointments=Count("pk", filter=Q(outcome=Outcome.APPOINTMENT_SET)),
        )
    )
    select_sql, params = grouped.query.sql_with_params()
    table = connection.ops.quote_name(RepCallHour._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hour, rep_id, calls, conversations, appointments) "  # noqa: S608 # nosec B608 # no user input
            "SELECT grouped.bucket, grouped.rep_id, grouped.n_calls, grouped.n_conversations, grouped.n_appointments "
            f"FROM ({select_sql}) AS grouped",
            params,
        )
        return cursor.rowcount


def call_totals_refresh(*, lead_ids: Iterable[int], times: Iterable[datetime]) -> None:
    """After calls were added, changed or removed other than by call_log: recount what they touched."""
    lead_call_facts_refresh(leads=Lead.objects.filter(pk__in=set(lead_ids)))
    rep_call_hours_rebuild(hours=times)


@transaction.atomic
def call_totals_rebuild() -> None:
    """Recount every lead's and every hour's totals, after a bulk load (seed_demo, benchmarks). Minutes at most."""
    lead_call_facts_refresh(leads=Lead.objects.all())
    rep_call_hours_rebuild()
