"""Lead-page cards: {% lead_duplicates lead %} (one query for the pairs) and {% lead_snooze lead %} (none)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ..forms import SnoozeStaleForm
from ..selectors import can_review, pairs_for_lead

register = template.Library()


@register.inclusion_tag("hygiene/_lead_duplicates.html", takes_context=True)
def lead_duplicates(context: dict[str, Any], lead: Any) -> dict[str, Any]:
    """The "possible duplicate" card, at the top of the lead page's side column."""
    request = context["request"]
    user = request.user
    reviewer = can_review(user)
    marks = []
    for pair in pairs_for_lead(lead):
        twin = pair.lead_b if pair.lead_a_id == lead.pk else pair.lead_a
        # A rep is told a possible duplicate exists, but not whose lead it is unless it is theirs.
        marks.append({"pair": pair, "twin": twin if reviewer or twin.owner_id == user.pk else None})
    return {"lead": lead, "marks": marks, "reviewer": reviewer, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("hygiene/_lead_snooze.html", takes_context=True)
def lead_snooze(context: dict[str, Any], lead: Any) -> dict[str, Any]:
    """The stale-flag snooze card: the rep keeps a lead they believe in off the stale and slipping lists."""
    snoozed = lead.stale_snoozed_until is not None and lead.stale_snoozed_until > timezone.now()
    return {"lead": lead, "snoozed": snoozed, "snooze_form": SnoozeStaleForm(), "csrf_token": context.get("csrf_token")}
