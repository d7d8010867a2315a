"""Writes to leads: create, update, stage and owner changes. Each records itself on the timeline."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone

from .models import ConnectionType, FollowUp, Lead, Stage, TimelineEntry
from .roles import ADMIN, ROLES
from .selectors import lead_warmth, past_stale_threshold, warmth_weights
from .warmth_db import (
    band_expression,
    referrer_conversions_expression,
    refresh_referrer_conversions,
    score_expression,
)

CLOSED_STAGES = (Stage.WON, Stage.LOST)
STAGE_FIELDS = ("stage", "lost_reason")
SNOOZE_FURTHEST = timedelta(days=5 * 365)

EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "email",
    "phone",
    "connection_type",
    "event",
    "research_notes",
)


@transaction.atomic
def lead_create(*, actor: Any | None, owner: Any | None, **fields: Any) -> Lead:
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"stage", "do_not_call", "created_at"}
    if unknown:
        raise TypeError(f"lead_create() got unexpected fields: {sorted(unknown)}")
    lead = Lead(owner=owner, **fields)
    lead.full_clean()
    lead.save()
    TimelineEntry.objects.create(lead=lead, kind=TimelineEntry.Kind.CREATED, actor=actor, summary="Lead created")
    return lead_rescore(lead=lead)


def lead_update(*, lead: Lead, actor: Any | None, **fields: Any) -> Lead:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"lead_update() got unexpected fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(lead, name, value)
    lead.full_clean()
    lead.save()
    return lead_rescore(lead=lead)  # the connection or event may have changed


def _check_lost_reason_listed(reason: str) -> None:
    """A lead is lost for one of the reasons admins keep in warmcrm.hygiene, so the lost-reasons report adds up."""
    from warmcrm.hygiene.selectors import active_lost_reasons  # leads depends on no other app at load time

    listed = active_lost_reasons()
    if reason not in listed:
        raise ValidationError({"lost_reason": "Pick one of the listed reasons: " + ", ".join(listed) + "."})


def lead_set_stage(*, lead: Lead, actor: Any | None, stage: str, lost_reason: str = "") -> Lead:
    previous = lead.stage
    if previous == stage and stage != Stage.LOST:
        return lead
    lead.stage = stage
    lead.lost_reason = lost_reason.strip() if stage == Stage.LOST else ""
    if lead.lost_reason:
        _check_lost_reason_listed(lead.lost_reason)
    # What this writes, not the whole lead: the other fields are not saved here, and their checks (the owner's and
    # event's rows, the warmth constraint, the phone's parse) cost five queries on every call that moves the stage.
    lead.clean_fields(exclude=[field.name for field in Lead._meta.fields if field.name not in STAGE_FIELDS])
    lead.clean_stage()
    summary = f"Stage: {Stage(previous).label} → {Stage(stage).label}"
    if stage == Stage.LOST:
        summary += f" ({lead.lost_reason})"
    # Validated above, outside it: the writes are all or none, and inside call_log's transaction they join it (a
    # savepoint would cost two queries on every call that moves the stage, and nothing catches a failed write there).
    with transaction.atomic(savepoint=False):
        lead.save(update_fields=[*STAGE_FIELDS, "updated_at"])
        TimelineEntry.objects.create(
            lead=lead,
            kind=TimelineEntry.Kind.STAGE_CHANGED,
            actor=actor,
            summary=summary[:300],
            data={"from": previous, "to": stage},
        )
        if stage in CLOSED_STAGES:
            follow_ups_close_open(lead=lead, status=FollowUp.Status.SKIPPED, note=f"Lead {Stage(stage).label.lower()}")
    referral = getattr(lead, "referral", None) if Stage.WON in (previous, stage) else None  # a query if not loaded
    if referral is not None:
        # The referrer's conversion count changed, so their other referrals score differently.
        from warmcrm.celery import enqueue_safely

        from .tasks import referrer_rescore  # tasks import services; import here to avoid the cycle

        enqueue_safely(referrer_rescore, referral.source_id)  # if lost, referrers_rescore_out_of_date catches up
    return lead


@transaction.atomic
def lead_set_owner(*, lead: Lead, actor: Any | None, owner: Any | None) -> Lead:
    if lead.owner_id == (owner.pk if owner else None):
        return lead
    lead.owner = owner
    lead.save(update_fields=["owner", "updated_at"])
    lead.follow_ups.filter(status="open").update(owner=owner)
    TimelineEntry.objects.create(
        lead=lead,
        kind=TimelineEntry.Kind.OWNER_CHANGED,
        actor=actor,
        summary=f"Owner: {owner.get_username() if owner else 'nobody'}",
    )
    return lead


@transaction.atomic
def leads_reassign(*, lead_ids: list[int], owner: Any, actor: Any | None) -> int:
    """Give the leads (and their open follow-ups) to `owner`: two UPDATEs and one bulk insert.

    Callers pass ids already scoped with leads_visible_to. Returns how many leads changed owner.
    """
    moving = Lead.objects.filter(pk__in=lead_ids).exclude(owner_id=owner.pk)
    moved = list(moving.values_list("pk", flat=True))
    if not moved:
        return 0
    now = timezone.now()
    Lead.objects.filter(pk__in=moved).update(owner=owner, updated_at=now)
    FollowUp.objects.filter(lead_id__in=moved, status=FollowUp.Status.OPEN).update(owner=owner)
    summary = f"Owner: {owner.get_username()}"
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(lead_id=pk, kind=TimelineEntry.Kind.OWNER_CHANGED, actor=actor, at=now, summary=summary)
            for pk in moved
        ],
        batch_size=1000,
    )
    return len(moved)


@transaction.atomic
def lead_set_do_not_call(*, lead: Lead, actor: Any | None, do_not_call: bool) -> Lead:
    if lead.do_not_call == do_not_call:
        return lead
    lead.do_not_call = do_not_call
    lead.save(update_fields=["do_not_call", "updated_at"])
    if do_not_call:
        # A do-not-call lead is never called, so nothing stays scheduled for it.
        lead.follow_ups.filter(status="open").update(
            status="skipped", status_note="Lead marked do-not-call", closed_at=timezone.now()
        )
    TimelineEntry.objects.create(
        lead=lead,
        kind=TimelineEntry.Kind.DO_NOT_CALL,
        actor=actor,
        summary="Marked do-not-call" if do_not_call else "Do-not-call removed",
    )
    return lead


# --- Follow-ups ------------------------------------------------------------------------------------


def follow_up_schedule(
    *, lead: Lead, due_at: datetime, reason: str, created_by: Any | None = None, replace_reasons: tuple[str, ...] = ()
) -> FollowUp | None:
    """Create the lead's open follow-up, or move the open one to `due_at`.

    An open follow-up of another reason is only replaced when its reason is in `replace_reasons`
    (a no-answer retry must not move a call-back the prospect asked for). Do-not-call and closed
    leads are never scheduled. Returns the open follow-up, or None when nothing was scheduled.
    """
    if lead.do_not_call or lead.stage in CLOSED_STAGES:
        return None
    with transaction.atomic(savepoint=False):  # inside call_log's transaction a savepoint would only cost two queries
        current = FollowUp.objects.select_for_update().filter(lead=lead, status=FollowUp.Status.OPEN).first()
        if current is not None:
            if current.reason != reason and current.reason not in replace_reasons:
                return current
            current.due_at, current.reason, current.owner_id = due_at, reason, lead.owner_id
            current.save(update_fields=["due_at", "reason", "owner"])
            return current
        follow_up = FollowUp(lead=lead, owner_id=lead.owner_id, due_at=due_at, reason=reason, created_by=created_by)
        # Not the foreign keys: the lead, its owner and the creator are rows in hand, not ids from a form.
        follow_up.full_clean(exclude=["lead", "owner", "created_by"], validate_constraints=False)
        try:
            with transaction.atomic():
                follow_up.save()
        except IntegrityError:
            # Another worker opened one between our read and write: the constraint kept it single.
            return FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN).first()
        return follow_up


def follow_ups_close_open(*, lead: Lead, status: str, note: str = "", due_before: datetime | None = None) -> int:
    """Close the lead's open follow-up (only if due before `due_before`, when given)."""
    open_follow_ups = FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN)
    if due_before is not None:
        open_follow_ups = open_follow_ups.filter(due_at__lte=due_before)
    return open_follow_ups.update(status=status, status_note=note[:200], closed_at=timezone.now())


