"""The morning digest: what it says (a selector per user) and who gets it when (the claim-then-send service).

A digest is claimed by a conditional UPDATE of Profile.last_digest_on inside the transaction that sends
it: a second worker's UPDATE waits for the row, then matches nothing, so one local day gets one email.
If sending fails, the transaction rolls back and the next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, Lead
from leads.roles import MANAGER, ROLES, role_of
from leads.selectors import LEAD_ROW_RELATED, lead_connection_line, leads_callable_now, local_day_bounds

from .models import Profile

logger = logging.getLogger(__name__)

DIGEST_LIST_LIMIT = 20
DIGEST_WARMEST = 5


@dataclass
class Digest:
    user: Any
    local_date: date
    overdue: list[FollowUp] = field(default_factory=list)
    due_today: list[FollowUp] = field(default_factory=list)
    appointments: list[Call] = field(default_factory=list)
    warmest: list[Lead] = field(default_factory=list)
    slipping: list[Any] = field(default_factory=list)
    slipping_count: int = 0
    overdue_count: int = 0
    due_count: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.overdue or self.due_today or self.appointments or self.warmest or self.slipping)


def absolute_url(path: str) -> str:
    return urljoin(settings.SITE_URL.rstrip("/") + "/", path.lstrip("/"))


def digest_for(user: Any, *, now: datetime) -> Digest:
    """The user's digest in the current time zone (callers wrap this in timezone.override(profile zone)).

    Follow-ups and warm leads are the user's own leads (a manager's digest does not list every rep's
    calls); managers also get the leads slipping in their teams.
    """
    start, end = local_day_bounds(now)
    own = Lead.objects.filter(owner=user)
    open_due = FollowUp.objects.filter(
        lead__owner=user, status=FollowUp.Status.OPEN, due_at__lt=end, lead__do_not_call=False
    ).select_related(*(f"lead__{name}" for name in LEAD_ROW_RELATED))
    overdue = list(open_due.filter(due_at__lt=start).order_by("due_at", "id")[: DIGEST_LIST_LIMIT + 1])
    due_today = list(open_due.filter(due_at__gte=start).order_by("due_at", "id")[: DIGEST_LIST_LIMIT + 1])
    appointments = list(
        Call.objects.filter(lead__owner=user, appointment_at__gte=start, appointment_at__lt=end)
        .select_related("lead")
        .order_by("appointment_at")[:DIGEST_LIST_LIMIT]
    )
    warmest = list(
        leads_callable_now(own, now=now).select_related(*LEAD_ROW_RELATED).order_by("-warmth", "id")[:DIGEST_WARMEST]
    )
    for lead in warmest:
        lead.connection = lead_connection_line(lead)
    for follow_up in (*overdue, *due_today):
        follow_up.lead.connection = lead_connection_line(follow_up.lead)
    digest = Digest(
        user=user,
        local_date=start.date(),
        overdue=overdue[:DIGEST_LIST_LIMIT],
        due_today=due_today[:DIGEST_LIST_LIMIT],
        appointments=appointments,
        warmest=warmest,
        overdue_count=open_due.filter(due_at__lt=start).count(),
        due_count=open_due.filter(due_at__gte=start).count(),
    )
    if role_of(user) == MANAGER:
        from warmcrm.hygiene.selectors import slipping_leads_for  # hygiene reads accounts' zone, not the reverse

        slipping = slipping_leads_for(user, now=now)
        digest.slipping = list(slipping[:DIGEST_LIST_LIMIT])
        digest.slipping_count = slipping.count()
    return digest


def digest_message(digest: Digest) -> EmailMultiAlternatives:
    context = {
        "digest": digest,
        "name": digest.user.first_name or digest.user.get_username(),
        "today_url": absolute_url(reverse("leads:today")),
        "profile_url": absolute_url(reverse("accounts:profile")),
        "slipping_url": absolute_url(reverse("hygiene:slipping")),
    }
    leads = [f.lead for f in (*digest.overdue, *digest.due_today)] + [c.lead for c in digest.appointments]
    for lead in [*leads, *digest.warmest, *digest.slipping]:
        lead.link = absolute_url(reverse("leads:detail", args=[lead.pk]))
    subject = f"Your calls for {digest.local_date:%A %-d %B}"
    if digest.overdue_count:
        subject += f": {digest.overdue_count} overdue"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("accounts/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.user.email],
    )
    message.attach_alternative(render_to_string("accounts/digest.html", context), "text/html")
    return message


def profiles_ensure() -> None:
    """Create the missing profiles of users with a role (older users, users made in the admin): one INSERT."""
    from django.contrib.auth import get_user_model

    missing = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=ROLES, profile__isnull=True)
        .values_list("pk", flat=True)
        .distinct()
    )
    Profile.objects.bulk_create([Profile(user_id=pk) for pk in missing], ignore_conflicts=True)


def local_now(profile: Profile, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(str(profile.time_zone)))


def digest_is_due(profile: Profile, now: datetime) -> bool:
    """Past the digest hour on a working day, and not sent yet for this local date."""
    local = local_now(profile, now)
    return (
        not profile.digest_opt_out
        and local.weekday() in (profile.working_days or [])
        and local.hour >= profile.digest_hour
        and profile.last_digest_on != local.date()
    )


def digest_send(*, profile: Profile, now: datetime) -> bool:
    """Claim today's digest for this profile and send it, in one transaction. True when an email went out.

    An empty digest (nothing due, no leads to call) is claimed without an email: nothing to say today.
    """
    local_date = local_now(profile, now).date()
    with transaction.atomic():
        claimed = (
            Profile.objects.filter(pk=profile.pk, digest_opt_out=False)
            .filter(Q(last_digest_on__isnull=True) | ~Q(last_digest_on=local_date))
            .update(last_digest_on=local_date)
        )
        if not claimed:
            return False
        with timezone.override(ZoneInfo(str(profile.time_zone))):
            digest = digest_for(profile.user, now=now)
            if digest.is_empty or not profile.user.email:
                return False
            digest_message(digest).send()
    return True


def digests_send_due(*, now: datetime | None = None) -> int:
    """The beat job: every user whose local digest hour has passed today gets one digest. Returns emails sent."""
    now = now or timezone.now()
    profiles_ensure()
    candidates = (
        Profile.objects.filter(digest_opt_out=False, user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name__in=ROLES))  # only the sales team
        .distinct()
        .select_related("user")
    )
    sent = 0
    for profile in candidates:
        if not digest_is_due(profile, now):
            continue
        try:
            sent += digest_send(profile=profile, now=now)
        except Exception:  # one broken address must not stop everyone else's digest
            logger.exception("Morning digest for user %s failed; it is retried on the next run", profile.user_id)
    return sent
