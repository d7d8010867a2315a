"""Reads the API owns: a user's tokens, the token behind a calendar URL, and what goes into the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, Lead
from leads.selectors import follow_ups_visible_to, lead_connection_line, leads_visible_to

from . import tokens
from .models import ApiToken, CalendarFeedToken


def api_tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id")


def calendar_feed_token_active(user: Any) -> CalendarFeedToken | None:
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()


def calendar_feed_token_find(secret: str) -> CalendarFeedToken | None:
    """The active feed token for a secret from a URL, with its user; None when unknown or revoked."""
    return (
        CalendarFeedToken.objects.select_related("user")
        .filter(secret_hash=tokens.hash_secret(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


@dataclass(frozen=True)
class CalendarItem:
    uid: str
    starts_at: datetime
    minutes: int
    summary: str
    description: str
    lead_id: int


def _lead_text(lead: Lead) -> str:
    lines = [
        f"Lead: {lead}" + (f", {lead.company}" if lead.company else ""),
        f"Phone: {lead.phone or 'none on file'}",
        f"Connection: {lead_connection_line(lead)}",
    ]
    if lead.do_not_call:
        lines.append("Marked DO NOT CALL")
    return "\n".join(lines)


def calendar_items_for(user: Any, *, now: datetime | None = None) -> list[CalendarItem]:
    """The user's open follow-ups and future appointments, in three queries whatever their number."""
    now = now or timezone.now()
    lead_joins = ("lead__event", "lead__referral__source")
    follow_ups = (
        follow_ups_visible_to(user)
        .filter(owner=user, status=FollowUp.Status.OPEN)
        .select_related(*lead_joins)
        .order_by("due_at", "id")
    )
    items = [
        CalendarItem(
            uid=f"follow-up-{follow_up.pk}@warmcrm",
            starts_at=follow_up.due_at,
            minutes=15,
            summary=f"Call {follow_up.lead} ({follow_up.get_reason_display().lower()})",
            description=_lead_text(follow_up.lead)
            + (f"\nNote: {follow_up.status_note}" if follow_up.status_note else ""),
            lead_id=follow_up.lead_id,
        )
        for follow_up in follow_ups[:2000]
    ]
    appointments = (
        Call.objects.filter(lead__in=leads_visible_to(user), appointment_at__gt=now)
        .filter(Q(rep=user) | Q(lead__owner=user))
        .select_related(*lead_joins)
        .order_by("lead_id", "-called_at", "-id")
    )
    seen: set[int] = set()
    for call in appointments[:2000]:
        if call.lead_id in seen:
            continue  # a rescheduled appointment: the latest call that set one is the one that stands
        seen.add(call.lead_id)
        items.append(
            CalendarItem(
                uid=f"appointment-{call.pk}@warmcrm",
                starts_at=call.appointment_at,
                minutes=30,
                summary=f"Appointment: {call.lead}",
                description=_lead_text(call.lead) + (f"\nCall notes: {call.notes}" if call.notes else ""),
                lead_id=call.lead_id,
            )
        )
    items.sort(key=lambda item: item.starts_at)
    return items