def follow_up_complete(*, follow_up: FollowUp, actor: Any | None, note: str = "") -> FollowUp:
    follow_up.status, follow_up.status_note, follow_up.closed_at = FollowUp.Status.DONE, note[:200], timezone.now()
    follow_up.save(update_fields=["status", "status_note", "closed_at"])
    return follow_up


def follow_up_snooze(*, follow_up: FollowUp, actor: Any | None, until: datetime, reason: str) -> FollowUp:
    if follow_up.status != FollowUp.Status.OPEN:
        raise ValidationError("Only an open follow-up can be snoozed.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why you are snoozing it."})
    if until <= timezone.now():
        raise ValidationError({"until": "Snooze until a time in the future."})
    if until > timezone.now() + SNOOZE_FURTHEST:  # year 9999 overflowed the calendar feed's end time
        raise ValidationError({"until": "Snooze until a time within the next 5 years."})
    follow_up.due_at, follow_up.status_note = until, reason.strip()[:200]
    follow_up.snoozed_count += 1
    follow_up.save(update_fields=["due_at", "status_note", "snoozed_count"])
    return follow_up


@transaction.atomic
def lead_snooze_stale(*, lead: Lead, actor: Any | None, until: datetime, reason: str) -> Lead:
    """The rep still believes in this lead: no stale follow-up (or escalation) before `until`."""
    errors = {}
    if not reason.strip():
        errors["reason"] = "Say why this lead can wait."
    if until <= timezone.now():
        errors["until"] = "Snooze until a date in the future."
    if errors:
        raise ValidationError(errors)
    lead.stale_snoozed_until, lead.stale_snooze_reason = until, reason.strip()[:200]
    lead.save(update_fields=["stale_snoozed_until", "stale_snooze_reason", "updated_at"])
    FollowUp.objects.filter(lead=lead, status=FollowUp.Status.OPEN, reason=FollowUp.Reason.STALE).update(
        status=FollowUp.Status.SKIPPED, status_note=f"Snoozed: {reason.strip()}"[:200], closed_at=timezone.now()
    )
    TimelineEntry.objects.create(
        lead=lead,
        kind=TimelineEntry.Kind.SNOOZED,
        actor=actor,
        summary=f"Stale flag snoozed until {until:%Y-%m-%d}: {reason.strip()}"[:300],
    )
    return lead


