"""/api/v1/leads/: list with the leads page's filters, create, read, update, warmth; bad input writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, Stage, TimelineEntry
from tests.factories import EventFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_list_is_paginated_warmest_first(rep, rep_api):
    cold = LeadFactory(owner=rep, warmth=10)
    hot = LeadFactory(owner=rep, warmth=90)
    body = rep_api.get("/api/v1/leads/?page_size=1").json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [hot.pk]
    assert body["next"].endswith("page=2&page_size=1")
    second = rep_api.get("/api/v1/leads/?page=2&page_size=1").json()
    assert [row["id"] for row in second["results"]] == [cold.pk]
    response = rep_api.get("/api/v1/leads/?page=9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_filters_of_the_leads_page(rep, manager_api, rep_api, other_rep):
    expo = EventFactory(name="Expo")
    at_expo = LeadFactory(owner=rep, event=expo, stage="connected", warmth_band="hot", connection_type="event_asked")
    referred = LeadFactory(owner=rep, stage="new", warmth_band="cold", connection_type="referral")
    theirs = LeadFactory(owner=other_rep, stage="connected", connection_type="cold")
    assert ids(rep_api.get("/api/v1/leads/?stage=connected")) == {at_expo.pk}
    assert ids(rep_api.get("/api/v1/leads/?stage=connected&stage=new")) == {at_expo.pk, referred.pk}
    assert ids(rep_api.get("/api/v1/leads/?warmth_band=cold")) == {referred.pk}
    assert ids(rep_api.get("/api/v1/leads/?band=hot")) == {at_expo.pk}  # the page's parameter names work too
    assert ids(rep_api.get("/api/v1/leads/?connection=referral")) == {referred.pk}
    assert ids(rep_api.get("/api/v1/leads/?connection_type=referral")) == {referred.pk}
    assert ids(rep_api.get(f"/api/v1/leads/?event={expo.pk}")) == {at_expo.pk}
    assert ids(manager_api.get(f"/api/v1/leads/?owner={other_rep.pk}")) == {theirs.pk}
    # A rep's owner filter never widens their view.
    assert ids(rep_api.get(f"/api/v1/leads/?owner={other_rep.pk}")) == {at_expo.pk, referred.pk}


def test_bad_filter_values_are_field_errors(rep_api):
    response = rep_api.get("/api/v1/leads/?stage=sleeping&event=abc")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "Select a valid choice" in fields["stage"][0]
    assert fields["event"]


def test_search_by_name_company_email_and_phone_in_any_format(rep, rep_api):
    jane = LeadFactory(owner=rep, first_name="Jane", last_name="Doe", company="Acme", email="jd@acme.io")
    jane.phone, jane.phone_e164 = "(415) 555-0199", "+14155550199"
    jane.save()
    other = LeadFactory(owner=rep, first_name="Bob", last_name="Roe", company="Initech", email="bob@initech.com")
    assert ids(rep_api.get("/api/v1/leads/?q=jane doe")) == {jane.pk}
    assert ids(rep_api.get("/api/v1/leads/?q=initech")) == {other.pk}
    assert ids(rep_api.get("/api/v1/leads/?q=JD@ACME")) == {jane.pk}
    assert ids(rep_api.get("/api/v1/leads/?q=415.555.0199")) == {jane.pk}
    assert ids(rep_api.get("/api/v1/leads/?q=%2B1 415 555 0199")) == {jane.pk}
    assert ids(rep_api.get("/api/v1/leads/?q=nobody")) == set()


def test_create_lead_owned_by_the_rep_with_timeline(rep, rep_api):
    response = rep_api.post(
        "/api/v1/leads/",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": " Ann@Example.COM ",
            "phone": "415 555 0123",
            "connection_type": "inbound",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.owner_id, lead.email, lead.phone_e164) == (rep.pk, "ann@example.com", "+14155550123")
    assert body["warmth"] == lead.warmth > 0
    assert lead.timeline_entries.filter(kind=TimelineEntry.Kind.CREATED).exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"first_name": "", "last_name": "", "company": "Acme"}, "first_name", "Give the lead a first or last name."),
        (
            {"first_name": "Ann", "phone": "12"},
            "phone",
            "“12” is not a valid phone number for US or with a country code.",
        ),
        ({"first_name": "Ann", "email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"first_name": "Ann", "stage": "sleeping"}, "stage", '"sleeping" is not a valid choice.'),
        ({"first_name": "Ann", "stage": "lost"}, "lost_reason", "Say why the lead was lost."),
    ],
)
def test_create_with_bad_input_says_why_and_writes_nothing(rep_api, body, field, message):
    response = rep_api.post("/api/v1/leads/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"][field] == [message]
    assert f"{field}: {message}" in error["message"]
    assert Lead.objects.count() == 0
    assert TimelineEntry.objects.count() == 0


def test_rep_cannot_create_for_someone_else_manager_can(rep_api, manager_api, other_rep):
    response = rep_api.post("/api/v1/leads/", {"first_name": "Ann", "owner": other_rep.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"owner": ["Only managers can give a lead to someone else."]}
    assert Lead.objects.count() == 0
    response = manager_api.post("/api/v1/leads/", {"first_name": "Ann", "owner": other_rep.pk}, format="json")
    assert response.status_code == 201
    assert Lead.objects.get().owner_id == other_rep.pk


def test_update_fields_stage_and_owner(lead, rep_api, manager_api, other_rep):
    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"company": "New Co", "stage": "qualified"}, format="json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.company, lead.stage) == ("New Co", "qualified")
    assert lead.timeline_entries.filter(kind=TimelineEntry.Kind.STAGE_CHANGED).count() == 1

    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"owner": other_rep.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["owner"] == ["Only managers can give a lead to someone else."]
    response = manager_api.patch(f"/api/v1/leads/{lead.pk}/", {"owner": other_rep.pk}, format="json")
    assert response.json()["owner"] == other_rep.pk
    assert lead.timeline_entries.filter(kind=TimelineEntry.Kind.OWNER_CHANGED).count() == 1


def test_lost_needs_a_reason(lead, rep_api):
    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"stage": "lost"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lost_reason": ["Say why the lead was lost."]}
    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"stage": "lost", "lost_reason": "No budget"}, format="json")
    assert response.status_code == 200
    assert response.json()["lost_reason"] == "No budget"


def test_lost_takes_only_a_listed_reason_as_on_the_page(lead, rep_api):
    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"stage": "lost", "lost_reason": "Because"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["lost_reason"][0].startswith("Pick one of the listed reasons: No budget")
    lead.refresh_from_db()
    assert (lead.stage, lead.lost_reason) == (Stage.NEW, "")
    created = rep_api.post("/api/v1/leads/", {"first_name": "Ann", "phone": "+14155550111", "stage": "lost",
                                              "lost_reason": "Because"}, format="json")
    assert created.status_code == 400
    assert not Lead.objects.filter(first_name="Ann").exists()


def test_a_bad_update_writes_nothing_even_when_part_of_it_is_fine(lead, rep_api):
    before = Lead.objects.get(pk=lead.pk)
    response = rep_api.patch(
        f"/api/v1/leads/{lead.pk}/", {"company": "Changed", "stage": "lost", "do_not_call": True}, format="json"
    )
    assert response.status_code == 400
    after = Lead.objects.get(pk=lead.pk)
    assert (after.company, after.stage, after.do_not_call) == (before.company, before.stage, before.do_not_call)
    assert not after.timeline_entries.exists()


def test_do_not_call_through_the_api(lead, rep_api):
    response = rep_api.patch(f"/api/v1/leads/{lead.pk}/", {"do_not_call": True}, format="json")
    assert response.json()["do_not_call"] is True
    assert lead.timeline_entries.filter(kind=TimelineEntry.Kind.DO_NOT_CALL).exists()


def test_warmth_breakdown_adds_up(rep, rep_api):
    lead = LeadFactory(owner=rep, connection_type="event_asked", created_at=timezone.now() - timedelta(days=3))
    body = rep_api.get(f"/api/v1/leads/{lead.pk}/warmth/").json()
    assert 0 <= body["score"] <= 100
    assert body["band"] in {"hot", "warm", "lukewarm", "cold"}
    assert body["components"][0]["label"].startswith("Met at")
    assert all(set(component) == {"label", "points"} for component in body["components"])


@pytest.mark.parametrize("size", [3, 30])
def test_lead_list_query_count_does_not_grow(rep, rep_api, manager_api, django_assert_max_num_queries, size):
    event = EventFactory()
    for number in range(size):
        LeadFactory(owner=rep if number % 2 else UserFactory(role="rep"), event=event)
    # token lookup, last-used, role, count, page: the same for 3 or 30 leads
    with django_assert_max_num_queries(5):
        assert rep_api.get("/api/v1/leads/?q=a&stage=new").status_code == 200
    with django_assert_max_num_queries(5):
        assert len(manager_api.get("/api/v1/leads/").json()["results"]) == size
