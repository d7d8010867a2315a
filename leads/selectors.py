"""Reads of leads. `leads_visible_to` is the one place that scopes leads to a user: every view uses it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import FollowUp, Lead, Stage
from .roles import role_of, sees_all_leads
from .warmth import Warmth, WarmthInputs, Weights, compute_warmth


def leads_visible_to(user: Any) -> QuerySet[Lead]:
    """Managers and admins see every lead; reps their own; anyone else none."""
    leads = Lead.objects.all()
    if sees_all_leads(user):
        return leads
    if role_of(user) is None:
        return leads.none()
    return leads.filter(owner_id=user.pk)


def lead_get_for(user: Any, lead_id: int) -> Lead:
    """The lead if this user may see it; 404 otherwise (never 403, so ids do not leak). With the rows the lead page
    shows: the referrer this lead is (`as_referrer`, one outer join instead of its own query) and its import's."""
    leads = leads_visible_to(user).select_related(
        "owner", "event", "referral__source", "import_job__created_by", "as_referrer"
    )
    return get_object_or_404(leads, pk=lead_id)


def follow_ups_visible_to(user: Any) -> QuerySet[FollowUp]:
    """Follow-ups on the leads `leads_visible_to` gives this user, scoped by a join on the lead's owner.

    Not `lead__in=leads_visible_to(user)`: for that subquery PostgreSQL probed the lead of every open follow-up
    of the whole team (200k buffers for a rep's Today at 100k leads; docs/benchmarks.md, Load).
    """
    follow_ups = FollowUp.objects.all()
    if sees_all_leads(user):
        return follow_ups
    if role_of(user) is None:
        return follow_ups.none()
    return follow_ups.filter(lead__owner_id=user.pk)


def open_follow_ups_visible_to(user: Any) -> QuerySet[FollowUp]:
    """The open follow-ups of `follow_ups_visible_to`, scoped by their own owner column for a rep.

    An open follow-up's owner is its lead's owner (triggers keep it so whoever writes: leads 0014), so a rep's are
    read from `follow_up_owner_due` instead of joining the team's every open follow-up to the rep's leads: Today's
    counts 7.5-9 -> 3 ms, the "Next" link 15 -> 2 ms at 100k leads (docs/benchmarks.md, Load).
    """
    follow_ups = FollowUp.objects.filter(status=FollowUp.Status.OPEN)
    if sees_all_leads(user):
        return follow_ups
    if role_of(user) is None:
        return follow_ups.none()
    return follow_ups.filter(owner_id=user.pk)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    summary: str
    actor: str
    detail: str = ""


TIMELINE_LIMIT = 200  # of each kind


def lead_recent_follow_ups(lead: Lead) -> list[FollowUp]:
    """The lead's newest follow-ups, as the timeline lists them."""
    return list(lead.follow_ups.select_related("created_by").order_by("-created_at")[:TIMELINE_LIMIT])


def lead_open_follow_up(lead: Lead, *, recent: list[FollowUp]) -> FollowUp | None:
    """The lead's open follow-up (one at most, a constraint): among `recent` (lead_recent_follow_ups) when they are all
    the lead has, so the lead page does not read it again; read otherwise."""
    if len(recent) < TIMELINE_LIMIT:
        return next((follow_up for follow_up in recent if follow_up.status == FollowUp.Status.OPEN), None)
    return lead.follow_ups.filter(status=FollowUp.Status.OPEN).first()


