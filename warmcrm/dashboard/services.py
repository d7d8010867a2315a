"""Writes of the dashboard app, each one set-based: the daily warmth-band snapshot and the summary rebuild.

The summary (docs/architecture.md, "Dashboard summary") is what the funnel, connection, events, referrer
and band panels read instead of scanning every lead: a row per UTC day and group, rebuilt whole by
`summary_rebuild` from beat every DASHBOARD_SUMMARY_SECONDS, and by the page itself when it finds the
summary older than DASHBOARD_SUMMARY_MAX_AGE_SECONDS (beat down, a fresh install).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from calls.models import Call, Outcome
from calls.outcomes import CONVERSATIONS
from leads.models import FollowUp, Lead, Stage, WarmthBand
from leads.selectors import past_stale_threshold
from referrals.models import Referral

from .models import BandSnapshot, CohortDay, FollowUpDay, ReferralDay, RepCallDay, SummaryState

# --- What the dashboard counts (also shown on the page and in README.md) --------------------------------
# contacted: the lead has a call; appointment: a call "appointment set", or the stage appointment set,
# qualified or won; won: the stage "won"; reached a stage: at that stage or further along the path (a call
# counts as reached attempted, a conversation as reached connected).
FUNNEL_STAGES = [Stage.NEW, Stage.ATTEMPTED, Stage.CONNECTED, Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.WON]
APPOINTMENT_STAGES = [Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.WON]
HAS_CALL = Q(first_call_at__isnull=False)
HAS_CONVERSATION = Q(first_conversation_at__isnull=False)
HAS_APPOINTMENT_CALL = Q(first_appointment_set_at__isnull=False)


def _beyond(stage: str) -> Q:
    order = [str(each) for each in FUNNEL_STAGES]
    return Q(stage__in=order[order.index(stage) :])


def _time_to_first_call() -> ExpressionWrapper:
    return ExpressionWrapper(F("first_call_at") - F("created_at"), output_field=DurationField())


# Every figure of a group of leads, as aggregates over lead rows: CohortDay stores each under its name, and the
# dashboard counts the partial UTC day at each end of a period with the same expressions.
COHORT_COUNTS: dict[str, Any] = {
    "leads": Count("pk"),
    **{f"now_{stage}": Count("pk", filter=Q(stage=stage)) for stage in Stage.values},
    "reached_attempted": Count("pk", filter=_beyond(Stage.ATTEMPTED) | HAS_CALL),
    "reached_connected": Count("pk", filter=_beyond(Stage.CONNECTED) | HAS_CONVERSATION),
    "reached_qualified": Count("pk", filter=_beyond(Stage.QUALIFIED)),
    "contacted": Count("pk", filter=HAS_CALL),
    "appointments": Count("pk", filter=Q(stage__in=APPOINTMENT_STAGES) | HAS_APPOINTMENT_CALL),
    "won": Count("pk", filter=Q(stage=Stage.WON)),
    # A lead had a call within 7 days of arriving exactly when its first call was within them.
    "contacted_7_days": Count("pk", filter=Q(first_call_at__lt=F("created_at") + timedelta(days=7))),
    "called": Count("pk", filter=HAS_CALL),
    "time_to_first_call_total": Sum(_time_to_first_call()),  # SUM skips leads never called (NULL)
    **{f"band_{band}": Count("pk", filter=Q(warmth_band=band)) for band in WarmthBand.values},
}
CLOSED_STAGES = [Stage.WON, Stage.LOST]


def stale_at(now: datetime) -> Q:
    """Stale on the dashboard: past its band's threshold without a conversation, not do-not-call, not won or lost."""
    return past_stale_threshold(now) & Q(do_not_call=False) & ~Q(stage__in=CLOSED_STAGES)


CALL_COUNTS: dict[str, Any] = {
    "calls": Count("pk"),
    "conversations": Count("pk", filter=Q(outcome__in=CONVERSATIONS)),
    "appointments": Count("pk", filter=Q(outcome=Outcome.APPOINTMENT_SET)),
}


def _insert_grouped(model: type[models.Model], grouped: QuerySet, columns: dict[str, str], **constants: Any) -> int:
    """INSERT the rows of a grouped SELECT (values().annotate()) into `model`'s table: one statement.

    `columns` maps the table's columns to the SELECT's; `constants` are the same value in every row.
    """
    select_sql, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    targets = ", ".join(quote(name) for name in [*constants, *columns])
    sources = ", ".join(["%s"] * len(constants) + [f"grouped.{quote(name)}" for name in columns.values()])
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({targets}) SELECT {sources} FROM ({select_sql}) AS grouped",  # noqa: S608 # nosec B608 # no user input
            [*constants.values(), *params],
        )
        return cursor.rowcount