# --- Warmth ----------------------------------------------------------------------------------------


def lead_rescore(*, lead: Lead, now: datetime | None = None, also_saving: Iterable[str] = ()) -> Lead:
    """Recompute one lead's warmth with the pure formula and store it (with `also_saving`, set by the caller)."""
    now = now or timezone.now()
    warmth = lead_warmth(lead, now=now)
    lead.warmth, lead.warmth_band, lead.warmth_computed_at = warmth.score, warmth.band, now
    lead.save(update_fields=[*also_saving, "warmth", "warmth_band", "warmth_computed_at", "updated_at"])
    return lead


@dataclass
class RecomputeReport:
    leads_scored: int = 0
    band_changes: int = 0
    follow_ups_created: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def add(self, other: RecomputeReport) -> None:
        self.leads_scored += other.leads_scored
        self.band_changes += other.band_changes
        self.follow_ups_created += other.follow_ups_created
        self.chunks += other.chunks

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@transaction.atomic
def warmth_recompute(*, leads: QuerySet[Lead], now: datetime) -> tuple[int, int]:
    """Score `leads` in two UPDATE statements; returns (leads scored, band changes)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")  # compiling this CASE-heavy UPDATE costs more than it saves
    weights = warmth_weights()
    refresh_referrer_conversions(leads=leads.filter(connection_type=ConnectionType.REFERRAL))
    scored = leads.update(warmth=score_expression(weights, now), warmth_computed_at=now)
    band = band_expression(weights)
    changed = leads.exclude(warmth_band=band).update(warmth_band=band)
    return scored, changed


def referrers_rescore_out_of_date(*, now: datetime) -> int:
    """Rescore the leads of every referrer whose stored conversion count is behind (its rescore was lost)."""
    from referrals.models import ReferralSource  # leads never imports referrals at module level

    behind = ReferralSource.objects.alias(counted=referrer_conversions_expression()).exclude(
        referrals_converted=F("counted")
    )
    source_ids = list(behind.values_list("pk", flat=True))  # read first: the rescore brings them up to date
    if not source_ids:
        return 0
    scored, _ = warmth_recompute(leads=Lead.objects.filter(referral__source_id__in=source_ids), now=now)
    return scored


def stale_leads(*, leads: QuerySet[Lead], now: datetime) -> QuerySet[Lead]:
    """Leads past their band's staleness threshold that may get a stale follow-up now."""
    cap = now - timedelta(days=settings.CONTACT_FREQUENCY_CAP_DAYS)
    cool_off = now - timedelta(days=settings.NOT_INTERESTED_COOL_OFF_DAYS)
    return (
        leads.filter(past_stale_threshold(now), do_not_call=False, owner__isnull=False)
        .exclude(stage__in=CLOSED_STAGES)
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=cap))
        .filter(
            Q(not_interested_at__isnull=True)
            | Q(not_interested_at__lte=cool_off)
            | Q(last_conversation_at__gt=F("not_interested_at"))
        )
        .filter(Q(stale_snoozed_until__isnull=True) | Q(stale_snoozed_until__lte=now))
        .exclude(follow_ups__status=FollowUp.Status.OPEN)
    )


