"""Every figure on the dashboard, aggregated in the database: a fixed number of queries, whatever the data size.

Definitions (also shown on the page and in README.md):
- the period selects leads by when they came in (created_at), calls by when they were made, referrals by
  the day they were made and follow-ups by when they were done; bands and stale leads are "now";
- contacted: the lead has at least one call; appointment: a call with outcome "appointment set", or the
  lead's stage is appointment set, qualified or won; won: stage "won"; conversations are the call
  outcomes of calls.outcomes.CONVERSATIONS; a converted referral is a referred lead that was won;
- stale: not do-not-call, not won or lost, and no conversation (or, never called, no arrival) for longer
  than its band's settings.STALE_AFTER_DAYS.

The call figures are read from totals that calls.services keeps in the call's own transaction, not by
probing the calls: the lead's first_call_at / first_conversation_at / first_appointment_set_at, and
calls.models.RepCallHour for rep activity (see docs/architecture.md, "Dashboard call totals").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import Call, Outcome, RepCallHour
from calls.outcomes import CONVERSATIONS
from calls.services import hour_of
from leads.models import ConnectionType, FollowUp, Lead, Stage, WarmthBand
from leads.roles import REP
from leads.selectors import leads_visible_to, past_stale_threshold
from referrals.models import Referral

from .filters import DashboardFilters
from .models import BandSnapshot

FUNNEL_STAGES = [Stage.NEW, Stage.ATTEMPTED, Stage.CONNECTED, Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.WON]
APPOINTMENT_STAGES = [Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.WON]
CLOSED_STAGES = [Stage.WON, Stage.LOST]
STALE_LIST_LIMIT = 50
HAS_CALL = Q(first_call_at__isnull=False)
HAS_CONVERSATION = Q(first_conversation_at__isnull=False)
HAS_APPOINTMENT_CALL = Q(first_appointment_set_at__isnull=False)
REFERRER_PANEL_LIMIT = 20


def rate(part: int, whole: int) -> float | None:
    """Percentage with one decimal; None when there is nothing to divide by (shown as "–")."""
    return round(100.0 * part / whole, 1) if whole else None


@contextmanager
def reading_dashboard() -> Iterator[None]:
    """One transaction for the page's reads, with PostgreSQL's JIT off.

    Compiling these filter-heavy aggregates took longer (about 0.6 s a query at 100k leads) than
    running them; see docs/benchmarks.md. Elsewhere the database keeps its own setting.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def dashboard_leads(user: Any, filters: DashboardFilters) -> QuerySet[Lead]:
    """The leads this manager may see, narrowed by rep/team/connection/event (not by period)."""
    return leads_visible_to(user).filter(filters.lead_q())


def _in_period(leads: QuerySet[Lead], filters: DashboardFilters) -> QuerySet[Lead]:
    return leads.filter(created_at__gte=filters.period.start, created_at__lt=filters.period.end)


# --- Funnel -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    label: str
    now: int  # leads whose stage is this one now
    reached: int | None  # leads that got at least this far (None for lost / nurture, which are off the path)
    to_next: float | None  # % of those who reached this stage that reached the next


def cohort_counts(user: Any, filters: DashboardFilters) -> dict[str, dict[str, int]]:
    """One pass over the leads that came in during the period, grouped by connection type.

    The funnel and the connection panel both read it, so the page scans the leads once. Each count is
    a conditional aggregate over lead columns: the lead row carries when it was first called, first
    reached and first given an appointment.
    """
    order = [str(stage) for stage in FUNNEL_STAGES]

    def beyond(stage: str) -> Q:
        return Q(stage__in=order[order.index(stage) :])

    grouped = (
        _in_period(dashboard_leads(user, filters), filters)
        .order_by()
        .values("connection_type")
        .annotate(
            **{f"now_{stage}": Count("pk", filter=Q(stage=stage)) for stage in Stage.values},
            reached_attempted=Count("pk", filter=beyond(Stage.ATTEMPTED) | HAS_CALL),
            reached_connected=Count("pk", filter=beyond(Stage.CONNECTED) | HAS_CONVERSATION),
            reached_qualified=Count("pk", filter=beyond(Stage.QUALIFIED)),
            **_conversion_counts(),
        )
    )
    counts = {}
    for row in grouped:
        key = row.pop("connection_type")
        row["reached_new"] = row["leads"]
        row["reached_appointment_set"] = row["appointments"]  # the same definition as "appointment"
        row["reached_won"] = row["won"]
        counts[key] = row
    return counts


