"""Referral sources, referrals and events through the API."""

from __future__ import annotations

import pytest

from leads.models import Event
from referrals.models import Referral, ReferralSource
from tests.factories import EventFactory, LeadFactory, ReferralFactory, ReferralSourceFactory

pytestmark = pytest.mark.django_db


def test_create_list_and_update_referral_sources(rep_api):
    response = rep_api.post(
        "/api/v1/referral-sources/",
        {"name": "Carla Diaz", "kind": "partner", "organisation": "Diaz & Co", "phone": "415 555 0120"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone_e164"] == "+14155550120"
    source_id = response.json()["id"]
    ReferralSourceFactory(name="Someone Else", organisation="Other")
    assert [row["id"] for row in rep_api.get("/api/v1/referral-sources/?q=diaz").json()["results"]] == [source_id]
    response = rep_api.patch(f"/api/v1/referral-sources/{source_id}/", {"notes": "Sends two a year"}, format="json")
    assert response.json()["notes"] == "Sends two a year"


def test_bad_referral_source_says_why_and_writes_nothing(rep_api, other_lead):
    response = rep_api.post("/api/v1/referral-sources/", {"name": "X", "phone": "12"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "phone": ["“12” is not a valid phone number for US or with a country code."]
    }
    response = rep_api.post("/api/v1/referral-sources/", {"name": "", "lead": other_lead.pk}, format="json")
    assert set(response.json()["error"]["fields"]) == {"name", "lead"}
    assert not ReferralSource.objects.exists()


def test_record_a_referral_makes_the_lead_a_referral_and_rescores(rep, rep_api):
    lead = LeadFactory(owner=rep, connection_type="cold", warmth=0)
    source = ReferralSourceFactory(name="Carla Diaz")
    response = rep_api.post(
        "/api/v1/referrals/", {"source": source.pk, "lead": lead.pk, "note": "Met at golf"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source_name"].startswith("Carla Diaz")
    lead.refresh_from_db()
    assert lead.connection_type == "referral"
    assert lead.warmth > 0
    assert Referral.objects.get().created_by == rep
    assert [row["id"] for row in rep_api.get("/api/v1/referrals/").json()["results"]] == [response.json()["id"]]


def test_a_lead_has_one_referrer(rep, rep_api):
    referral = ReferralFactory(lead=LeadFactory(owner=rep, connection_type="referral"))
    response = rep_api.post(
        "/api/v1/referrals/", {"source": ReferralSourceFactory().pk, "lead": referral.lead_id}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lead": ["This lead already has a referrer."]}
    assert Referral.objects.count() == 1


def test_events_list_and_manager_create_with_duplicate_check(manager_api, rep_api):
    EventFactory(name="Expo", date="2026-03-01")
    assert [row["name"] for row in rep_api.get("/api/v1/events/").json()["results"]] == ["Expo"]
    response = manager_api.post("/api/v1/events/", {"name": "Expo", "date": "2026-03-01"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["message"]
    assert Event.objects.count() == 1
    response = manager_api.post(
        "/api/v1/events/", {"name": "Expo", "date": "2027-03-01", "place": "Las Vegas"}, format="json"
    )
    assert response.status_code == 201
    event_id = response.json()["id"]
    assert manager_api.patch(f"/api/v1/events/{event_id}/", {"place": "Reno"}, format="json").json()["place"] == "Reno"


@pytest.mark.parametrize("size", [2, 20])
def test_list_query_counts_do_not_grow(rep, rep_api, django_assert_max_num_queries, size):
    for _ in range(size):
        ReferralFactory(lead=LeadFactory(owner=rep, connection_type="referral"))
        EventFactory()
    for url in ("/api/v1/referrals/", "/api/v1/referral-sources/", "/api/v1/events/"):
        with django_assert_max_num_queries(5):
            assert rep_api.get(url).json()["count"] == size
