"""The data model's rules: normalised contacts, the one-open-follow-up constraint, warmth bounds."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leads.models import FollowUp, Lead, Stage
from tests.factories import FollowUpFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_phone_is_normalised_to_e164_and_the_original_kept(rep):
    lead = Lead(first_name="Ana", phone="(415) 555-0100", email="  Ana@Example.COM ", owner=rep)
    lead.full_clean()
    assert lead.phone_e164 == "+14155550100"
    assert lead.phone == "(415) 555-0100"
    assert lead.email == "ana@example.com"


def test_international_phone_keeps_its_country(rep):
    lead = Lead(first_name="Ola", phone="+44 20 7946 0958", owner=rep)
    lead.full_clean()
    assert lead.phone_e164 == "+442079460958"


@pytest.mark.parametrize("phone", ["12", "not a phone", "+1 555"])
def test_invalid_phone_is_refused_with_a_message(rep, phone):
    lead = Lead(first_name="Ana", phone=phone, owner=rep)
    with pytest.raises(ValidationError) as error:
        lead.full_clean()
    assert "phone" in error.value.message_dict
    assert "phone number" in error.value.message_dict["phone"][0]


def test_a_lead_needs_a_name(rep):
    with pytest.raises(ValidationError) as error:
        Lead(email="x@example.com", owner=rep).full_clean()
    assert error.value.message_dict["first_name"] == ["Give the lead a first or last name."]


def test_a_lost_lead_needs_a_reason(rep):
    with pytest.raises(ValidationError) as error:
        Lead(first_name="Ana", stage=Stage.LOST, owner=rep).full_clean()
    assert "lost_reason" in error.value.message_dict


def test_only_one_open_follow_up_per_lead():
    follow_up = FollowUpFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpFactory(lead=follow_up.lead)
    assert FollowUp.objects.filter(lead=follow_up.lead).count() == 1


def test_closed_follow_ups_do_not_count_against_the_open_one():
    follow_up = FollowUpFactory(status=FollowUp.Status.DONE)
    FollowUpFactory(lead=follow_up.lead, status=FollowUp.Status.SKIPPED)
    FollowUpFactory(lead=follow_up.lead)
    assert follow_up.lead.follow_ups.filter(status=FollowUp.Status.OPEN).count() == 1


def test_warmth_stays_within_0_and_100():
    lead = LeadFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(warmth=101)