def funnel(user: Any, filters: DashboardFilters, counts: dict[str, dict[str, int]] | None = None) -> list[FunnelRow]:
    """Leads by stage now, and how many reached each pipeline stage, for the leads that came in."""
    by_type = cohort_counts(user, filters) if counts is None else counts

    def total(name: str) -> int:  # summing the eight per-connection rows, not leads
        return sum(row[name] for row in by_type.values())

    rows = []
    for index, stage in enumerate(FUNNEL_STAGES):
        reached = total(f"reached_{stage}")
        following = total(f"reached_{FUNNEL_STAGES[index + 1]}") if index + 1 < len(FUNNEL_STAGES) else None
        rows.append(
            FunnelRow(
                stage,
                stage.label,
                total(f"now_{stage}"),
                reached,
                None if following is None else rate(following, reached),
            )
        )
    for stage in (Stage.LOST, Stage.NURTURE):
        rows.append(FunnelRow(stage, stage.label, total(f"now_{stage}"), None, None))
    return rows


# --- Conversion by connection type ----------------------------------------------------------------


@dataclass(frozen=True)
class ConversionRow:
    key: str
    label: str
    leads: int
    contacted: int
    appointments: int
    won: int

    @property
    def contacted_rate(self) -> float | None:
        return rate(self.contacted, self.leads)

    @property
    def appointment_rate(self) -> float | None:
        return rate(self.appointments, self.leads)

    @property
    def won_rate(self) -> float | None:
        return rate(self.won, self.leads)


def _conversion_counts() -> dict[str, Any]:
    return {
        "leads": Count("pk"),
        "contacted": Count("pk", filter=HAS_CALL),
        "appointments": Count("pk", filter=Q(stage__in=APPOINTMENT_STAGES) | HAS_APPOINTMENT_CALL),
        "won": Count("pk", filter=Q(stage=Stage.WON)),
    }


def conversion_by_connection(
    user: Any, filters: DashboardFilters, counts: dict[str, dict[str, int]] | None = None
) -> list[ConversionRow]:
    """Every connection type, in the form's order, with zeros where no lead came in that way."""
    by_type = cohort_counts(user, filters) if counts is None else counts
    rows = []
    for key, label in ConnectionType.choices:
        if filters.connection_type and key != filters.connection_type:
            continue
        row = by_type.get(key, {})
        rows.append(
            ConversionRow(
                key, label, row.get("leads", 0), row.get("contacted", 0), row.get("appointments", 0), row.get("won", 0)
            )
        )
    return rows


# --- Events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event_id: int
    name: str
    date: date | None
    leads: int
    contacted_7_days: int
    appointments: int
    won: int
    time_to_first_call: timedelta | None

    @property
    def contacted_7_days_rate(self) -> float | None:
        return rate(self.contacted_7_days, self.leads)

    @property
    def won_rate(self) -> float | None:
        return rate(self.won, self.leads)

    @property
    def days_to_first_call(self) -> float | None:
        if self.time_to_first_call is None:
            return None
        return round(self.time_to_first_call.total_seconds() / 86400, 1)


def events(user: Any, filters: DashboardFilters) -> list[EventRow]:
    """Per trade show: its leads that came in during the period, how fast they were called, what they became."""
    grouped = (
        _in_period(dashboard_leads(user, filters), filters)
        .filter(event__isnull=False)
        .order_by()
        .values("event_id", "event__name", "event__date")
        .annotate(
            leads=Count("pk"),
            appointments=Count("pk", filter=Q(stage__in=APPOINTMENT_STAGES) | HAS_APPOINTMENT_CALL),
            won=Count("pk", filter=Q(stage=Stage.WON)),
            # A lead had a call within 7 days of arriving exactly when its first call was within them.
            contacted_7_days=Count("pk", filter=Q(first_call_at__lt=F("created_at") + timedelta(days=7))),
            # AVG skips leads never called (NULL).
            time_to_first_call=Avg(
                ExpressionWrapper(F("first_call_at") - F("created_at"), output_field=DurationField())
            ),
        )
        .order_by("-leads", "event__name")
    )
    return [
        EventRow(
            row["event_id"],
            row["event__name"],
            row["event__date"],
            row["leads"],
            row["contacted_7_days"],
            row["appointments"],
            row["won"],
            row["time_to_first_call"],
        )
        for row in grouped
    ]


# --- Referrers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferrerRow:
    source_id: int
    name: str
    organisation: str
    made: int
    converted: int
    most_recent: date

    @property
    def conversion_rate(self) -> float | None:
        return rate(self.converted, self.made)