def lead_timeline(lead: Lead, *, follow_ups: list[FollowUp] | None = None) -> list[TimelineItem]:
    """Calls, follow-ups (`follow_ups`, lead_recent_follow_ups, when the caller has them), the referral, recorded
    changes and the creating import, newest first, in five queries at most."""
    items: list[TimelineItem] = []
    for call in lead.calls.select_related("rep").order_by("-called_at")[:TIMELINE_LIMIT]:
        items.append(
            TimelineItem(call.called_at, "call", f"Call: {call.get_outcome_display()}", _name(call.rep), call.notes)
        )
    for follow_up in lead_recent_follow_ups(lead) if follow_ups is None else follow_ups:
        items.append(
            TimelineItem(
                follow_up.created_at,
                "follow_up",
                f"Follow-up ({follow_up.get_reason_display()}) due {follow_up.due_at:%Y-%m-%d %H:%M}, "
                f"{follow_up.get_status_display().lower()}",
                _name(follow_up.created_by) if follow_up.created_by_id else "WarmCRM",
                follow_up.status_note,
            )
        )
    for entry in lead.timeline_entries.select_related("actor")[:TIMELINE_LIMIT]:
        items.append(
            TimelineItem(entry.at, entry.kind, entry.summary, _name(entry.actor) if entry.actor_id else "WarmCRM")
        )
    # The import that created the lead: the lead's own column, not an entry (see Lead.import_job).
    if lead.import_job_id is not None:
        job = lead.import_job  # the lead page selects it with the lead (lead_for_user)
        actor = _name(job.created_by) if job.created_by_id else "WarmCRM"
        items.append(TimelineItem(job.started_at or job.created_at, "imported", job.source_line, actor))
    source = getattr(lead, "as_referrer", None)
    if source is not None:
        # The people this lead referred to us ("ask for a referral" on the lead page).
        for made in source.referrals.select_related("lead", "created_by")[:TIMELINE_LIMIT]:
            summary = f"Referred {made.lead} to us"
            items.append(TimelineItem(made.created_at, "referral", summary, _name(made.created_by), made.note))
    referral = getattr(lead, "referral", None)
    if referral is not None:
        items.append(
            TimelineItem(
                referral.created_at,
                "referral",
                f"Referred by {referral.source}",
                _name(referral.created_by),
                referral.note,
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def _name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def lead_warmth_inputs(lead: Lead) -> WarmthInputs:
    """The plain values the warmth formula reads, from the lead row and its referral (two queries at most)."""
    referrer_name = ""
    converted = made = 0
    referral = getattr(lead, "referral", None) if lead.connection_type == "referral" else None
    if referral is not None:
        source = referral.source
        referrer_name = str(source)
        others = source.referrals.exclude(lead_id=lead.pk).aggregate(
            made=Count("pk"), converted=Count("pk", filter=Q(lead__stage=Stage.WON))
        )
        made, converted = others["made"], others["converted"]
    return WarmthInputs(
        connection_type=lead.connection_type,
        created_at=lead.created_at,
        last_conversation_at=lead.last_conversation_at,
        unanswered_attempts=lead.unanswered_attempts,
        last_appointment_at=lead.last_appointment_at,
        forgot_us_at=lead.forgot_us_at,
        not_interested_at=lead.not_interested_at,
        event_name=lead.event.name if lead.event_id else "",
        referrer_name=referrer_name,
        referrals_converted=converted,
        referrals_made=made,
    )


def lead_warmth(lead: Lead, *, now: datetime | None = None) -> Warmth:
    """The lead's warmth now, with its breakdown, as the pages show it."""
    return compute_warmth(lead_warmth_inputs(lead), now=now or timezone.now(), weights=warmth_weights())


def warmth_weights() -> Weights:
    return Weights.from_settings(settings.WARMTH_WEIGHTS)


# --- The rep's workspace: connection lines, the opener and the Today queue -----------------------

# What the rep reads before dialling, in their own voice ("asked you to call", not "asked us").
CONNECTION_SENTENCES = {
    "event_asked": "Met at {event} - asked you to call",
    "event_list": "On the list from {event}",
    "referral": "Referred by {referrer}",
    "inbound": "Reached out to us",
    "prior_contact": "Got our letter or email first",
    "customer": "Current customer",
    "past_customer": "Past customer",
    "cold": "No connection yet (cold)",
}

OPENER_CONNECTIONS = {
    "event_asked": "We met at {event} and you asked me to give you a call.",
    "event_list": "We were both at {event}, and I wanted to follow up.",
    "referral": "{referrer_name} suggested I give you a call.",
    "inbound": "You got in touch with us, so I'm calling you back.",
    "prior_contact": "I sent you a note recently and said I would follow up by phone.",
    "customer": "You work with us already, and I wanted to check in.",
    "past_customer": "You worked with us before, and I wanted to catch up.",
    "cold": "We haven't spoken before, so I'll be brief.",
}


def lead_connection_line(lead: Lead) -> str:
    """'Met at Expo - asked you to call', 'Referred by Ana Costa of Acme': why this call is warm.

    Reads lead.event and lead.referral.source, so list selectors select_related them.
    """
    template = CONNECTION_SENTENCES.get(lead.connection_type, CONNECTION_SENTENCES["cold"])
    referrer = "a referrer"
    referral = getattr(lead, "referral", None)
    if referral is not None:
        source = referral.source
        referrer = f"{source.name} of {source.organisation}" if source.organisation else source.name
    event = lead.event.name if lead.event_id and lead.event else "an event"
    return template.format(event=event, referrer=referrer)


def lead_opener(lead: Lead, *, caller_name: str) -> str:
    """The first two sentences of the call: who is calling, then the connection."""
    greeting = f"Hi {lead.first_name or lead.full_name}, this is {caller_name}." if lead.full_name else ""
    referral = getattr(lead, "referral", None)
    referrer_name = referral.source.name if referral is not None else "A friend of yours"
    event = lead.event.name if lead.event_id and lead.event else "the event"
    template = OPENER_CONNECTIONS.get(lead.connection_type, OPENER_CONNECTIONS["cold"])
    return f"{greeting} {template.format(event=event, referrer_name=referrer_name)}".strip()


def local_day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow in the team's time zone (settings.TIME_ZONE)."""
    start = datetime.combine(timezone.localdate(now), time.min, tzinfo=timezone.get_current_timezone())
    return start, datetime.combine(start.date() + timedelta(days=1), time.min, tzinfo=start.tzinfo)


LEAD_ROW_RELATED = ("owner", "event", "referral__source")


def open_follow_up_due(outer_ref: str = "pk") -> Subquery:
    """The due time of the lead's open follow-up (at most one, by constraint), as a subquery."""
    return Subquery(
        FollowUp.objects.filter(lead_id=OuterRef(outer_ref), status=FollowUp.Status.OPEN).values("due_at")[:1]
    )


def leads_callable_now(leads: QuerySet[Lead], *, now: datetime) -> QuerySet[Lead]:
    """Leads a rep may call today on their own initiative.

    Not do-not-call, not won or lost, no attempt within the contact-frequency cap, not inside the
    not-interested cool-off (unless a later conversation warmed them), and no open follow-up: a
    scheduled follow-up already says when to call them.
    """
    cap = now - timedelta(days=settings.CONTACT_FREQUENCY_CAP_DAYS)
    cool_off = now - timedelta(days=settings.NOT_INTERESTED_COOL_OFF_DAYS)
    open_follow_up = FollowUp.objects.filter(lead_id=OuterRef("pk"), status=FollowUp.Status.OPEN)
    return (
        leads.filter(do_not_call=False)
        .exclude(stage__in=(Stage.WON, Stage.LOST))
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=cap))
        .filter(
            Q(not_interested_at__isnull=True)
            | Q(not_interested_at__lte=cool_off)
            | Q(last_conversation_at__gt=F("not_interested_at"))
        )
        .filter(~Exists(open_follow_up))
    )


