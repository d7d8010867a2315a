"""Logging a call from Today and the lead page: htmx in place, plain POST + redirect, and the errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, Lead
from tests.factories import EventFactory, FollowUpFactory, LeadFactory, ReferralFactory
from warmcrm.hygiene.services import duplicates_find

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def log(client, lead, htmx=True, **data):
    return client.post(f"/calls/log/{lead.pk}/", data, **(HTMX if htmx else {}))


def test_the_form_offers_numbered_outcomes(rep_client, lead):
    html = rep_client.get(f"/calls/log/{lead.pk}/?back=today", **HTMX).content.decode()
    assert html.lstrip().startswith(f'<form id="call-form-{lead.pk}"')
    for key, label in enumerate(["Appointment set", "Call back on a date", "Not interested", "Didn", "Voicemail"], 1):
        assert f"<kbd>{key}</kbd> {label}" in html
    assert 'name="back" value="today"' in html
    # Without JavaScript it is a page of its own.
    page = rep_client.get(f"/calls/log/{lead.pk}/").content.decode()
    assert "<html" in page and f'action="/calls/log/{lead.pk}/"' in page


CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')


def test_today_carries_the_call_form_a_row_would_fetch(rep_client, lead):
    # workspace.js opens a row's form from Today's copy (the lead's id filled in) instead of GETting it: the two are
    # the same form, but for the CSRF token's mask (the same secret, either is accepted).
    page = rep_client.get("/leads/today/").content.decode()
    template = re.search(r'<template id="call-form-template" data-placeholder="__LEAD__">(.*?)</template>', page, re.S)
    assert template is not None and f'data-log-call data-lead="{lead.pk}"' in page
    carried = template.group(1).replace("__LEAD__", str(lead.pk))
    fetched = rep_client.get(f"/calls/log/{lead.pk}/?back=today", **HTMX).content.decode()
    assert CSRF_VALUE.sub(r"\1", carried).strip() == CSRF_VALUE.sub(r"\1", fetched).strip()
    assert f'action="/calls/log/{lead.pk}/"' in carried and 'name="back" value="today"' in carried
    # Today's htmx refresh of its queue does not carry it again.
    assert "call-form-template" not in rep_client.get("/leads/today/", **HTMX).content.decode()


def test_no_answer_from_today_updates_the_row_and_counts_in_place(rep_client, lead):
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=2))
    response = log(rep_client, lead, outcome="no_answer", back="today")
    html = response.content.decode()
    assert response["HX-Retarget"] == f"#row-{lead.pk}" and response["HX-Reswap"] == "outerHTML"
    assert f'<li id="row-{lead.pk}"' in html and "data-just-logged" in html
    assert "No answer logged for" in html and "No-answer retry" in html
    assert 'id="today-counts"' in html and 'hx-swap-oob="true"' in html
    assert "<strong>1</strong> call done today" in html
    lead.refresh_from_db()
    assert lead.unanswered_attempts == 1 and lead.last_attempt_at is not None
    retry = FollowUp.objects.get(lead=lead, status="open")
    assert retry.reason == FollowUp.Reason.RETRY
    assert f'title="Warmth {lead.warmth} of 100">{lead.get_warmth_band_display()} {lead.warmth}<' in html


def test_call_back_moves_the_follow_up_to_the_requested_date(rep_client, lead):
    log(rep_client, lead, outcome="no_answer", back="today")
    day = timezone.localdate() + timedelta(days=9)
    html = log(rep_client, lead, outcome="call_back", call_back_on=day.isoformat(), back="today").content.decode()
    follow_up = FollowUp.objects.get(lead=lead, status="open")
    assert follow_up.reason == FollowUp.Reason.CALL_BACK
    assert timezone.localtime(follow_up.due_at).date() == day
    assert f"Next call {day:%a} {day.day} {day:%b}" in html


def test_call_back_without_a_date_is_explained_next_to_the_field_and_nothing_is_written(rep_client, lead):
    before = Lead.objects.get(pk=lead.pk)
    response = log(rep_client, lead, outcome="call_back", back="today")
    html = response.content.decode()
    assert "HX-Retarget" not in response  # the form replaces itself, errors included
    assert html.lstrip().startswith(f'<form id="call-form-{lead.pk}"')
    assert 'id="call-back-error-' in html and "Pick the date they asked you to call back." in html
    assert not Call.objects.exists() and not FollowUp.objects.exists()
    assert Lead.objects.get(pk=lead.pk).warmth == before.warmth


def test_call_back_in_the_past_is_refused(rep_client, lead):
    yesterday = timezone.localdate() - timedelta(days=1)
    html = log(rep_client, lead, outcome="call_back", call_back_on=yesterday.isoformat()).content.decode()
    assert "The call-back date is in the past." in html
    assert not Call.objects.exists()


def test_no_outcome_is_explained(rep_client, lead):
    assert "Pick how the call went." in log(rep_client, lead).content.decode()  # an empty POST too
    html = log(rep_client, lead, notes="rang twice").content.decode()
    assert "Pick how the call went." in html and "rang twice" in html
    assert not Call.objects.exists()


def test_appointment_needs_its_time(rep_client, lead):
    html = log(rep_client, lead, outcome="appointment_set").content.decode()
    assert "Say when the appointment is." in html
    assert not Call.objects.exists()
    when = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    log(rep_client, lead, outcome="appointment_set", appointment_at=when)
    assert Lead.objects.get(pk=lead.pk).stage == "appointment_set"


def test_from_the_lead_page_the_body_refreshes_with_warmth_and_the_next_lead(rep_client, rep, lead):
    following = LeadFactory(owner=rep, first_name="Nextin", last_name="Line", warmth=5)
    response = log(rep_client, lead, outcome="not_interested", back="lead")
    html = response.content.decode()
    assert response["HX-Retarget"] == "#lead-body"
    assert "Not interested logged for" in html
    assert "Said not interested" in html  # the warmth breakdown, recomputed
    assert f'href="/leads/{following.pk}/">Next: Nextin Line' in html
    assert Lead.objects.get(pk=lead.pk).not_interested_at is not None


def test_from_the_lead_page_the_duplicates_card_is_left_to_htmx_to_keep(rep_client, rep, lead):
    LeadFactory(owner=rep, first_name=lead.first_name, last_name=lead.last_name, email=lead.email)
    duplicates_find()
    assert "Possible duplicate" in rep_client.get(f"/leads/{lead.pk}/").content.decode()
    html = log(rep_client, lead, outcome="no_answer", back="lead").content.decode()
    assert '<div id="lead-duplicates" class="slot" hx-preserve></div>' in html and "Possible duplicate" not in html
    # Every other answer with the lead body renders the card (here: the notes saved with htmx).
    html = rep_client.post(f"/leads/{lead.pk}/notes/", {"research_notes": "x"}, **HTMX).content.decode()
    assert "Possible duplicate" in html and "hx-preserve" not in html


def test_without_javascript_a_call_redirects_back_with_a_message(rep_client, lead):
    response = log(rep_client, lead, htmx=False, outcome="voicemail", back="today")
    assert response.status_code == 302 and response.url == f"/leads/today/#row-{lead.pk}"
    assert "Voicemail left logged for" in rep_client.get("/leads/today/").content.decode()
    response = log(rep_client, lead, htmx=False, outcome="wrong_number")
    assert response.url == f"/leads/{lead.pk}/"


def test_without_javascript_errors_come_back_on_the_form_page(rep_client, lead):
    html = log(rep_client, lead, htmx=False, outcome="call_back").content.decode()
    assert "<html" in html and "Pick the date they asked you to call back." in html
    assert not Call.objects.exists()


def test_managers_log_calls_on_any_lead(manager_client, manager, lead):
    log(manager_client, lead, outcome="no_answer")
    assert Call.objects.get(lead=lead).rep_id == manager.pk


def test_other_reps_lead_is_404_and_anonymous_goes_to_log_in(rep_client, client, other_lead):
    assert log(rep_client, other_lead, outcome="no_answer").status_code == 404
    # Refused by call_log (no call-back date) or by the form: still 404, the form is not shown for their lead.
    assert log(rep_client, other_lead, outcome="call_back").status_code == 404
    assert log(rep_client, other_lead, outcome="").status_code == 404
    assert client.post(f"/calls/log/{other_lead.pk}/", {"outcome": "no_answer"}).url.startswith("/accounts/login/")
    assert not Call.objects.exists()


# The call-log POST's queries, exactly (the test's own transaction makes call_log's a savepoint: +2 here, BEGIN and
# COMMIT in production). A new referred lead with a due follow-up, no answer from Today: session, user, role; the
# locked lead among the rep's (with its event and referrer: the view reads it no more before), the call, the referrer's
# conversions (warmth), the lead's history and warmth (one UPDATE), the rep's hour; the stage (UPDATE, timeline entry:
# in call_log's transaction, no savepoint of its own since 2026-12-02); the due follow-up closed, the open one read, the
# retry inserted (in a savepoint: the row's follow-up, which call_log returns); Today's counts (one statement: the rep's
# open follow-ups by their owner column, the calls today by their lead owner): 18. It was 34 (33 for a lead without a
# referrer) before the view stopped re-reading the lead, the stage change stopped validating the whole lead and the
# retry its rows in hand, and Today's two counts became one; 22 before the counts left the joins to the rep's leads, 23
# before the stage's savepoint went, 21 before the view's first read of the lead and the row's read of its follow-up
# went (docs/benchmarks.md, Load, 2026-12-02 afternoon), 19 before Today's two counts became one statement (evening).
CALL_LOG_QUERIES = [
    pytest.param("no_answer", "new", "today", 18, id="no-answer-new-lead"),
    pytest.param("no_answer", "attempted", "today", 16, id="no-answer-again"),  # no stage change
    pytest.param("connected_other", "attempted", "today", 14, id="talked"),  # stage, no retry
    pytest.param("call_back", "connected", "today", 16, id="call-back"),  # its follow-up moves
    # From the lead page: "Next" (one query: the lead of the first due follow-up, by a subquery, since the evening
    # of 2026-12-02; not Today's counts), then the lead page itself (the import that created the lead read with the
    # lead since leads 0015, the referrer the lead is with the locked lead since that evening), but not its open
    # follow-up (call_log's) nor its duplicate pairs (the card htmx keeps): 23, 28 before.
    pytest.param("no_answer", "new", "lead", 23, id="no-answer-lead-page"),
]


@pytest.mark.parametrize(("outcome", "stage", "back", "queries"), CALL_LOG_QUERIES)
@pytest.mark.parametrize("size", [2, 25])
def test_logging_a_call_issues_a_fixed_number_of_queries(
    rep_client, rep, size, outcome, stage, back, queries, django_assert_num_queries
):
    referral = ReferralFactory(lead__owner=rep, lead__event=EventFactory(), lead__stage=stage)
    for lead in [referral.lead, *LeadFactory.create_batch(size, owner=rep)]:
        FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=1))
    data = {"outcome": outcome, "back": back}
    if outcome == "call_back":
        data["call_back_on"] = (timezone.localdate() + timedelta(days=3)).isoformat()
    with django_assert_num_queries(queries):
        response = log(rep_client, referral.lead, **data)
    assert response.status_code == 200 and "logged for" in response.content.decode()


def test_logging_from_today_counts_the_queue_without_listing_it(rep_client, rep):
    leads = LeadFactory.create_batch(30, owner=rep)
    FollowUpFactory(lead=leads[1], due_at=timezone.now() - timedelta(days=2))
    with CaptureQueriesContext(connection) as queries:
        html = log(rep_client, leads[0], outcome="voicemail", back="today").content.decode()
    assert "<strong>1</strong> overdue" in html and "<strong>1</strong> call done today" in html
    # Neither list of Today (follow-ups by priority, the warmest leads) is read to answer one row.
    assert not [query for query in queries.captured_queries if '"leads_lead"."warmth" DESC' in query["sql"]]


def test_from_today_the_locked_lead_comes_without_its_owner_and_from_the_lead_page_with_it(rep_client, rep):
    # Today's row and notice show no owner (its join cost every call ~1 ms of Python); the lead page shows it.
    lead = LeadFactory(owner=rep)
    for back, joined in (("today", False), ("lead", True)):
        with CaptureQueriesContext(connection) as queries:
            html = log(rep_client, lead, outcome="voicemail", back=back).content.decode()
        locked = next(query["sql"] for query in queries.captured_queries if 'FROM "leads_lead"' in query["sql"])
        assert ('"auth_user"' in locked) is joined and "logged for" in html
    assert rep.get_full_name() in html


def test_from_the_lead_page_with_nobody_else_to_call_there_is_no_next_lead(rep_client, rep, lead, other_rep):
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=1))
    FollowUpFactory(lead=LeadFactory(owner=other_rep), due_at=timezone.now() - timedelta(days=1))  # not theirs
    LeadFactory(owner=rep, do_not_call=True)
    html = log(rep_client, lead, outcome="voicemail", back="lead").content.decode()
    assert "Voicemail left logged for" in html and "Next: " not in html


def test_from_the_lead_page_the_next_lead_is_the_first_follow_up_before_the_warmest(rep_client, rep, lead):
    LeadFactory(owner=rep, first_name="Warmest", last_name="Lead", warmth=90)
    due = LeadFactory(owner=rep, first_name="Due", last_name="Today", warmth=10)
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=3))
    FollowUpFactory(lead=due, due_at=timezone.now() - timedelta(days=1))
    html = log(rep_client, lead, outcome="connected_other", back="lead").content.decode()
    assert f'href="/leads/{due.pk}/">Next: Due Today' in html
