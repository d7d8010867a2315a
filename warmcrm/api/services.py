"""Writes the API owns: API and calendar-feed tokens, and the multi-step lead edits and referrals of the API.

Lead writes still go through leads.services (lead_create, lead_update, lead_set_stage...): this module only
combines them so one API request is one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads import services as lead_services
from leads.models import ConnectionType, Event, Lead
from leads.roles import is_admin, role_of, sees_all_leads
from referrals.models import Referral, ReferralSource

from . import tokens
from .models import ApiToken, CalendarFeedToken

LAST_USED_RESOLUTION = timedelta(minutes=1)  # write "last used" at most once a minute per token


# --- API tokens ------------------------------------------------------------------------------------


def api_token_create(*, user: Any, name: str, kind: str = ApiToken.Kind.PERSONAL) -> tuple[ApiToken, str]:
    """A new token and its raw value, which is returned here once and never stored."""
    errors: dict[str, str] = {}
    if role_of(user) is None:
        errors["__all__"] = "Only members of the sales team can have API tokens."
    if not name.strip():
        errors["name"] = "Name the token after what will use it, e.g. “dialer”."
    if kind not in ApiToken.Kind.values:
        errors["kind"] = "Choose personal or website form."
    elif kind == ApiToken.Kind.INBOUND and not is_admin(user):
        errors["kind"] = "Only admins can create website-form tokens."
    if errors:
        raise ValidationError(errors)
    for _attempt in range(3):
        secret = tokens.new_api_token()
        token = ApiToken(user=user, name=name.strip()[:100], kind=kind, prefix=secret.prefix, key_hash=secret.hashed)
        try:
            with transaction.atomic():
                token.save()
        except IntegrityError:  # two tokens drew the same random prefix: draw again
            continue
        return token, secret.raw
    raise RuntimeError("Could not draw a unique token prefix.")


def api_token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, without a write on every request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- Calendar feed ---------------------------------------------------------------------------------


def calendar_feed_token_create(*, user: Any) -> tuple[CalendarFeedToken, str]:
    """A new private feed secret; the previous URL stops working at once."""
    for _attempt in range(3):
        secret = tokens.new_calendar_secret()
        try:
            with transaction.atomic():
                calendar_feed_token_revoke(user=user)
                return CalendarFeedToken.objects.create(user=user, secret_hash=secret.hashed), secret.raw
        except IntegrityError:  # a double click made one at the same time: the later one replaces it
            continue
    raise RuntimeError("Could not create the calendar feed token.")


def calendar_feed_token_touch(*, feed: CalendarFeedToken, now: Any) -> None:
    """Record the calendar app's fetch (at most once a minute), so the profile shows the feed is in use."""
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_RESOLUTION:
        CalendarFeedToken.objects.filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now


def calendar_feed_token_revoke(*, user: Any) -> int:
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- Leads through the API -------------------------------------------------------------------------


@transaction.atomic
def lead_create_from_api(*, actor: Any, owner: Any | None, **fields: Any) -> Lead:
    """A lead created through the API: the same service as the page, then stage and do-not-call."""
    if (owner.pk if owner else None) != actor.pk and not sees_all_leads(actor):
        raise ValidationError({"owner": "Only managers can give a lead to someone else."})
    stage = fields.pop("stage", None)
    lost_reason = fields.pop("lost_reason", "")
    do_not_call = fields.pop("do_not_call", False)
    lead = lead_services.lead_create(actor=actor, owner=owner, **fields)
    if stage is not None and stage != lead.stage:
        lead_services.lead_set_stage(lead=lead, actor=actor, stage=stage, lost_reason=lost_reason)
    if do_not_call:
        lead_services.lead_set_do_not_call(lead=lead, actor=actor, do_not_call=True)
    return lead


@transaction.atomic
def lead_change_from_api(*, lead: Lead, actor: Any, **changes: Any) -> Lead:
    """Apply a PATCH/PUT: field edits, stage, owner and do-not-call, each through its own service, all or none."""
    stage = changes.pop("stage", None)
    lost_reason = changes.pop("lost_reason", None)
    do_not_call = changes.pop("do_not_call", None)
    owner_given = "owner" in changes
    owner = changes.pop("owner", None)
    if owner_given and (owner.pk if owner else None) != lead.owner_id and not sees_all_leads(actor):
        raise ValidationError({"owner": "Only managers can give a lead to someone else."})
    if changes:
        lead = lead_services.lead_update(lead=lead, actor=actor, **changes)
    if stage is not None or (lost_reason is not None and lead.stage == "lost"):
        lead = lead_services.lead_set_stage(
            lead=lead, actor=actor, stage=stage or lead.stage, lost_reason=lost_reason or ""
        )
    if owner_given:
        lead = lead_services.lead_set_owner(lead=lead, actor=actor, owner=owner)
    if do_not_call is not None:
        lead = lead_services.lead_set_do_not_call(lead=lead, actor=actor, do_not_call=do_not_call)
    return lead


# --- Events ---------------------------------------------------------------------------------------


def event_save(*, event: Event, actor: Any, **fields: Any) -> Event:
    for name, value in fields.items():
        setattr(event, name, value)
    event.full_clean()
    event.save()
    return event


# --- Referrals -------------------------------------------------------------------------------------


def referral_source_create(*, actor: Any, **fields: Any) -> ReferralSource:
    source = ReferralSource(**fields)
    source.full_clean()
    source.save()
    return source


def referral_source_update(*, source: ReferralSource, actor: Any, **fields: Any) -> ReferralSource:
    for name, value in fields.items():
        setattr(source, name, value)
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def referral_record(
    *, actor: Any, source: ReferralSource, lead: Lead, referred_on: Any = None, note: str = ""
) -> Referral:
    """Record who referred a lead; the lead's connection becomes "referral" so its warmth counts the referrer."""
    if Referral.objects.filter(lead=lead).exists():
        raise ValidationError({"lead": "This lead already has a referrer."})
    if source.lead_id == lead.pk:
        raise ValidationError({"source": "A lead cannot refer themselves."})
    referral = Referral(source=source, lead=lead, note=note, created_by=actor)
    if referred_on is not None:
        referral.referred_on = referred_on
    referral.full_clean()
    referral.save()
    if lead.connection_type != ConnectionType.REFERRAL:
        lead_services.lead_update(lead=lead, actor=actor, connection_type=ConnectionType.REFERRAL)
    else:
        lead_services.lead_rescore(lead=lead)
    return referral