@dataclass(frozen=True)
class QueueRow:
    """One line of the Today queue: the lead, and the follow-up that put it there (if any)."""

    lead: Lead
    follow_up: FollowUp | None
    section: str  # "overdue", "due" or "warm"
    connection: str


@dataclass(frozen=True)
class TodayCounts:
    """Today's badges: overdue and due follow-ups, and the calls done today (what a call-log POST refreshes)."""

    overdue_count: int
    due_count: int
    done_today: int


@dataclass(frozen=True)
class TodayQueue:
    overdue: list[QueueRow]
    due: list[QueueRow]
    warmest: list[QueueRow]
    overdue_count: int
    due_count: int
    done_today: int

    @property
    def rows(self) -> list[QueueRow]:
        return [*self.overdue, *self.due, *self.warmest]

    @property
    def follow_ups_not_shown(self) -> int:
        return self.overdue_count + self.due_count - len(self.overdue) - len(self.due)


def _due_follow_ups(user: Any, *, end: datetime) -> QuerySet[FollowUp]:
    return open_follow_ups_visible_to(user).filter(due_at__lt=end, lead__do_not_call=False)


def today_counts(user: Any, *, now: datetime | None = None) -> TodayCounts:
    """Today's counts without its lists, in one statement: the user's open follow-ups due by tonight (a rep's by their
    owner column, follow_up_owner_due), the do-not-call leads' left out, and the calls today on the user's leads (a
    rep's by the calls' lead owner, call_lead_owner_time). One lead has one open follow-up at most (a constraint), so
    follow-ups count leads. Written as SQL: the ORM's two queries cost a call-log POST 5 ms of Python, this 0.6
    (docs/benchmarks.md, Load, 2026-12-02 evening)."""
    now = now or timezone.now()
    if role_of(user) is None:
        return TodayCounts(overdue_count=0, due_count=0, done_today=0)
    from calls.models import Call  # leads imports calls only inside functions (apps depend one way)

    start, end = (connection.ops.adapt_datetimefield_value(moment) for moment in local_day_bounds(now))
    rep = not sees_all_leads(user)
    follow_ups, calls, leads = (connection.ops.quote_name(model._meta.db_table) for model in (FollowUp, Call, Lead))
    rep_follow_ups, rep_calls = (
        (f' AND {follow_ups}."owner_id" = %s', f" AND {calls}.lead_owner_id = %s") if rep else ("", "")
    )
    sql = (
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {follow_ups}.due_at < %s), "  # nosec B608 # no user input
        f"(SELECT COUNT(*) FROM {calls} WHERE {calls}.called_at >= %s AND {calls}.called_at < %s{rep_calls}) "
        f"FROM {follow_ups} WHERE {follow_ups}.status = %s AND {follow_ups}.due_at < %s{rep_follow_ups} "
        # The few do-not-call leads from their partial index, as the due badge leaves them out: no join to the leads.
        f"AND {follow_ups}.lead_id NOT IN (SELECT {leads}.id FROM {leads} WHERE {leads}.do_not_call)"
    )
    user_id = [user.pk] if rep else []
    params = [start, start, end, *user_id, FollowUp.Status.OPEN.value, end, *user_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        due, overdue, done_today = cursor.fetchone()
    return TodayCounts(overdue_count=overdue, due_count=due - overdue, done_today=done_today)


def _due_follow_ups_in_order(user: Any, *, now: datetime) -> QuerySet[FollowUp]:
    """The open follow-ups due by tonight in Today's order."""
    start, end = local_day_bounds(now)
    # Overdue first; then what a prospect asked for (a call-back, an inbound request); then the warmest.
    priority = Case(
        When(due_at__lt=start, then=Value(0)),
        When(reason__in=(FollowUp.Reason.CALL_BACK, FollowUp.Reason.INBOUND), then=Value(1)),
        default=Value(2),
    )
    # One key for "priority, then warmest" (warmth is 0-100): with the priority alone first, PostgreSQL could
    # presort the team's follow-ups by it and probe each one's lead, 190k buffers against 6.6k (Load benchmark).
    rank = ExpressionWrapper(priority * 1000 - F("lead__warmth"), output_field=IntegerField())
    return _due_follow_ups(user, end=end).order_by(rank, "due_at", "id")


def _today_lists(
    user: Any, *, now: datetime, follow_up_limit: int, warm_limit: int
) -> tuple[list[QueueRow], list[QueueRow], list[QueueRow]]:
    """Overdue, due and warmest rows, in two queries."""
    start, _ = local_day_bounds(now)
    follow_ups = list(
        _due_follow_ups_in_order(user, now=now).select_related(*(f"lead__{name}" for name in LEAD_ROW_RELATED))[
            :follow_up_limit
        ]
    )
    warmest = list(
        leads_callable_now(leads_visible_to(user), now=now)
        .select_related(*LEAD_ROW_RELATED)
        .order_by("-warmth", "id")[:warm_limit]
    )

    def row(lead: Lead, follow_up: FollowUp | None, section: str) -> QueueRow:
        return QueueRow(lead=lead, follow_up=follow_up, section=section, connection=lead_connection_line(lead))

    return (
        [row(f.lead, f, "overdue") for f in follow_ups if f.due_at < start],
        [row(f.lead, f, "due") for f in follow_ups if f.due_at >= start],
        [row(lead, None, "warm") for lead in warmest],
    )


def today_queue(
    user: Any, *, now: datetime | None = None, follow_up_limit: int = 100, warm_limit: int = 25
) -> TodayQueue:
    """The call list for today, in three queries whatever the data size.

    Overdue follow-ups (due before today, local time) come first, then those due today, then the
    warmest leads `leads_callable_now` allows. Counts are of everything, the lists are capped.
    """
    now = now or timezone.now()
    counts = today_counts(user, now=now)
    overdue, due, warmest = _today_lists(user, now=now, follow_up_limit=follow_up_limit, warm_limit=warm_limit)
    return TodayQueue(overdue=overdue, due=due, warmest=warmest, **asdict(counts))


def today_next_lead(user: Any, *, after: Lead, now: datetime | None = None) -> Lead | None:
    """The first lead of Today's queue other than `after` (the lead page's "Next" link), in one query (three when no
    follow-up is due: that one, the warmest callable leads' ids, then the lead).

    The lead whose follow-up comes first, found by a subquery that sorts the due follow-ups by their lead's warmth on
    narrow rows: not Today's 125 rows with their related rows (that cost a call-log POST from the lead page more than
    its own writes), not 100 ids and then the lead (a query more), and not the follow-ups with their whole leads
    sorted (2-3 ms more of PostgreSQL for the 1.6k wide rows; docs/benchmarks.md, Load, 2026-12-02 evening).
    """
    now = now or timezone.now()
    first_due = _due_follow_ups_in_order(user, now=now).exclude(lead_id=after.pk).values("lead_id")[:1]
    lead = Lead.objects.filter(pk=Subquery(first_due)).first()
    if lead is not None:
        return lead
    warmest = leads_callable_now(leads_visible_to(user), now=now).exclude(pk=after.pk).order_by("-warmth", "id")
    lead_ids = list(warmest.values_list("pk", flat=True)[:25])
    return Lead.objects.filter(pk=lead_ids[0]).first() if lead_ids else None


def lead_queue_row(lead: Lead, *, follow_up: FollowUp | None, now: datetime | None = None) -> QueueRow:
    """The Today row of one lead after something happened to it (a call was logged), with its open follow-up
    (`follow_up`, None if it has none: calls.services.call_log's `open_follow_up`, known without a query)."""
    now = now or timezone.now()
    start, end = local_day_bounds(now)
    if follow_up is None or follow_up.due_at >= end:
        section = "warm"
    else:
        section = "overdue" if follow_up.due_at < start else "due"
    return QueueRow(lead=lead, follow_up=follow_up, section=section, connection=lead_connection_line(lead))


def past_stale_threshold(now: datetime, *, multiple: int = 1) -> Q:
    """No conversation (or, never reached, no arrival) within `multiple` x its band's STALE_AFTER_DAYS.

    The one definition of "stale" that the periodic job, the leads list, the dashboard and escalation share.
    """
    past = Q()
    for band, days in settings.STALE_AFTER_DAYS.items():
        cutoff = now - timedelta(days=days * multiple)
        past |= Q(warmth_band=band) & (
            Q(last_conversation_at__lte=cutoff) | Q(last_conversation_at__isnull=True, created_at__lte=cutoff)
        )
    return past


def stale_condition(now: datetime) -> Q:
    """Past its band's staleness threshold without a conversation, and not snoozed (for list filters)."""
    not_snoozed = Q(stale_snoozed_until__isnull=True) | Q(stale_snoozed_until__lte=now)
    return past_stale_threshold(now) & not_snoozed & ~Q(stage__in=(Stage.WON, Stage.LOST))


def leads_for_list(user: Any) -> QuerySet[Lead]:
    """The leads list's base query: visible leads with what each row shows, and the next follow-up."""
    return leads_visible_to(user).select_related(*LEAD_ROW_RELATED).annotate(next_follow_up_at=open_follow_up_due())