def referrers(user: Any, filters: DashboardFilters, *, limit: int | None = REFERRER_PANEL_LIMIT) -> list[ReferrerRow]:
    """Referrers by referred leads won, then referrals made: the ones whose leads close come first."""
    # The dashboard is for those who see every lead (views.manager_required): the filters (with a team
    # manager's scope) apply through the join, not as an IN over all visible leads.
    referrals = Referral.objects.filter(
        filters.lead_q("lead__"),
        referred_on__gte=filters.period.first_day,
        referred_on__lte=filters.period.last_day,
    )
    grouped = (
        referrals.order_by()
        .values("source_id", "source__name", "source__organisation")
        .annotate(
            made=Count("pk"), converted=Count("pk", filter=Q(lead__stage=Stage.WON)), most_recent=Max("referred_on")
        )
        .order_by("-converted", "-made", "source__name", "source_id")
    )
    if limit is not None:
        grouped = grouped[:limit]
    return [
        ReferrerRow(
            row["source_id"],
            row["source__name"],
            row["source__organisation"],
            row["made"],
            row["converted"],
            row["most_recent"],
        )
        for row in grouped
    ]


# --- Rep activity ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepRow:
    rep_id: int
    name: str
    calls: int
    calls_per_day: float
    conversations: int
    appointments: int
    follow_ups_done: int
    follow_ups_overdue: int


def rep_activity(user: Any, filters: DashboardFilters) -> list[RepRow]:
    """Per rep in scope: calls made in the period on leads matching the filters, and their follow-ups.

    Three queries: their calls counted by rep, the reps, their follow-ups grouped by owner. Grouping each
    table on its own keeps a rep's thousands of calls from multiplying with their follow-ups in a join.
    """
    period = filters.period
    users = get_user_model().objects.filter(filters.user_q())
    rep_group = get_user_model().groups.through.objects.filter(group__name=REP).values("user_id")
    call_counts = _calls_by_rep(filters, users.values("pk"))
    # Active reps, with or without calls, and anyone else in scope (a manager, a rep since deactivated) who called.
    reps = list(
        users.filter(Q(pk__in=rep_group, is_active=True) | Q(pk__in=list(call_counts)))
        .order_by("first_name", "username")
        .only("pk", "first_name", "last_name", "username")
    )
    done = Q(status=FollowUp.Status.DONE, closed_at__gte=period.start, closed_at__lt=period.end)
    overdue = Q(status=FollowUp.Status.OPEN, due_at__lt=timezone.now())
    follow_up_counts = {
        row["owner_id"]: row
        for row in FollowUp.objects.filter(done | overdue, filters.lead_attributes_q("lead__"))
        .filter(owner_id__in=users.values("pk"))
        .order_by()
        .values("owner_id")
        .annotate(done=Count("pk", filter=done), overdue=Count("pk", filter=overdue))
    }
    days = period.days
    rows = []
    for rep in reps:  # a handful of reps, each one dictionary look-up
        made = call_counts.get(rep.pk, {})
        follow_ups = follow_up_counts.get(rep.pk, {})
        rows.append(
            RepRow(
                rep.pk,
                rep.get_full_name() or rep.get_username(),
                made.get("calls", 0),
                round(made.get("calls", 0) / days, 1),
                made.get("conversations", 0),
                made.get("appointments", 0),
                follow_ups.get("done", 0),
                follow_ups.get("overdue", 0),
            )
        )
    rows.sort(key=lambda row: -row.calls)  # stable: ties stay in name order
    return rows


def _count_calls(calls: QuerySet[Call]) -> QuerySet:
    return (
        calls.order_by()
        .values("rep_id")
        .annotate(
            n_calls=Count("pk"),
            n_conversations=Count("pk", filter=Q(outcome__in=CONVERSATIONS)),
            n_appointments=Count("pk", filter=Q(outcome=Outcome.APPOINTMENT_SET)),
        )
    )


