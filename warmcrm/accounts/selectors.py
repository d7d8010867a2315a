"""Reads of profiles, and the due-follow-up count the nav badge shows."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from leads.models import Lead
from leads.roles import ROLES
from leads.selectors import local_day_bounds, open_follow_ups_visible_to

from .models import Profile


def profile_for(user: Any) -> Profile:
    """The user's profile, created with the defaults on first use (also for users older than profiles)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def time_zone_of(user: Any) -> ZoneInfo:
    return ZoneInfo(str(profile_for(user).time_zone))


def due_follow_up_count(user: Any, *, at_most: int | None = None) -> int:
    """Open follow-ups due today or overdue on the leads this user sees (as the Today queue counts them).

    "Today" is the current time zone's, which the middleware set to the user's own. One query; with
    `at_most`, it stops counting there (a manager's team can have tens of thousands due). A rep's follow-ups by their
    owner column (follow_up_owner_due), as Today's counts: joined to the rep's leads, the badge cost every page 3.5 ms
    of PostgreSQL at 3.3k leads a rep, 1.9 so (docs/benchmarks.md, Load, 2026-12-02 evening).
    """
    _, end = local_day_bounds(timezone.now())
    # Leaving out the few do-not-call leads (a small partial index) beats joining a manager's every lead.
    do_not_call = Lead.objects.filter(do_not_call=True).values("pk")
    due = open_follow_ups_visible_to(user).filter(due_at__lt=end).exclude(lead__in=do_not_call)
    return (due if at_most is None else due.order_by()[:at_most]).count()


def users_with_a_role() -> QuerySet[Any]:
    return get_user_model().objects.filter(is_active=True).filter(groups__name__in=ROLES).distinct()
