"""Writes to referrals: asking a lead for a referral turns the lead into a referrer and adds the referred lead."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from leads.models import ConnectionType, Lead, Stage
from leads.services import lead_create, lead_rescore

from .models import Referral, ReferralSource

CUSTOMER_CONNECTIONS = (ConnectionType.CUSTOMER, ConnectionType.PAST_CUSTOMER)


def referral_source_for_lead(*, lead: Lead) -> ReferralSource:
    """The referrer record of this lead, created from its contact details the first time it refers someone."""
    source = ReferralSource.objects.filter(lead=lead).first()
    if source is not None:
        return source
    is_customer = lead.connection_type in CUSTOMER_CONNECTIONS or lead.stage == Stage.WON
    source = ReferralSource(
        # First and last name may together be a character past the referrer's name column (100 + 1 + 100).
        name=(lead.full_name or str(lead))[: ReferralSource._meta.get_field("name").max_length],
        organisation=lead.company,
        email=lead.email,
        phone=lead.phone,
        lead=lead,
        kind=ReferralSource.Kind.CUSTOMER if is_customer else ReferralSource.Kind.PROSPECT,
    )
    try:
        source.full_clean()
    except ValidationError as error:
        # The lead's own details are wrong (say an old, invalid phone): say whose record to fix.
        raise ValidationError(f"{lead}'s own contact details need fixing first: {' '.join(error.messages)}") from error
    source.save()
    return source


@transaction.atomic
def referral_ask(*, referrer: Lead, actor: Any, note: str = "", **lead_fields: Any) -> Referral:
    """The person `referrer` refers becomes a lead of the same owner, linked to `referrer` as its referrer.

    All or nothing: a bad name or phone for the new person leaves no referrer record behind either.
    """
    source = referral_source_for_lead(lead=referrer)
    lead = lead_create(actor=actor, owner=referrer.owner, connection_type=ConnectionType.REFERRAL, **lead_fields)
    referral = Referral(source=source, lead=lead, note=note.strip(), created_by=actor)
    referral.full_clean()
    referral.save()
    lead_rescore(lead=Lead.objects.select_related("event", "referral__source").get(pk=lead.pk))  # now with referrer
    return referral
