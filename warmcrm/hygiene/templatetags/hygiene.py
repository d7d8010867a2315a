"""{% lead_hygiene lead %}: the lead page's duplicate marks and stale-flag snooze (one query for the pairs)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ..forms import SnoozeStaleForm
from ..selectors import can_review, pairs_for_lead

register = template.Library()


@register.inclusion_tag("hygiene/_lead_panel.html", takes_context=True)
def lead_hygiene(context: dict[str, Any], lead: Any) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    reviewer = can_review(user)
    marks = []
    for pair in pairs_for_lead(lead):
        twin = pair.lead_b if pair.lead_a_id == lead.pk else pair.lead_a
        # A rep is told a possible duplicate exists, but not whose lead it is unless it is theirs.
        shown = reviewer or twin.owner_id == user.pk
        marks.append({"pair": pair, "twin": twin if shown else None})
    snoozed = lead.stale_snoozed_until is not None and lead.stale_snoozed_until > timezone.now()
    return {
        "lead": lead,
        "marks": marks,
        "reviewer": reviewer,
        "snoozed": snoozed,
        "snooze_form": SnoozeStaleForm(),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
