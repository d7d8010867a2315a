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

The funnel, connection, events, referrer and band panels, and rep activity under a connection or event
filter, read the summary that dashboard.services.summary_rebuild keeps (a row per UTC day and group, as
of its build time) and count only the partial UTC days at the ends of a period from the leads or calls
(docs/architecture.md, "Dashboard summary").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Count,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import Call, RepCallHour
from calls.services import hour_of
from leads.models import ConnectionType, FollowUp, Lead, Stage, WarmthBand
from leads.roles import REP
from leads.selectors import leads_visible_to

from .filters import DashboardFilters, Period
from .models import BandSnapshot, CohortDay, FollowUpDay, ReferralDay, RepCallDay
from .services import CALL_COUNTS, COHORT_COUNTS, FUNNEL_STAGES, stale_at

STALE_LIST_LIMIT = 50
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


# --- Funnel -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    label: str
    now: int  # leads whose stage is this one now
    reached: int | None  # leads that got at least this far (None for lost / nurture, which are off the path)
    to_next: float | None  # % of those who reached this stage that reached the next


@dataclass(frozen=True)
class UtcDays:
    """A period as the whole UTC days the summary holds, plus the partial days at its ends, counted live.

    Every time zone's midnight falls inside one UTC day, so a period in any zone is whole UTC days and at
    most two pieces of a day (none in UTC).
    """

    first_day: date | None  # None: no whole UTC day inside the period
    last_day: date | None
    edges: tuple[tuple[datetime, datetime], ...]  # [low, high) ranges

    @classmethod
    def of(cls, period: Period) -> UtcDays:
        start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
        whole_from = datetime.combine(start.date(), time.min, UTC)
        if whole_from < start:
            whole_from += timedelta(days=1)
        whole_to = datetime.combine(end.date(), time.min, UTC)
        if whole_from >= whole_to:
            return cls(None, None, ((start, end),))
        edges = tuple(edge for edge in ((start, whole_from), (whole_to, end)) if edge[0] < edge[1])
        return cls(whole_from.date(), whole_to.date() - timedelta(days=1), edges)

    def summary_q(self) -> Q:
        if self.first_day is None:
            return Q(pk__in=[])
        return Q(day__gte=self.first_day, day__lte=self.last_day)

    def edges_q(self, field: str) -> Q:
        """The partial days as a Q on `field` (created_at, called_at); matches nothing when there are none."""
        q = Q(pk__in=[])
        for low, high in self.edges:
            q |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
        return q


def _summed(names: Any) -> dict[str, Sum]:
    return {name: Sum(name) for name in names}


COHORT_GROUPS = ("connection_type", "event_id", "event__name", "event__date")


def cohort_rows(user: Any, filters: DashboardFilters) -> list[dict[str, Any]]:
    """The period's leads by connection type and event, with every COHORT_COUNTS figure: one query.

    The funnel and connection panels add the rows up by connection type, the events panel by event.
    Whole UTC days are summed from CohortDay; in a time zone off UTC, the partial UTC days at the ends
    are counted from the leads in the same query (UNION ALL), so a group can have two rows.
    """
    days = UtcDays.of(filters.period)
    rows = (
        CohortDay.objects.filter(filters.lead_q(), days.summary_q())
        .order_by()
        .values(*COHORT_GROUPS)
        .annotate(**_summed(COHORT_COUNTS))
    )
    if days.edges:
        rows = rows.union(
            dashboard_leads(user, filters)
            .filter(days.edges_q("created_at"))
            .order_by()
            .values(*COHORT_GROUPS)
            .annotate(**COHORT_COUNTS),
            all=True,
        )
    return list(rows)


def _add_up(rows: list[dict[str, Any]], key: Any) -> dict[Any, dict[str, Any]]:
    totals: dict[Any, dict[str, Any]] = {}
    for row in rows:
        group = key(row)
        if group not in totals:
            totals[group] = dict(row)
            continue
        for name, value in row.items():
            if name in COHORT_COUNTS and value is not None:
                previous = totals[group][name]
                totals[group][name] = value if previous is None else previous + value
    return totals


def cohort_counts(
    user: Any, filters: DashboardFilters, rows: list[dict[str, Any]] | None = None
) -> dict[str, dict[str, int]]:
    """The leads that came in during the period, by connection type: the funnel and connection panels.

    Each figure is a COHORT_COUNTS aggregate (conditional counts over lead columns: the lead row carries
    when it was first called, first reached and first given an appointment).
    """
    rows = cohort_rows(user, filters) if rows is None else rows
    counts = {}
    for key, row in _add_up(rows, lambda row: row["connection_type"]).items():
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


