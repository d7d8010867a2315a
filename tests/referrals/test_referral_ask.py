"""Asking a lead for a referral: the lead becomes a referrer and the person it refers a new lead."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from leads.models import ConnectionType, Lead, Stage, TimelineEntry
from leads.selectors import lead_timeline, lead_warmth
from referrals.models import Referral, ReferralSource
from referrals.services import referral_ask
from tests.factories import LeadFactory, ReferralSourceFactory

pytestmark = pytest.mark.django_db


def test_the_lead_becomes_a_referrer_and_the_new_lead_is_linked(rep, lead):
    referral = referral_ask(
        referrer=lead, actor=rep, note="Runs ops at Globex", first_name="Bo", last_name="Lund", phone="415 555 0199"
    )
    source = ReferralSource.objects.get(lead=lead)
    assert source.name == lead.full_name and source.organisation == lead.company
    assert source.kind == ReferralSource.Kind.PROSPECT
    new = referral.lead
    assert (
        referral.source_id == source.pk and referral.created_by_id == rep.pk and referral.note == "Runs ops at Globex"
    )
    assert (new.owner_id, new.connection_type, new.phone_e164) == (rep.pk, ConnectionType.REFERRAL, "+14155550199")
    assert new.timeline_entries.filter(kind=TimelineEntry.Kind.CREATED).exists()
    # Both timelines tell the story.
    assert any(item.summary == f"Referred by {source}" for item in lead_timeline(new))
    assert any(item.summary == "Referred Bo Lund to us" for item in lead_timeline(lead))
    # The new lead is scored as a referral from a named referrer.
    scored = Lead.objects.select_related("referral__source").get(pk=new.pk)
    assert scored.warmth_computed_at is not None
    assert lead_warmth(scored).components[0].label.startswith(f"Referred by {source}")


def test_customers_become_customer_referrers(rep):
    customer = LeadFactory(owner=rep, connection_type=ConnectionType.CUSTOMER)
    referral_ask(referrer=customer, actor=rep, first_name="Bo")
    won = LeadFactory(owner=rep, stage=Stage.WON)
    referral_ask(referrer=won, actor=rep, first_name="Cy")
    assert set(ReferralSource.objects.values_list("kind", flat=True)) == {ReferralSource.Kind.CUSTOMER}


def test_a_second_referral_reuses_the_referrer(rep, lead):
    referral_ask(referrer=lead, actor=rep, first_name="Bo")
    referral_ask(referrer=lead, actor=rep, first_name="Cy")
    assert ReferralSource.objects.count() == 1 and Referral.objects.count() == 2


def test_an_existing_referrer_record_for_the_lead_is_used(rep, lead):
    existing = ReferralSourceFactory(lead=lead, name="Ana (imported)")
    referral = referral_ask(referrer=lead, actor=rep, first_name="Bo")
    assert referral.source_id == existing.pk


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"first_name": "", "last_name": ""}, "first_name", "Give the lead a first or last name."),
        ({"first_name": "Bo", "phone": "12"}, "phone", "is not a valid phone number"),
        ({"first_name": "Bo", "email": "bo@"}, "email", "Enter a valid email address."),
    ],
)
def test_bad_input_explains_and_writes_nothing(rep, lead, fields, field, message):
    with pytest.raises(ValidationError) as caught:
        referral_ask(referrer=lead, actor=rep, **fields)
    assert message in " ".join(caught.value.message_dict[field])
    assert not ReferralSource.objects.exists() and not Referral.objects.exists()
    assert Lead.objects.count() == 1


def test_a_referrer_with_broken_details_says_whose_record_to_fix(rep):
    broken = LeadFactory(owner=rep, first_name="Ana", last_name="Old", phone="12")
    with pytest.raises(ValidationError) as caught:
        referral_ask(referrer=broken, actor=rep, first_name="Bo")
    assert "Ana Old's own contact details need fixing first" in caught.value.messages[0]
    assert Lead.objects.count() == 1


# --- The view on the lead page ----------------------------------------------------------------------


def test_lead_page_form_adds_the_referral_in_place(rep_client, lead):
    response = rep_client.post(
        f"/referrals/ask/{lead.pk}/",
        {"first_name": "Bo", "last_name": "Lund", "phone": "(415) 555-0199"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    new = Lead.objects.get(first_name="Bo")
    assert response["HX-Retarget"] == "#lead-body"
    assert f"Added Bo Lund, referred by {lead}." in html and f'href="/leads/{new.pk}/">Open Bo Lund' in html
    assert "Referred Bo Lund to us" in html  # the referrer's timeline


def test_lead_page_form_errors_show_next_to_the_fields(rep_client, lead):
    response = rep_client.post(f"/referrals/ask/{lead.pk}/", {"phone": "12"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="ref-first_name-error">Give the lead a first or last name.' in html
    assert 'id="ref-phone-error">' in html
    assert Lead.objects.count() == 1 and not ReferralSource.objects.exists()


def test_without_javascript_it_redirects_or_shows_the_form_page(rep_client, lead):
    page = rep_client.post(f"/referrals/ask/{lead.pk}/", {}).content.decode()
    assert "<html" in page and "Give the lead a first or last name." in page
    response = rep_client.post(f"/referrals/ask/{lead.pk}/", {"first_name": "Bo"})
    assert response.status_code == 302 and response.url == f"/leads/{lead.pk}/"


def test_manager_asks_on_a_reps_lead_and_the_new_lead_stays_with_that_rep(manager_client, lead, rep):
    manager_client.post(f"/referrals/ask/{lead.pk}/", {"first_name": "Bo"})
    assert Lead.objects.get(first_name="Bo").owner_id == rep.pk


def test_other_reps_lead_is_404(rep_client, other_lead):
    assert rep_client.post(f"/referrals/ask/{other_lead.pk}/", {"first_name": "Bo"}).status_code == 404
    assert not Referral.objects.exists()
