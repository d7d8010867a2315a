"""The leads list: search, filters, sorts, pagination, htmx table, bulk reassign and creating a lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import FollowUp, Lead, Stage, TimelineEntry, WarmthBand
from tests.factories import EventFactory, FollowUpFactory, LeadFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def listed(client, query=""):
    return client.get(f"/leads/{query}").content.decode()


def names(client, query=""):
    """The listed leads' names (not the page's HTML, where a random CSRF token may hold any two letters)."""
    response = client.get(f"/leads/{query}")
    assert response.status_code == 200
    return "\n".join(lead.full_name for lead in response.context["page"])


@pytest.mark.parametrize(
    "typed",
    [
        "(415) 555-0134",
        "415.555.0134",
        "+1 415 555 0134",
        "14155550134",
        "5550134",
        "Costa",
        "ana costa",
        "acme",
        "ANA@",
    ],
)
def test_search_finds_a_lead_by_name_company_email_or_phone_in_any_format(rep_client, rep, typed):
    LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Costa",
        company="Acme",
        email="ana@acme.test",
        phone="415-555-0134",
        phone_e164="+14155550134",
    )
    LeadFactory(
        owner=rep,
        first_name="Ben",
        last_name="Other",
        company="Globex",
        phone="(212) 555-0199",
        phone_e164="+12125550199",
    )
    html = rep_client.get("/leads/", {"q": typed}).content.decode()
    assert "Ana Costa" in html and "Ben Other" not in html


def test_search_never_reaches_other_reps_leads(rep_client, other_rep):
    LeadFactory(owner=other_rep, first_name="Hidden", phone="415-555-0177", phone_e164="+14155550177")
    html = rep_client.get("/leads/", {"q": "415 555 0177"}).content.decode()
    assert "Hidden" not in html and "No leads match" in html


def test_filters_by_stage_band_connection_event_referrer_and_follow_up(rep_client, rep):
    event = EventFactory(name="Expo")
    a = LeadFactory(owner=rep, first_name="Aa", stage=Stage.CONNECTED, warmth_band=WarmthBand.HOT, event=event)
    b = ReferralFactory(lead__owner=rep, lead__first_name="Bb").lead
    c = LeadFactory(owner=rep, first_name="Cc", connection_type="cold")
    FollowUpFactory(lead=c)

    assert "Aa" in names(rep_client, "?stage=connected") and "Bb" not in names(rep_client, "?stage=connected")
    assert "Aa" in names(rep_client, "?band=hot") and "Cc" not in names(rep_client, "?band=hot")
    html = names(rep_client, "?connection=cold")
    assert "Cc" in html and "Aa" not in html
    html = names(rep_client, f"?event={event.pk}")
    assert "Aa" in html and "Bb" not in html
    html = names(rep_client, f"?referrer={b.referral.source_id}")
    assert "Bb" in html and "Aa" not in html
    html = names(rep_client, "?follow_up=has_follow_up")
    assert "Cc" in html and "Aa" not in html
    html = names(rep_client, "?follow_up=no_follow_up")
    assert "Aa" in html and "Cc" not in html
    assert a.pk


def test_stale_filter(rep_client, rep):
    now = timezone.now()
    LeadFactory(owner=rep, first_name="Stale", warmth_band="hot", last_conversation_at=now - timedelta(days=10))
    LeadFactory(owner=rep, first_name="Fresh", warmth_band="hot", last_conversation_at=now - timedelta(days=1))
    html = listed(rep_client, "?follow_up=stale")
    assert "Stale" in html and "Fresh" not in html


def test_owner_filter_is_for_managers_only(rep_client, manager_client, rep, other_rep):
    LeadFactory(owner=rep, first_name="Mine")
    LeadFactory(owner=other_rep, first_name="Theirs")
    html = listed(manager_client, f"?owner={other_rep.pk}")
    assert "Theirs" in html and "Mine" not in html
    assert 'name="owner"' in listed(manager_client)
    # A rep has no owner filter; the parameter cannot widen what they see.
    rep_html = listed(rep_client, f"?owner={other_rep.pk}")
    assert "Mine" in rep_html and "Theirs" not in rep_html
    assert 'id="id_owner"' not in rep_html


def test_sorts(rep_client, rep):
    now = timezone.now()
    LeadFactory(owner=rep, first_name="Ulla", warmth=10, last_attempt_at=now - timedelta(days=1))
    hot = LeadFactory(owner=rep, first_name="Vera", warmth=90, last_attempt_at=now - timedelta(days=9))
    FollowUpFactory(lead=hot, due_at=now + timedelta(days=1))

    def order(query):
        html = listed(rep_client, query)
        return sorted(["Ulla", "Vera"], key=html.index)

    assert order("") == ["Vera", "Ulla"]
    assert order("?sort=coolest") == ["Ulla", "Vera"]
    assert order("?sort=last_contact") == ["Ulla", "Vera"]
    assert order("?sort=last_contact_oldest") == ["Vera", "Ulla"]
    assert order("?sort=next_follow_up") == ["Vera", "Ulla"]


def test_pagination_keeps_the_filters_in_the_links(rep_client, rep):
    LeadFactory.create_batch(30, owner=rep, stage=Stage.NEW)
    html = listed(rep_client, "?stage=new")
    assert "Page 1 of 2" in html
    assert 'href="?stage=new&amp;page=2"' in html
    assert "Page 2 of 2" in listed(rep_client, "?stage=new&page=2")


def test_htmx_gets_the_table_partial(rep_client, rep):
    LeadFactory(owner=rep, first_name="Ana")
    html = rep_client.get("/leads/?q=Ana", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="lead-table"') and "Ana" in html and "<form" not in html


def test_bad_filter_values_are_explained_not_crashed(rep_client, rep):
    LeadFactory(owner=rep, first_name="Ana")
    response = rep_client.get("/leads/?stage=bogus")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_anonymous_is_sent_to_log_in(client):
    assert client.get("/leads/").url.startswith("/accounts/login/")


@pytest.mark.parametrize("size", [3, 40])
@pytest.mark.parametrize("role_client", ["rep_client", "manager_client"])
def test_list_issues_a_fixed_number_of_queries(request, rep, size, role_client, django_assert_max_num_queries):
    client = request.getfixturevalue(role_client)
    for _ in range(size):
        lead = ReferralFactory(lead__owner=rep, lead__event=EventFactory()).lead
        FollowUpFactory(lead=lead)
    with django_assert_max_num_queries(12):
        response = client.get("/leads/?sort=next_follow_up")
    assert response.status_code == 200
    with django_assert_max_num_queries(8):
        client.get("/leads/?q=a", HTTP_HX_REQUEST="true")


# --- Bulk reassign ----------------------------------------------------------------------------------


def test_manager_reassigns_selected_leads_with_timeline_and_follow_ups(manager_client, manager, rep, other_rep):
    leads = LeadFactory.create_batch(3, owner=rep)
    FollowUpFactory(lead=leads[0])
    untouched = LeadFactory(owner=rep)

    response = manager_client.post(
        "/leads/reassign/", {"lead": [lead.pk for lead in leads], "owner": other_rep.pk, "next": "/leads/?stage=new"}
    )

    assert response.status_code == 302 and response.url == "/leads/?stage=new"
    assert set(Lead.objects.filter(owner=other_rep).values_list("pk", flat=True)) == {lead.pk for lead in leads}
    assert Lead.objects.get(pk=untouched.pk).owner_id == rep.pk
    assert FollowUp.objects.get(lead=leads[0]).owner_id == other_rep.pk
    entries = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.OWNER_CHANGED, actor=manager)
    assert entries.count() == 3
    assert "3 leads reassigned" in manager_client.get(response.url).content.decode()


def test_reassign_is_set_based(manager_client, rep, other_rep, django_assert_max_num_queries):
    leads = LeadFactory.create_batch(25, owner=rep)
    with django_assert_max_num_queries(16):
        manager_client.post("/leads/reassign/", {"lead": [lead.pk for lead in leads], "owner": other_rep.pk})
    assert Lead.objects.filter(owner=other_rep).count() == 25


def test_reassign_without_a_selection_says_so_and_changes_nothing(manager_client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    response = manager_client.post("/leads/reassign/", {"owner": other_rep.pk}, follow=True)
    assert "Select at least one lead to reassign." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.OWNER_CHANGED).exists()


def test_reassign_of_a_vanished_lead_says_so_and_changes_nothing(manager_client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    response = manager_client.post("/leads/reassign/", {"lead": [lead.pk, 987654], "owner": other_rep.pk}, follow=True)
    assert "One of the selected leads no longer exists" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk


def test_reassign_without_a_rep_says_so(manager_client, rep):
    lead = LeadFactory(owner=rep)
    response = manager_client.post("/leads/reassign/", {"lead": [lead.pk]}, follow=True)
    assert "Pick the rep who takes over these leads." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk


def test_reps_cannot_reassign(rep_client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    response = rep_client.post("/leads/reassign/", {"lead": [lead.pk], "owner": other_rep.pk})
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk
    assert 'id="reassign-form"' not in listed(rep_client)


# --- Create ------------------------------------------------------------------------------------------


def test_rep_creates_their_own_lead(rep_client, rep):
    response = rep_client.post(
        "/leads/new/", {"first_name": "Nia", "last_name": "Berg", "phone": "415 555 0101", "connection_type": "inbound"}
    )
    lead = Lead.objects.get(first_name="Nia")
    assert response.url == f"/leads/{lead.pk}/"
    assert lead.owner_id == rep.pk and lead.phone_e164 == "+14155550101"
    assert lead.timeline_entries.filter(kind=TimelineEntry.Kind.CREATED).exists()


def test_manager_creates_a_lead_for_a_rep(manager_client, rep):
    manager_client.post("/leads/new/", {"first_name": "Nia", "connection_type": "cold", "owner": rep.pk})
    assert Lead.objects.get(first_name="Nia").owner_id == rep.pk


def test_create_with_bad_input_explains_and_writes_nothing(rep_client):
    response = rep_client.post("/leads/new/", {"first_name": "", "phone": "12", "connection_type": "cold"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give the lead a first or last name." in html
    assert "is not a valid phone number" in html or "is not a phone number" in html
    assert not Lead.objects.exists()


def test_rep_cannot_give_a_new_lead_to_someone_else(rep_client, other_rep):
    rep_client.post("/leads/new/", {"first_name": "Nia", "connection_type": "cold", "owner": other_rep.pk})
    assert Lead.objects.get(first_name="Nia").owner.username == "rita"
