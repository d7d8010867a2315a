"""The lead page and its controls, and the permission matrix of every lead URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, ImportJob, Lead, Stage, TimelineEntry
from leads.selectors import TIMELINE_LIMIT
from referrals.models import Referral
from tests.factories import (
    CallFactory,
    EventFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    ReferralSourceFactory,
)

pytestmark = pytest.mark.django_db

# Every URL that takes a lead id, with a request that would change it.
LEAD_URLS = [
    ("get", "/leads/{id}/", {}),
    ("get", "/leads/{id}/edit/", {}),
    ("post", "/leads/{id}/edit/", {"first_name": "Changed", "connection_type": "cold"}),
    ("post", "/leads/{id}/notes/", {"research_notes": "changed"}),
    ("get", "/leads/{id}/stage/", {}),
    ("post", "/leads/{id}/stage/", {"stage": "qualified"}),
    ("post", "/leads/{id}/do-not-call/", {"do_not_call": "on"}),
    ("get", "/calls/log/{id}/", {}),
    ("post", "/calls/log/{id}/", {"outcome": "no_answer"}),
    ("get", "/referrals/ask/{id}/", {}),
    ("post", "/referrals/ask/{id}/", {"first_name": "Newperson"}),
]


def hit(client: Client, method: str, url: str, data: dict, lead: Lead, htmx: bool = False):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return getattr(client, method)(url.format(id=lead.pk), data, **extra)


def unchanged(lead: Lead) -> bool:
    fresh = Lead.objects.get(pk=lead.pk)
    return (
        fresh.first_name == lead.first_name
        and fresh.research_notes == lead.research_notes
        and fresh.stage == lead.stage
        and not fresh.do_not_call
        and not Call.objects.filter(lead=lead).exists()
        and not Referral.objects.exists()
    )


@pytest.mark.parametrize(("method", "url", "data"), LEAD_URLS)
@pytest.mark.parametrize("htmx", [False, True])
def test_another_reps_lead_is_404_and_untouched(rep_client, other_lead, method, url, data, htmx):
    response = hit(rep_client, method, url, data, other_lead, htmx)
    assert response.status_code == 404
    assert unchanged(other_lead)


@pytest.mark.parametrize(("method", "url", "data"), LEAD_URLS)
def test_anonymous_is_sent_to_log_in_and_nothing_changes(client, lead, method, url, data):
    response = hit(client, method, url, data, lead)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert unchanged(lead)


@pytest.mark.parametrize(("method", "url", "data"), LEAD_URLS)
@pytest.mark.parametrize("who", ["rep_client", "manager_client"])
@pytest.mark.parametrize("htmx", [False, True])
def test_owner_and_managers_may_use_every_lead_url(request, lead, method, url, data, who, htmx):
    response = hit(request.getfixturevalue(who), method, url, data, lead, htmx)
    assert response.status_code in (200, 302)


def test_lead_page_shows_opener_connection_breakdown_and_timeline(rep_client, rep):
    rep.first_name = "Rita"
    rep.save()
    lead = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Costa",
        event=EventFactory(name="Expo North"),
        research_notes="Opening a second plant",
    )
    CallFactory(lead=lead, notes="Left a message with Jo")
    html = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Hi Ana, this is Rita. We met at Expo North and you asked me to give you a call." in html
    assert "Met at Expo North - asked you to call" in html
    assert "Opening a second plant" in html
    assert "How the warmth score adds up" in html
    assert "Left a message with Jo" in html


def test_referred_lead_page_names_the_referrer(rep_client, rep):
    lead = ReferralFactory(lead__owner=rep, source__name="Ben Ode", source__organisation="Acme").lead
    html = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Referred by Ben Ode of Acme" in html
    assert "Ben Ode suggested I give you a call." in html


def test_htmx_gets_the_lead_body(rep_client, lead):
    response = rep_client.get(f"/leads/{lead.pk}/", HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<div id="lead-body"')
    assert response["HX-Retarget"] == "#lead-body"


@pytest.mark.parametrize("history", [1, 15])
def test_lead_page_issues_a_fixed_number_of_queries(rep_client, rep, history, django_assert_max_num_queries):
    lead = ReferralFactory(lead__owner=rep, lead__event=EventFactory()).lead
    CallFactory.create_batch(history, lead=lead)
    FollowUpFactory.create_batch(1, lead=lead)
    with django_assert_max_num_queries(16):
        rep_client.get(f"/leads/{lead.pk}/")


# The lead page's queries, exactly, for a referred lead with an event (the test's client: session, user, role): the
# lead with its owner, event, referrer, import and the referrer it is itself; the referrer's conversions (warmth); the
# timeline's calls, follow-ups (the open one among them) and entries; the nav badge; the duplicate pairs; the lost
# reasons: 11. 13 before the lead's own referrer row came with the lead and the open follow-up from the timeline's
# (docs/benchmarks.md, Load, 2026-12-02 evening).
def test_lead_page_queries_exactly(rep_client, rep, django_assert_num_queries):
    lead = ReferralFactory(lead__owner=rep, lead__event=EventFactory()).lead
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=1), status=FollowUp.Status.DONE)
    FollowUpFactory(lead=lead, due_at=datetime(2031, 3, 4, 12, 0, tzinfo=UTC))
    with django_assert_num_queries(11):
        html = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Referred by" in html and "has referred people before" not in html
    assert '<p class="due">Next call: Tue 4 Mar' in html


def test_the_open_follow_up_older_than_the_timelines_newest_is_still_shown(rep_client, rep):
    lead = LeadFactory(owner=rep)
    FollowUpFactory(
        lead=lead, due_at=datetime(2031, 3, 4, 12, 0, tzinfo=UTC), created_at=timezone.now() - timedelta(days=9)
    )
    done = [
        FollowUp(lead=lead, owner=rep, due_at=timezone.now(), status=FollowUp.Status.DONE, created_at=timezone.now())
        for _ in range(TIMELINE_LIMIT)
    ]
    FollowUp.objects.bulk_create(done)
    assert '<p class="due">Next call: Tue 4 Mar' in rep_client.get(f"/leads/{lead.pk}/").content.decode()


def test_a_referrer_lead_links_to_their_referrals_with_the_lead_read(rep_client, rep):
    referrer = ReferralSourceFactory(lead=LeadFactory(owner=rep, first_name="Ana"))
    html = rep_client.get(f"/leads/{referrer.lead_id}/").content.decode()
    assert f'Ana has referred people before: <a href="/referrals/{referrer.pk}/">' in html


def test_the_import_that_created_a_lead_is_on_its_page_at_no_extra_query(rep_client, rep, admin_user):
    plain, imported = LeadFactory(owner=rep), LeadFactory(owner=rep)
    job = ImportJob.objects.create(file_name="expo.csv", stored_path="x", created_by=admin_user, event_name="Expo")
    Lead.objects.filter(pk=imported.pk).update(import_job=job, import_row=2)
    counts, pages = [], []
    for lead in (plain, imported):
        with CaptureQueriesContext(connection) as queries:
            pages.append(rep_client.get(f"/leads/{lead.pk}/").content.decode())
        counts.append(len(queries))
    assert "Imported from expo.csv (Expo)" in pages[1] and "Imported from" not in pages[0]
    assert admin_user.get_full_name() in pages[1]
    assert counts[0] == counts[1]


# --- Inline contact editing -------------------------------------------------------------------------


def test_inline_edit_form_then_save_returns_the_refreshed_lead_body(rep_client, lead):
    form = rep_client.get(f"/leads/{lead.pk}/edit/", HTTP_HX_REQUEST="true").content.decode()
    assert form.lstrip().startswith('<section class="card" id="contact"')
    response = rep_client.post(
        f"/leads/{lead.pk}/edit/",
        {"first_name": "Anabel", "last_name": "Costa", "phone": "+44 20 7946 0958", "connection_type": "inbound"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response["HX-Retarget"] == "#lead-body"
    assert "Anabel Costa" in html and "Contact details saved." in html
    assert Lead.objects.get(pk=lead.pk).phone_e164 == "+442079460958"


def test_inline_edit_with_a_bad_phone_shows_it_next_to_the_field_and_saves_nothing(rep_client, lead):
    response = rep_client.post(
        f"/leads/{lead.pk}/edit/",
        {"first_name": "Changed", "phone": "555", "connection_type": "cold"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="contact"' in html and "“555” is not a valid phone number" in html
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.first_name, fresh.phone) == (lead.first_name, lead.phone)


def test_edit_without_javascript_redirects_to_the_lead(rep_client, lead):
    response = rep_client.post(f"/leads/{lead.pk}/edit/", {"first_name": "Changed", "connection_type": "cold"})
    assert response.status_code == 302 and response.url == f"/leads/{lead.pk}/"


def test_notes_are_saved(rep_client, lead):
    response = rep_client.post(
        f"/leads/{lead.pk}/notes/", {"research_notes": "Hiring 20 engineers"}, HTTP_HX_REQUEST="true"
    )
    assert "Notes saved." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).research_notes == "Hiring 20 engineers"


# --- Stage, owner, do-not-call ------------------------------------------------------------------------


def test_stage_change_is_recorded_on_the_timeline(rep_client, rep, lead):
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "qualified"}, HTTP_HX_REQUEST="true")
    assert "Stage: New → Qualified" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.QUALIFIED
    entry = TimelineEntry.objects.get(lead=lead, kind=TimelineEntry.Kind.STAGE_CHANGED)
    assert entry.actor_id == rep.pk and entry.data == {"from": "new", "to": "qualified"}


def test_lost_needs_a_reason_and_nothing_changes_without_one(rep_client, lead):
    response = rep_client.post(
        f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": " "}, HTTP_HX_REQUEST="true"
    )
    assert "Say why the lead was lost." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.STAGE_CHANGED).exists()
    # Without JavaScript the same answer is a page with the reason field.
    page = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost"}).content.decode()
    assert "Why was it lost?" in page and "Say why the lead was lost." in page


def test_lost_with_a_reason_closes_the_follow_up(rep_client, lead):
    FollowUpFactory(lead=lead)
    rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "Chose a competitor"})
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.stage, fresh.lost_reason) == (Stage.LOST, "Chose a competitor")
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()


def test_bad_stage_is_refused(rep_client, lead):
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "paradise"})
    assert "Select a valid choice" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


def test_manager_changes_the_owner(manager_client, lead, other_rep):
    response = manager_client.post(f"/leads/{lead.pk}/owner/", {"owner": other_rep.pk}, HTTP_HX_REQUEST="true")
    assert "now belongs to" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == other_rep.pk


def test_rep_cannot_change_the_owner(rep_client, lead, other_rep):
    assert rep_client.post(f"/leads/{lead.pk}/owner/", {"owner": other_rep.pk}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner.username == "rita"
    assert 'id="owner-select"' not in rep_client.get(f"/leads/{lead.pk}/").content.decode()


def test_owner_change_404s_for_another_reps_lead_and_anonymous_goes_to_log_in(rep_client, client, other_lead, rep):
    assert rep_client.post(f"/leads/{other_lead.pk}/owner/", {"owner": rep.pk}).status_code == 404
    assert client.post(f"/leads/{other_lead.pk}/owner/", {"owner": rep.pk}).url.startswith("/accounts/login/")
    assert Lead.objects.get(pk=other_lead.pk).owner.username == "raj"


def test_manager_owner_change_with_no_owner_says_so(manager_client, lead):
    response = manager_client.post(f"/leads/{lead.pk}/owner/", {"owner": ""}, HTTP_HX_REQUEST="true")
    assert "This field is required." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner.username == "rita"


def test_do_not_call_switch(rep_client, lead):
    FollowUpFactory(lead=lead)
    html = rep_client.post(f"/leads/{lead.pk}/do-not-call/", {"do_not_call": "on"}, HTTP_HX_REQUEST="true")
    assert "Marked do-not-call" in html.content.decode()
    assert Lead.objects.get(pk=lead.pk).do_not_call
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()
    rep_client.post(f"/leads/{lead.pk}/do-not-call/", {})
    assert not Lead.objects.get(pk=lead.pk).do_not_call
