"""Reads of leads. `leads_visible_to` is the one place that scopes leads to a user: every view uses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
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
    """The lead if this user may see it; 404 otherwise (never 403, so ids do not leak)."""
    return get_object_or_404(leads_visible_to(user).select_related("owner", "event", "referral__source"), pk=lead_id)


def follow_ups_visible_to(user: Any) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(lead__in=leads_visible_to(user))


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    summary: str
    actor: str
    detail: str = ""


def lead_timeline(lead: Lead) -> list[TimelineItem]:
    """Calls, follow-ups, the referral and recorded changes, newest first, in four queries."""
    items: list[TimelineItem] = []
    for call in lead.calls.select_related("rep").order_by("-called_at")[:200]:
        items.append(
            TimelineItem(call.called_at, "call", f"Call: {call.get_outcome_display()}", _name(call.rep), call.notes)
        )
    for follow_up in lead.follow_ups.select_related("created_by").order_by("-created_at")[:200]:
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
    for entry in lead.timeline_entries.select_related("actor")[:200]:
        items.append(
            TimelineItem(entry.at, entry.kind, entry.summary, _name(entry.actor) if entry.actor_id else "WarmCRM")
        )
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
