"""Reads of referral sources: their referrals and how many converted, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from leads.models import Stage
from leads.selectors import leads_visible_to

from .models import Referral, ReferralSource


def referral_sources_with_counts(user: Any, *, search: str = "") -> QuerySet[ReferralSource]:
    """Every referrer (reps see them all) with referrals made, converted (won), and how many are the user's."""
    sources = ReferralSource.objects.select_related("lead").annotate(
        referral_count=Count("referrals", distinct=True),
        converted_count=Count("referrals", filter=Q(referrals__lead__stage=Stage.WON), distinct=True),
        visible_count=Count("referrals", filter=Q(referrals__lead__in=leads_visible_to(user)), distinct=True),
    )
    text = search.strip()
    if text:
        sources = sources.filter(Q(name__icontains=text) | Q(organisation__icontains=text))
    return sources.order_by("-converted_count", "-referral_count", "name", "id")


def referral_source_get(user: Any, source_id: int) -> ReferralSource:
    return get_object_or_404(referral_sources_with_counts(user), pk=source_id)


def referrals_visible_to(user: Any, *, source: ReferralSource) -> QuerySet[Referral]:
    """The source's referrals whose lead the user may see (a rep: only the leads they own)."""
    return (
        source.referrals.filter(lead__in=leads_visible_to(user))
        .select_related("lead", "lead__owner", "created_by")
        .order_by("-referred_on", "-id")
    )
