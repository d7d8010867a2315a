"""Writes for pipeline hygiene: finding duplicate pairs, deciding on them, and merging two leads.

lead_merge is one transaction: every step (fields, calls, follow-ups, referrals, timeline, import
records, inbound requests, the other lead's deletion, the rescore) commits together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, ImportRecord, Lead, Stage, TimelineEntry
from leads.services import lead_rescore
from referrals.models import Referral, ReferralSource

from . import matching
from .models import DuplicatePair

logger = logging.getLogger(__name__)

# What the merge page lets the user pick, field by field, in page order.
MERGE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "email",
    "phone",
    "connection_type",
    "event",
    "owner",
    "stage",
    "research_notes",
)
# Call history: the merged lead has had every conversation either had, so the latest of each counts.
LATEST_OF = ("last_conversation_at", "last_attempt_at", "last_appointment_at", "forgot_us_at", "not_interested_at")
# And it takes over both leads' calls, so its first call (conversation, appointment) is the earlier one.
EARLIEST_OF = ("first_call_at", "first_conversation_at", "first_appointment_set_at")


@dataclass
class FindReport:
    exact: int = 0
    fuzzy: int = 0
    created: int = 0


# --- Finding duplicates ------------------------------------------------------------------------------


def _groups(values_field: str, expression: Any) -> list[list[int]]:
    """Ids of leads sharing a non-empty value: the GROUP BY runs in SQL, then one read of the members."""
    duplicated = (
        Lead.objects.exclude(**{values_field: ""})
        .annotate(key=expression)
        .order_by()
        .values("key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values("key")
    )
    members = (
        Lead.objects.annotate(key=expression).filter(key__in=duplicated).order_by("key", "pk").values_list("key", "pk")
    )
    groups: dict[str, list[int]] = {}
    for key, pk in members:
        groups.setdefault(key, []).append(pk)
    return list(groups.values())


def duplicates_find(*, threshold: int | None = None) -> FindReport:
    """Propose pairs by same email, same E.164 phone, or a fuzzy name + company match.

    Existing pairs are left alone (ignore_conflicts on the unique pair), so a pair someone marked
    "not a duplicate" is never proposed again; open pairs found again get their reasons refreshed.
    """
    threshold = threshold if threshold is not None else settings.HYGIENE_FUZZY_THRESHOLD
    reasons: dict[tuple[int, int], set[str]] = {}
    scores: dict[tuple[int, int], int] = {}
    for pair in matching.exact_pairs(_groups("email", Lower("email"))):
        reasons.setdefault(pair, set()).add(DuplicatePair.Reason.EMAIL)
    for pair in matching.exact_pairs(_groups("phone_e164", F("phone_e164"))):
        reasons.setdefault(pair, set()).add(DuplicatePair.Reason.PHONE)
    exact = len(reasons)
    candidates = (
        matching.Candidate(pk, first, last, company)
        for pk, first, last, company in Lead.objects.order_by("pk")
        .values_list("pk", "first_name", "last_name", "company")
        .iterator(chunk_size=5000)
    )
    fuzzy = matching.fuzzy_pairs(candidates, threshold=threshold)
    for pair, score in fuzzy.items():
        reasons.setdefault(pair, set()).add(DuplicatePair.Reason.NAME)
        scores[pair] = score
    before = DuplicatePair.objects.count()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                lead_a_id=a,
                lead_b_id=b,
                reasons=sorted(found),
                score=100 if found - {DuplicatePair.Reason.NAME} else scores.get((a, b), 0),
            )
            for (a, b), found in sorted(reasons.items())
        ],
        batch_size=1000,
        ignore_conflicts=True,  # the unique (lead_a, lead_b) keeps decided pairs decided
    )
    return FindReport(exact=exact, fuzzy=len(fuzzy), created=DuplicatePair.objects.count() - before)


def pair_mark_not_duplicate(*, pair: DuplicatePair, actor: Any) -> DuplicatePair:
    if pair.status != DuplicatePair.Status.OPEN:
        raise ValidationError("This pair has already been decided.")
    pair.status, pair.decided_by, pair.decided_at = DuplicatePair.Status.NOT_DUPLICATE, actor, timezone.now()
    pair.summary = f"{pair.lead_a} / {pair.lead_b}"[:300]
    pair.save(update_fields=["status", "decided_by", "decided_at", "summary"])
    return pair


# --- Merging -----------------------------------------------------------------------------------------


def merge_differences(survivor: Lead, other: Lead) -> list[str]:
    """The fields the user must choose between (those that differ)."""
    return [name for name in MERGE_FIELDS if _value(survivor, name) != _value(other, name)]


def _value(lead: Lead, name: str) -> Any:
    field = Lead._meta.get_field(name)
    return getattr(lead, field.attname)


@transaction.atomic
def lead_merge(
    *,
    survivor: Lead,
    other: Lead,
    actor: Any,
    take_from_other: set[str] | frozenset[str] = frozenset(),
    pair: DuplicatePair | None = None,
    now: datetime | None = None,
) -> Lead:
    """Merge `other` into `survivor` and delete `other`. Fields in `take_from_other` get the other lead's value.

    The survivor takes over calls, follow-ups (at most one stays open: the earliest due), the referral
    that brought the lead (if only the other has one; if both do, the survivor's is kept and the other's
    deleted), its identity as a referrer (if both are referrers, the other's referrals move to the
    survivor's referrer record), timeline entries, import records and inbound requests.
    """
    now = now or timezone.now()
    if survivor.pk == other.pk:
        raise ValidationError("A lead cannot be merged into itself.")
    unknown = set(take_from_other) - set(MERGE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be merged: {', '.join(sorted(unknown))}.")
    # Lock both rows (in id order, so two merges of the same pair cannot deadlock) and read them fresh.
    locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=[survivor.pk, other.pk])}
    if len(locked) != 2:
        raise ValidationError("One of the two leads no longer exists; it may have been merged already.")
    survivor, other = locked[survivor.pk], locked[other.pk]
    other_label = f"{other} (lead {other.pk})"

    _merge_fields(survivor, other, take_from_other)
    moved_calls = Call.objects.filter(lead=other).update(lead=survivor)
    _merge_follow_ups(survivor, other, now)
    _merge_referrals(survivor, other)
    TimelineEntry.objects.filter(lead=other).update(lead=survivor)
    _merge_import_records(survivor, other)
    _merge_inbound_requests(survivor, other)

    other_pk = other.pk
    # Other pairs of the removed lead would point at nothing; the nightly job re-finds any that still apply.
    other_pairs = DuplicatePair.objects.filter(Q(lead_a_id=other_pk) | Q(lead_b_id=other_pk))
    if pair is not None:
        other_pairs = other_pairs.exclude(pk=pair.pk)
    other_pairs.delete()
    other.delete()
    if pair is not None:
        DuplicatePair.objects.filter(pk=pair.pk).update(
            status=DuplicatePair.Status.MERGED,
            decided_by=actor,
            decided_at=now,
            summary=f"Merged {other_label} into {survivor} (lead {survivor.pk})"[:300],
        )
    TimelineEntry.objects.create(
        lead=survivor,
        kind=TimelineEntry.Kind.MERGED,
        actor=actor,
        at=now,
        summary=f"Merged {other_label} into this lead"[:300],
        data={"merged_lead_id": other_pk, "fields_taken": sorted(take_from_other), "calls_moved": moved_calls},
    )
    return lead_rescore(lead=survivor, now=now)


def _merge_fields(survivor: Lead, other: Lead, take_from_other: set[str] | frozenset[str]) -> None:
    for name in take_from_other:
        field = Lead._meta.get_field(name)
        setattr(survivor, field.attname, getattr(other, field.attname))
    if "stage" in take_from_other:
        survivor.lost_reason = other.lost_reason
    if survivor.stage != Stage.LOST:
        survivor.lost_reason = ""
    for names, pick in ((LATEST_OF, max), (EARLIEST_OF, min)):
        for name in names:
            values = [value for value in (getattr(survivor, name), getattr(other, name)) if value is not None]
            setattr(survivor, name, pick(values) if values else None)
    # Unanswered attempts count since the last conversation: the lead with the latest attempt knows best.
    never = datetime.min.replace(tzinfo=UTC)
    if (other.last_attempt_at or never) > (survivor.last_attempt_at or never):
        survivor.unanswered_attempts = other.unanswered_attempts
    survivor.created_at = min(survivor.created_at, other.created_at)  # known since the earlier of the two
    survivor.do_not_call = survivor.do_not_call or other.do_not_call  # a do-not-call wish survives any merge
    if other.stale_snoozed_until and other.stale_snoozed_until > (survivor.stale_snoozed_until or never):
        survivor.stale_snoozed_until = other.stale_snoozed_until
        survivor.stale_snooze_reason = other.stale_snooze_reason
    notes = other.research_notes.strip()
    if "research_notes" not in take_from_other and notes and notes not in survivor.research_notes:
        # Notes are never lost: the other lead's are appended unless the user chose them outright.
        survivor.research_notes = f"{survivor.research_notes}\n\n{notes}".strip()
    # The other lead still holds the email/phone until it is deleted, which is fine: no unique index on them.
    survivor.full_clean(exclude=["owner", "event"])
    survivor.save()


def _merge_follow_ups(survivor: Lead, other: Lead, now: datetime) -> None:
    """At most one open follow-up may stay (a database constraint): keep the earliest due, close the other."""
    open_ones = list(
        FollowUp.objects.select_for_update()
        .filter(lead_id__in=[survivor.pk, other.pk], status=FollowUp.Status.OPEN)
        .order_by("due_at", "id")
    )
    if survivor.do_not_call or survivor.stage in (Stage.WON, Stage.LOST):
        keep = None
    else:
        keep = open_ones[0] if open_ones else None
    closing = [follow_up.pk for follow_up in open_ones if keep is None or follow_up.pk != keep.pk]
    if closing:
        FollowUp.objects.filter(pk__in=closing).update(
            status=FollowUp.Status.SKIPPED, status_note="Closed by a merge", closed_at=now
        )
    FollowUp.objects.filter(lead=other).update(lead=survivor)
    if keep is not None:
        FollowUp.objects.filter(pk=keep.pk).update(owner_id=survivor.owner_id)


def _merge_referrals(survivor: Lead, other: Lead) -> None:
    # The referral that brought the lead in (Referral.lead is one-to-one).
    survivor_referral = Referral.objects.filter(lead=survivor).first()
    other_referral = Referral.objects.filter(lead=other).first()
    if other_referral is not None:
        if survivor_referral is None:
            Referral.objects.filter(pk=other_referral.pk).update(lead=survivor)
        else:
            TimelineEntry.objects.create(
                lead=survivor,
                kind=TimelineEntry.Kind.MERGED,
                summary=f"Also referred by {other_referral.source} (kept {survivor_referral.source})"[:300],
            )
            other_referral.delete()
    # The lead as a referrer (ReferralSource.lead is one-to-one).
    survivor_source = ReferralSource.objects.filter(lead=survivor).first()
    other_source = ReferralSource.objects.filter(lead=other).first()
    if other_source is not None:
        if survivor_source is None:
            ReferralSource.objects.filter(pk=other_source.pk).update(lead=survivor)
        else:
            Referral.objects.filter(source=other_source).update(source=survivor_source)
            other_source.delete()


def _merge_import_records(survivor: Lead, other: Lead) -> None:
    """The imports that reached the other lead reached the survivor. The survivor keeps the import that created
    it (its own `import_job`); the one that created the other lead becomes a record of the survivor, so undoing
    that import never removes the survivor. One record per (import, lead): the survivor's own wins."""
    survivor_jobs = ImportRecord.objects.filter(lead=survivor).values("job_id")
    duplicates = ImportRecord.objects.filter(lead=other, job_id__in=survivor_jobs)
    if survivor.import_job_id is not None:
        duplicates |= ImportRecord.objects.filter(lead=other, job_id=survivor.import_job_id)
    duplicates.delete()
    ImportRecord.objects.filter(lead=other).update(lead=survivor)
    job_id = other.import_job_id
    if job_id is not None and job_id != survivor.import_job_id:
        ImportRecord.objects.get_or_create(job_id=job_id, lead=survivor, defaults={"row_number": other.import_row or 0})


def _merge_inbound_requests(survivor: Lead, other: Lead) -> None:
    from django.apps import apps

    if apps.is_installed("warmcrm.api"):
        apps.get_model("api", "InboundRequest").objects.filter(lead=other).update(lead=survivor)