def _same_names(*names: str) -> dict[str, str]:
    return {name: name for name in names}


@transaction.atomic
def band_snapshot_take(*, day: date) -> int:
    """Count leads per band, owner, connection type and event into BandSnapshot rows for `day`.

    Safe to run twice: the day's rows are replaced.
    """
    BandSnapshot.objects.filter(date=day).delete()
    grouped = (
        Lead.objects.order_by().values("warmth_band", "owner_id", "connection_type", "event_id").annotate(n=Count("pk"))
    )
    columns = {"band": "warmth_band", **_same_names("owner_id", "connection_type", "event_id"), "count": "n"}
    return _insert_grouped(BandSnapshot, grouped, columns, date=connection.ops.adapt_datefield_value(day))


def utc_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=UTC)


@transaction.atomic
def summary_rebuild(*, unless_built_after: datetime | None = None) -> SummaryState:
    """Recount the whole summary from the leads, referrals, calls and follow-ups: one DELETE and INSERT ... SELECT
    a table (two for follow-ups: the done ones by day closed, the overdue ones by day due).

    The state row is locked first, so a second rebuild waits for the first; readers see the old summary
    or the new one, never a mix (one transaction).
    """
    started = time.perf_counter()
    SummaryState.objects.get_or_create(pk=1)  # the migration made it; a flushed database has none
    state = SummaryState.objects.select_for_update().get(pk=1)
    if unless_built_after is not None and state.built_at is not None and state.built_at > unless_built_after:
        return state  # another page (or beat) rebuilt it while this one waited for the lock
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")  # compiling these aggregates costs more than running them
    groups = ("day", "owner_id", "connection_type", "event_id")
    CohortDay.objects.all().delete()
    now = timezone.now()
    cohorts = (
        Lead.objects.order_by()
        .annotate(day=utc_day("created_at"))
        .values(*groups)
        .annotate(**COHORT_COUNTS, stale=Count("pk", filter=stale_at(now)))
    )
    _insert_grouped(CohortDay, cohorts, _same_names(*groups, *COHORT_COUNTS, "stale"))

    ReferralDay.objects.all().delete()
    referrals = (
        Referral.objects.order_by()
        .values("source_id", day=F("referred_on"), owner_id=F("lead__owner_id"),
                connection_type=F("lead__connection_type"), event_id=F("lead__event_id"))
        .annotate(made=Count("pk"), converted=Count("pk", filter=Q(lead__stage=Stage.WON)))
    )  # fmt: skip
    _insert_grouped(ReferralDay, referrals, _same_names(*groups, "source_id", "made", "converted"))

    RepCallDay.objects.all().delete()
    call_groups = ("day", "rep_id", "connection_type", "event_id")
    calls = (
        Call.objects.filter(rep__isnull=False)
        .order_by()
        .values("rep_id", day=utc_day("called_at"), connection_type=F("lead__connection_type"),
                event_id=F("lead__event_id"))
        .annotate(**CALL_COUNTS)
    )  # fmt: skip
    _insert_grouped(RepCallDay, calls, _same_names(*call_groups, *CALL_COUNTS))

    FollowUpDay.objects.all().delete()
    by_lead = {"connection_type": F("lead__connection_type"), "event_id": F("lead__event_id")}
    done = FollowUp.objects.filter(status=FollowUp.Status.DONE, closed_at__isnull=False).order_by()
    _insert_grouped(
        FollowUpDay,
        done.values("owner_id", day=utc_day("closed_at"), **by_lead).annotate(done=Count("pk"), overdue=Value(0)),
        _same_names(*groups, "done", "overdue"),
    )
    overdue = FollowUp.objects.filter(status=FollowUp.Status.OPEN, due_at__lt=now).order_by()
    _insert_grouped(
        FollowUpDay,
        overdue.values("owner_id", day=utc_day("due_at"), **by_lead).annotate(done=Value(0), overdue=Count("pk")),
        _same_names(*groups, "done", "overdue"),
    )

    state.built_at = now
    state.took_ms = round((time.perf_counter() - started) * 1000)
    state.save(update_fields=["built_at", "took_ms"])
    return state


def summary_ensure_fresh() -> SummaryState:
    """The summary, rebuilt first when it is older than DASHBOARD_SUMMARY_MAX_AGE_SECONDS (or never built)."""
    state = SummaryState.objects.filter(pk=1).first()
    too_old = timezone.now() - timedelta(seconds=settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS)
    if state is None or state.built_at is None or state.built_at < too_old:
        # Managers opening the page at once queue on the state row; the first rebuilds, the others find it done.
        return summary_rebuild(unless_built_after=too_old)
    return state