def follow_ups_schedule_stale(*, leads: QuerySet[Lead], now: datetime) -> int:
    """One stale follow-up per eligible lead, due now. Safe to run twice or in parallel."""
    eligible = list(stale_leads(leads=leads, now=now).order_by().values_list("pk", "owner_id"))
    if not eligible:
        return 0
    FollowUp.objects.bulk_create(
        [
            FollowUp(lead_id=lead_id, owner_id=owner_id, due_at=now, reason=FollowUp.Reason.STALE, created_at=now)
            for lead_id, owner_id in eligible
        ],
        batch_size=2000,
        ignore_conflicts=True,  # the one-open-per-lead constraint wins any race with another worker
    )
    return FollowUp.objects.filter(
        lead__in=leads, reason=FollowUp.Reason.STALE, status=FollowUp.Status.OPEN, created_at=now
    ).count()


def warmth_recompute_chunk(*, first_id: int, last_id: int, now: datetime | None = None) -> RecomputeReport:
    """Score leads with first_id <= id <= last_id and schedule their stale follow-ups."""
    now = now or timezone.now()
    leads = Lead.objects.filter(pk__gte=first_id, pk__lte=last_id)
    scored, changed = warmth_recompute(leads=leads, now=now)
    created = follow_ups_schedule_stale(leads=leads, now=now)
    return RecomputeReport(leads_scored=scored, band_changes=changed, follow_ups_created=created, chunks=1)


def warmth_chunks(*, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Split the lead id range into (first_id, last_id) chunks that workers can take in parallel."""
    size = chunk_size or settings.WARMTH_CHUNK_SIZE
    bounds = Lead.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    return [(start, min(start + size - 1, bounds["high"])) for start in range(bounds["low"], bounds["high"] + 1, size)]


def warmth_recompute_all(*, now: datetime | None = None, chunk_size: int | None = None) -> RecomputeReport:
    """The periodic job in one process: every chunk in turn (the Celery task fans them out instead)."""
    started = time.monotonic()
    now = now or timezone.now()
    report = RecomputeReport()
    for first_id, last_id in warmth_chunks(chunk_size=chunk_size):
        report.add(warmth_recompute_chunk(first_id=first_id, last_id=last_id, now=now))
    report.seconds = round(time.monotonic() - started, 3)
    return report


# --- Users -----------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *, username: str, password: str, role: str, first_name: str = "", last_name: str = "", email: str = ""
) -> Any:
    """A user in one role group. Admins are staff so the Django admin lets them in."""
    if role not in ROLES:
        raise ValidationError({"role": f"Role must be one of {', '.join(ROLES)}."})
    user = get_user_model()(username=username, first_name=first_name, last_name=last_name, email=email)
    user.is_staff = role == ADMIN
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user