def _calls_by_rep(filters: DashboardFilters, rep_ids: QuerySet) -> dict[int, dict[str, int]]:
    """Calls, conversations and appointments per rep in the period: one query.

    Without a connection or event filter, the period's whole UTC hours come from RepCallHour and only the
    calls in the partial hour at each end (a time zone half an hour off UTC) are counted from calls. Those
    two filters are about the lead as it is now, which the hourly totals do not record: then the calls
    themselves are counted, joined to their leads.
    """
    start, end = filters.period.start, filters.period.end
    calls = Call.objects.filter(rep_id__in=rep_ids)
    if filters.lead_attributes_q():
        grouped = _count_calls(
            calls.filter(filters.lead_attributes_q("lead__"), called_at__gte=start, called_at__lt=end)
        )
    else:
        first_hour, last_hour = hour_of(start), hour_of(end)
        if first_hour < start:
            first_hour += timedelta(hours=1)
        if first_hour > last_hour:  # less than an hour: all of it from the calls
            first_hour = last_hour = end
        hourly = (
            RepCallHour.objects.filter(rep_id__in=rep_ids, hour__gte=first_hour, hour__lt=last_hour)
            .order_by()
            .values("rep_id")
            .annotate(n_calls=Sum("calls"), n_conversations=Sum("conversations"), n_appointments=Sum("appointments"))
        )
        edges = calls.filter(
            Q(called_at__gte=start, called_at__lt=first_hour) | Q(called_at__gte=last_hour, called_at__lt=end)
        )
        grouped = hourly.union(_count_calls(edges), all=True)
    counts: dict[int, dict[str, int]] = {}
    for row in grouped:
        totals = counts.setdefault(row["rep_id"], {"calls": 0, "conversations": 0, "appointments": 0})
        for name in totals:
            totals[name] += row[f"n_{name}"]
    return counts


# --- Warmth bands and stale leads -------------------------------------------------------------------


@dataclass(frozen=True)
class BandRow:
    band: str
    label: str
    now: int
    week_ago: int | None  # None when there is no snapshot from a week ago

    @property
    def moved(self) -> int | None:
        return None if self.week_ago is None else self.now - self.week_ago


@dataclass(frozen=True)
class Bands:
    rows: list[BandRow]
    snapshot_date: date | None
    compare_to: date


def warmth_bands(user: Any, filters: DashboardFilters) -> Bands:
    """Leads per band now (2 queries), against the newest snapshot taken at least a week ago."""
    compare_to = timezone.localdate() - timedelta(days=7)
    now_counts = dict(
        dashboard_leads(user, filters)
        .order_by()
        .values("warmth_band")
        .annotate(n=Count("pk"))
        .values_list("warmth_band", "n")
    )
    # Always the same two queries: the newest usable snapshot day, then its counts for these filters.
    snapshot_date = BandSnapshot.objects.filter(date__lte=compare_to).aggregate(day=Max("date"))["day"]
    newest_usable = BandSnapshot.objects.filter(date__lte=compare_to).order_by("-date").values("date")[:1]
    week_ago = dict(
        BandSnapshot.objects.filter(_snapshot_q(filters), date=Subquery(newest_usable))
        .order_by()
        .values("band")
        .annotate(n=Sum("count"))
        .values_list("band", "n")
    )
    rows = [
        BandRow(band, label, now_counts.get(band, 0), None if snapshot_date is None else week_ago.get(band, 0))
        for band, label in WarmthBand.choices
    ]
    return Bands(rows, snapshot_date, compare_to)


def _snapshot_q(filters: DashboardFilters) -> Q:
    q = Q()
    if filters.owner_ids is not None:
        q &= Q(owner_id__in=filters.owner_ids)
    if filters.rep_id is not None:
        q &= Q(owner_id=filters.rep_id)
    if filters.team_id is not None:
        q &= Q(owner__teams=filters.team_id)
    if filters.connection_type:
        q &= Q(connection_type=filters.connection_type)
    if filters.event_id is not None:
        q &= Q(event_id=filters.event_id)
    return q


def stale_leads(user: Any, filters: DashboardFilters, *, now: datetime | None = None) -> QuerySet[Lead]:
    """Leads going cold, the longest-quiet first (rank by how far past their threshold is left to the reader)."""
    now = now or timezone.now()
    return (
        dashboard_leads(user, filters)
        .annotate(quiet_since=Coalesce("last_conversation_at", "created_at"))
        .filter(past_stale_threshold(now), do_not_call=False)
        .exclude(stage__in=CLOSED_STAGES)
        .select_related("owner")
        .order_by("quiet_since", "pk")
    )


@dataclass(frozen=True)
class StaleList:
    total: int
    leads: list[Lead]


def stale_list(user: Any, filters: DashboardFilters, *, limit: int = STALE_LIST_LIMIT) -> StaleList:
    """The first `limit` stale leads and how many there are, in one query.

    The count is an uncorrelated subquery (run once, over narrow index rows), so the list itself reads
    only its first `limit` leads along the lead_stale_scan index instead of sorting every stale lead.
    """
    now = timezone.now()
    stale = stale_leads(user, filters, now=now)
    total = stale.order_by().values(one=Value(1)).annotate(n=Count("pk")).values("n")
    shown = list(stale.annotate(total=Subquery(total))[:limit])
    for lead in shown:
        lead.days_quiet = (now - lead.quiet_since).days  # display only: the filtering was done in SQL
    return StaleList(shown[0].total if shown else 0, shown)
