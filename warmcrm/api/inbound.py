"""Inbound requests from website forms: dedupe against existing leads, merge or create, round-robin, follow-up.

Dedupe follows the import rules: the normalised email identifies a person first; without an email
match, the E.164 phone does. A match is merged: blank fields are filled, nothing is overwritten, and the
timeline records what was filled. (The importer may later offer a shared dedupe function; this one
is `lead_find_duplicate` below so the two can be unified.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from leads import services as lead_services
from leads.contact import InvalidPhone, normalize_email, normalize_phone
from leads.models import ConnectionType, FollowUp, Lead, TimelineEntry
from leads.roles import ADMIN, MANAGER, REP

from .models import ApiToken, InboundRequest

# The contact fields a form may send; a merge also fills blank research notes with the form's message,
# as the importer fills blank fields (leads/import_services.py FILL_FIELDS).
MERGE_FIELDS = ("first_name", "last_name", "title", "company", "email", "phone")
FILL_FIELDS = (*MERGE_FIELDS, "research_notes")


@dataclass(frozen=True)
class InboundResult:
    lead: Lead
    created: bool
    filled_fields: tuple[str, ...]
    follow_up: FollowUp | None
    inbound_request: InboundRequest


def lead_find_duplicate(*, email: str, phone_e164: str) -> Lead | None:
    """The existing lead this contact is: same normalised email first, else same E.164 phone; the first made wins
    (the importer's rule, leads/import_services.py)."""
    if email:
        match = Lead.objects.filter(email=email).order_by("pk").first()
        if match is not None:
            return match
    if phone_e164:
        return Lead.objects.filter(phone_e164=phone_e164).order_by("pk").first()
    return None


def inbound_next_rep() -> Any | None:
    """The active rep whose last inbound assignment is oldest (never assigned first, by id): a strict rotation.

    Call it inside `inbound_lead_receive`, which holds the inbound lock, so two requests arriving together
    take turns instead of both picking the same rep.
    """
    users = get_user_model().objects
    rep_ids = list(
        users.filter(is_active=True, is_superuser=False, groups__name=REP)
        .exclude(groups__name__in=[MANAGER, ADMIN])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not rep_ids:
        return None
    last_assigned = dict(
        InboundRequest.objects.filter(assigned_to_id__in=rep_ids)
        .values("assigned_to_id")
        .annotate(last=Max("pk"))  # ids only grow, so the latest request has the highest
        .values_list("assigned_to_id", "last")
    )
    never = [pk for pk in rep_ids if pk not in last_assigned]
    chosen = never[0] if never else min(rep_ids, key=lambda pk: (last_assigned[pk], pk))
    return users.get(pk=chosen)


# Any constant: the key of the PostgreSQL advisory lock that inbound requests take in turn.
INBOUND_LOCK_KEY = 7_240_001


def _inbound_lock() -> None:
    """Serialise inbound requests until the transaction ends: dedupe and round-robin then see each other's rows.

    Two submissions of the same new person at once must make one lead, not two, and the rotation must not hand
    two leads to the same rep. Inbound traffic is small, so one queue costs nothing. SQLite's IMMEDIATE
    transactions already serialise writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INBOUND_LOCK_KEY])


def _validate(fields: dict[str, Any]) -> tuple[str, str]:
    """Normalised (email, phone E.164); raises ValidationError with every problem at once."""
    errors: dict[str, str] = {}
    email = normalize_email(fields.get("email", ""))
    phone_e164 = ""
    try:
        phone_e164 = normalize_phone(fields.get("phone", ""), region=settings.PHONE_DEFAULT_REGION)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
    if not email and not fields.get("phone", "").strip():
        errors["email"] = "Give an email address or a phone number, so we can reach them."
    if not (fields.get("first_name", "").strip() or fields.get("last_name", "").strip()):
        errors["first_name"] = "Give a first or last name."
    if errors:
        raise ValidationError(errors)
    return email, phone_e164


@transaction.atomic
def inbound_lead_receive(
    *, actor: Any, token: ApiToken | None, message: str = "", page: str = "", **fields: Any
) -> InboundResult:
    """Create or merge the lead of a website-form submission, assign it and schedule a call within the hour."""
    fields = {name: (fields.get(name) or "").strip() for name in MERGE_FIELDS}
    email, phone_e164 = _validate(fields)
    fields["email"] = email
    now = timezone.now()
    message = message.strip()
    payload = {**fields, "message": message, "page": page.strip()}
    _inbound_lock()

    notes = f"Website form{f' ({page.strip()})' if page.strip() else ''}: {message}" if message else ""
    existing = lead_find_duplicate(email=email, phone_e164=phone_e164)
    if existing is None:
        rep = inbound_next_rep()
        lead = lead_services.lead_create(
            actor=actor,
            owner=rep,
            connection_type=ConnectionType.INBOUND,
            research_notes=notes,
            **{name: value for name, value in fields.items() if value},
        )
        filled: tuple[str, ...] = ()
        created = True
    else:
        lead = Lead.objects.select_for_update().get(pk=existing.pk)
        lead, filled = _merge(lead=lead, actor=actor, fields={**fields, "research_notes": notes}, message=message)
        rep = None
        if lead.owner_id is None:
            rep = inbound_next_rep()
            if rep is not None:
                lead = lead_services.lead_set_owner(lead=lead, actor=actor, owner=rep)
        created = False

    follow_up = lead_services.follow_up_schedule(
        lead=lead,
        due_at=now + timedelta(minutes=settings.INBOUND_FOLLOW_UP_MINUTES),
        reason=FollowUp.Reason.INBOUND,
        created_by=None,
        # They asked to be contacted now: that beats a stale reminder, a retry or a manual note.
        replace_reasons=(FollowUp.Reason.STALE, FollowUp.Reason.RETRY, FollowUp.Reason.MANUAL),
    )
    request = InboundRequest.objects.create(
        received_at=now, token=token, lead=lead, created_lead=created, assigned_to=rep, payload=payload
    )
    return InboundResult(lead, created, filled, follow_up, request)


def _merge(*, lead: Lead, actor: Any, fields: dict[str, str], message: str) -> tuple[Lead, tuple[str, ...]]:
    """Fill the lead's blank fields from the form; never overwrite. Records the merge on the timeline."""
    filled = tuple(name for name in FILL_FIELDS if fields[name] and not getattr(lead, name).strip())
    if filled:
        lead = lead_services.lead_update(lead=lead, actor=actor, **{name: fields[name] for name in filled})
    summary = "Inbound request from the website form merged into this lead"
    summary += f"; filled {', '.join(filled)}" if filled else "; nothing new to fill"
    if message:
        summary += f": “{message}”"
    TimelineEntry.objects.create(
        lead=lead,
        kind=TimelineEntry.Kind.MERGED,
        actor=actor,
        summary=summary[:300],
        data={"source": "inbound", "filled": list(filled), "message": message, "sent": fields},
    )
    return lead, filled