def events(user: Any, filters: DashboardFilters, rows: list[dict[str, Any]] | None = None) -> list[EventRow]:
    """Per trade show: its leads that came in during the period, how fast they were called, what they became."""
    rows = cohort_rows(user, filters) if rows is None else rows
    # An event deleted since the last rebuild has no name to join: its leads no longer have it either.
    grouped = _add_up([row for row in rows if row["event__name"] is not None], lambda row: row["event_id"])
    events = [
        EventRow(
            row["event_id"],
            row["event__name"],
            row["event__date"],
            row["leads"],
            row["contacted_7_days"],
            row["appointments"],
            row["won"],
            # The average over the leads that were called (the total skips the others).
            row["time_to_first_call_total"] / row["called"] if row["called"] else None,
        )
        for row in grouped.values()
    ]
    events.sort(key=lambda row: (-row.leads, row.name))
    return events


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
    """Referrers by referred leads won, then referrals made: the ones whose leads close come first.

    From ReferralDay: a referral's day is a date, so the period's days select exactly, with no partial days.
    """
    grouped = (
        ReferralDay.objects.filter(
            filters.lead_q(), day__gte=filters.period.first_day, day__lte=filters.period.last_day
        )
        .order_by()
        .values("source_id", "source__name", "source__organisation")
        .annotate(made=Sum("made"), converted=Sum("converted"), most_recent=Max("day"))
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
    follow_up_counts = _follow_ups_by_owner(filters, users.values("pk"))
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


def _follow_ups_by_owner(filters: DashboardFilters, owner_ids: QuerySet) -> dict[int, dict[str, int]]:
    """Follow-ups done in the period and overdue, per owner, from the summary: one query.

    Overdue is as of the summary's rebuild; done sums the period's whole UTC days from FollowUpDay and, in
    a time zone off UTC, counts the partial days at the ends from the follow-ups (UNION ALL).
    """
    days = UtcDays.of(filters.period)
    owners = Q(owner_id__in=owner_ids) if filters.user_q() else Q()  # no scope: every owner is in it (no join)
    rows = (
        FollowUpDay.objects.filter(filters.lead_attributes_q(), owners)
        .order_by()
        .values("owner_id")
        .annotate(done=Coalesce(Sum("done", filter=days.summary_q()), 0), overdue=Sum("overdue"))
    )
    if days.edges:
        rows = rows.union(
            FollowUp.objects.filter(
                filters.lead_attributes_q("lead__"), owners, days.edges_q("closed_at"), status=FollowUp.Status.DONE
            )
            .order_by()
            .values("owner_id")
            .annotate(done=Count("pk"), overdue=Value(0)),
            all=True,
        )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        totals = counts.setdefault(row["owner_id"], {"done": 0, "overdue": 0})
        totals["done"] += row["done"]
        totals["overdue"] += row["overdue"]
    return counts


def _calls_by_rep(filters: DashboardFilters, rep_ids: QuerySet) -> dict[int, dict[str, int]]:
    """Calls, conversations and appointments per rep in the period: one UNION ALL query.

    Without a connection or event filter, the period's whole UTC hours come from RepCallHour (exact: call_log
    keeps it) and only the calls in the partial hour at each end (a time zone half an hour off UTC) are
    counted from calls. Those two filters are about the lead as it is now, which the hourly totals do not
    record: then the whole UTC days come from the summary's RepCallDay and the partial days from the calls.
    """
    start, end = filters.period.start, filters.period.end
    calls = Call.objects.filter(rep_id__in=rep_ids)
    counted = {f"n_{name}": aggregate for name, aggregate in CALL_COUNTS.items()}
    summed = {f"n_{name}": Sum(name) for name in CALL_COUNTS}
    if filters.lead_attributes_q():
        days = UtcDays.of(filters.period)
        totals = RepCallDay.objects.filter(filters.lead_attributes_q(), days.summary_q(), rep_id__in=rep_ids)
        edges = calls.filter(filters.lead_attributes_q("lead__"), days.edges_q("called_at"))
    else:
        first_hour, last_hour = hour_of(start), hour_of(end)
        if first_hour < start:
            first_hour += timedelta(hours=1)
        if first_hour > last_hour:  # less than an hour: all of it from the calls
            first_hour = last_hour = end
        totals = RepCallHour.objects.filter(rep_id__in=rep_ids, hour__gte=first_hour, hour__lt=last_hour)
        edges = calls.filter(
            Q(called_at__gte=start, called_at__lt=first_hour) | Q(called_at__gte=last_hour, called_at__lt=end)
        )
    grouped = (
        totals.order_by()
        .values("rep_id")
        .annotate(**summed)
        .union(edges.order_by().values("rep_id").annotate(**counted), all=True)
    )
    counts: dict[int, dict[str, int]] = {}
    for row in grouped:
        rep_totals = counts.setdefault(row["rep_id"], dict.fromkeys(CALL_COUNTS, 0))
        for name in rep_totals:
            rep_totals[name] += row[f"n_{name}"]
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
    """Leads per band now (from the summary), against the newest snapshot taken at least a week ago: 3 queries."""
    compare_to = timezone.localdate() - timedelta(days=7)
    # Over every day of the summary: the bands are "now", whenever the leads came in.
    bands = CohortDay.objects.filter(filters.lead_q()).aggregate(
        **_summed(f"band_{band}" for band in WarmthBand.values)
    )
    now_counts = {band: bands[f"band_{band}"] or 0 for band in WarmthBand.values}
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
        .filter(stale_at(now))
        .select_related("owner")
        .order_by("quiet_since", "pk")
    )


@dataclass(frozen=True)
class StaleList:
    total: int
    leads: list[Lead]


def stale_list(user: Any, filters: DashboardFilters, *, limit: int = STALE_LIST_LIMIT) -> StaleList:
    """The first `limit` stale leads, read live, and how many there are, as of the summary's last rebuild.

    The list reads only its first `limit` leads along the lead_stale_scan index; counting all of them
    (tens of thousands of index rows) is what the summary's `stale` column saves.
    """
    now = timezone.now()
    shown = list(stale_leads(user, filters, now=now)[:limit])
    for lead in shown:
        lead.days_quiet = (now - lead.quiet_since).days  # display only: the filtering was done in SQL
    total = CohortDay.objects.filter(filters.lead_q()).aggregate(n=Sum("stale"))["n"] or 0
    return StaleList(total, shown)
