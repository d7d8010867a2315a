"""Reads for pipeline hygiene: slipping (escalated) leads, duplicate pairs, lost reasons by connection.

Escalation is computed, not stored: a lead is slipping while its condition holds, and stops the moment
a call, a new follow-up or a snooze changes it, with no flag to keep in step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import ConnectionType, FollowUp, Lead, Stage
from leads.roles import ADMIN, MANAGER, role_of
from leads.selectors import past_stale_threshold

from .models import DuplicatePair, LostReason


def can_review(user: Any) -> bool:
    """Managers and admins review duplicates and see slipping leads; reps do not."""
    return role_of(user) in (MANAGER, ADMIN)


DEFAULT_LOST_REASONS = (
    "No budget",
    "Chose a competitor",
    "Went with a competitor",
    "Bad timing",
    "No need",
    "Not interested",
    "Not the decision maker",
    "Could not reach",
    "Already a customer",
    "Other",
)


def active_lost_reasons() -> list[str]:
    """The reasons a rep may pick, in the admins' order. One query.

    An empty table (a database flushed after the seeding migration ran) gets the defaults back, so
    moving a lead to lost is never impossible; admins retire a reason by unticking "active".
    """
    reasons = list(LostReason.objects.values_list("name", "active"))
    if not reasons:
        LostReason.objects.bulk_create(
            [LostReason(name=name, order=10 * position) for position, name in enumerate(DEFAULT_LOST_REASONS, 1)],
            ignore_conflicts=True,
        )
        return list(DEFAULT_LOST_REASONS)
    return [name for name, active in reasons if active]


# --- Escalation --------------------------------------------------------------------------------------


def escalation_condition(now: datetime) -> Q:
    """Overdue follow-up by more than N days, or stale for more than M x the band's threshold; not snoozed."""
    overdue_cutoff = now - timedelta(days=settings.HYGIENE_ESCALATE_OVERDUE_DAYS)
    overdue = Exists(
        FollowUp.objects.filter(lead_id=OuterRef("pk"), status=FollowUp.Status.OPEN, due_at__lt=overdue_cutoff)
    )
    long_stale = past_stale_threshold(now, multiple=settings.HYGIENE_ESCALATE_STALE_MULTIPLE)
    not_snoozed = Q(stale_snoozed_until__isnull=True) | Q(stale_snoozed_until__lte=now)
    return (Q(overdue) | long_stale) & not_snoozed & Q(do_not_call=False) & ~Q(stage__in=(Stage.WON, Stage.LOST))


def escalation_scope(user: Any) -> QuerySet[Lead]:
    """The leads whose slipping this user hears about.

    Managers of one or more teams: the leads owned by those teams' members. Managers without a team
    and admins: every lead. Anyone else: none.
    """
    role = role_of(user)
    if role == ADMIN:
        return Lead.objects.all()
    if role != MANAGER:
        return Lead.objects.none()
    from warmcrm.dashboard.models import Team

    teams = Team.objects.filter(managers=user)
    if not teams.exists():
        return Lead.objects.all()
    from django.contrib.auth import get_user_model

    return Lead.objects.filter(owner__in=get_user_model().objects.filter(teams__in=teams))


def slipping_leads(leads: QuerySet[Lead], *, now: datetime) -> QuerySet[Lead]:
    """Escalated leads, oldest problem first, with the overdue due time and a reason to show. One query."""
    overdue_cutoff = now - timedelta(days=settings.HYGIENE_ESCALATE_OVERDUE_DAYS)
    open_due = Subquery(
        FollowUp.objects.filter(lead_id=OuterRef("pk"), status=FollowUp.Status.OPEN).values("due_at")[:1]
    )
    return (
        leads.filter(escalation_condition(now))
        .select_related("owner", "event")
        .annotate(
            open_follow_up_due=open_due,
            quiet_since=Coalesce("last_conversation_at", "created_at"),
            slipping_kind=Case(
                When(
                    Exists(
                        FollowUp.objects.filter(
                            lead_id=OuterRef("pk"), status=FollowUp.Status.OPEN, due_at__lt=overdue_cutoff
                        )
                    ),
                    then=Value("overdue"),
                ),
                default=Value("stale"),
            ),
        )
        .order_by("quiet_since", "id")
    )


def slipping_leads_for(user: Any, *, now: datetime | None = None) -> QuerySet[Lead]:
    leads = slipping_leads(escalation_scope(user), now=now or timezone.now())
    return SlippingQuerySet(leads)


class SlippingQuerySet:
    """Wraps the queryset so each row read gets a reason in words (slicing and count stay in the database)."""

    def __init__(self, queryset: QuerySet[Lead]) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, key: slice) -> list[Lead]:
        rows = list(self.queryset[key])
        for lead in rows:
            lead.slipping_reason = slipping_reason(lead)
        return rows


def slipping_reason(lead: Lead) -> str:
    if lead.slipping_kind == "overdue" and lead.open_follow_up_due:
        return f"follow-up overdue since {timezone.localtime(lead.open_follow_up_due):%Y-%m-%d}"
    return f"no conversation since {timezone.localtime(lead.quiet_since):%Y-%m-%d}"


# --- Duplicates --------------------------------------------------------------------------------------


def open_pairs() -> QuerySet[DuplicatePair]:
    return (
        DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN, lead_a__isnull=False, lead_b__isnull=False)
        .select_related("lead_a__owner", "lead_b__owner")
        .order_by("-score", "id")
    )


def pairs_for_lead(lead: Lead) -> list[DuplicatePair]:
    """The lead page's card: its open pairs with both leads, not their owners (the card compares an owner's id): the
    two users' joins cost every lead page 2.5 ms of Python, and PostgreSQL plans two joins fewer (docs/benchmarks.md,
    Load, 2026-12-02 evening)."""
    pairs = open_pairs().select_related(None).select_related("lead_a", "lead_b")
    return list(pairs.filter(Q(lead_a=lead) | Q(lead_b=lead))[:10])


# --- Lost reasons ------------------------------------------------------------------------------------


def lost_reasons_by_connection(leads: QuerySet[Lead]) -> dict[str, Any]:
    """A table: one row per lost reason, one column per connection type, counted in the database."""
    counts = (
        leads.filter(stage=Stage.LOST).order_by().values("lost_reason", "connection_type").annotate(count=Count("pk"))
    )
    order = {name: position for position, name in enumerate(LostReason.objects.values_list("name", flat=True))}
    table: dict[str, dict[str, int]] = {}
    for row in counts:
        reason = row["lost_reason"] or "(no reason given)"
        table.setdefault(reason, {})[row["connection_type"]] = row["count"]
    connections = [choice for choice in ConnectionType if any(choice.value in row for row in table.values())]
    rows = [
        {
            "reason": reason,
            "cells": [by_connection.get(choice.value, 0) for choice in connections],
            "total": sum(by_connection.values()),
        }
        for reason, by_connection in sorted(table.items(), key=lambda item: (order.get(item[0], 10_000), item[0]))
    ]
    totals = [sum(row["cells"][index] for row in rows) for index in range(len(connections))]
    return {"connections": connections, "rows": rows, "totals": totals, "total": sum(totals)}
