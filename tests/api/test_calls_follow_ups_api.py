"""Calls logged through the API do what the page does; follow-ups: my list, complete, snooze."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, Lead
from tests.factories import CallFactory, FollowUpFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_logging_a_call_updates_history_stage_follow_ups_and_warmth(rep, rep_api, lead):
    due = FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=1))
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = rep_api.post(
        f"/api/v1/leads/{lead.pk}/calls/",
        {"outcome": "call_back", "call_back_on": tomorrow.isoformat(), "notes": "Busy, try tomorrow"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["lead"], body["rep"], body["outcome"]) == (lead.pk, rep.pk, "call_back")
    lead.refresh_from_db()
    assert lead.stage == "connected"
    assert lead.last_conversation_at is not None
    assert lead.warmth_computed_at is not None
    due.refresh_from_db()
    assert due.status == "done"
    call_back = FollowUp.objects.get(lead=lead, status="open")
    assert (call_back.reason, call_back.due_at.date()) == ("call_back", tomorrow)


def test_no_answer_schedules_the_retry_as_the_page_does(lead, rep_api):
    rep_api.post(f"/api/v1/leads/{lead.pk}/calls/", {"outcome": "no_answer"}, format="json")
    lead.refresh_from_db()
    assert (lead.stage, lead.unanswered_attempts) == ("attempted", 1)
    assert FollowUp.objects.get(lead=lead, status="open").reason == "retry"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"outcome": "call_back"}, "call_back_on", "Pick the date they asked you to call back."),
        (
            {"outcome": "no_answer", "call_back_on": "2030-01-01"},
            "call_back_on",
            "A call-back date goes with the “call back on a date” outcome.",
        ),
        (
            {"outcome": "no_answer", "called_at": "2999-01-01T10:00:00Z"},
            "called_at",
            "A call cannot be logged in the future.",
        ),
        ({"outcome": "shouted"}, "outcome", '"shouted" is not a valid choice.'),
        ({}, "outcome", "This field is required."),
        (
            {"outcome": "no_answer", "duration_seconds": -5},
            "duration_seconds",
            "Ensure this value is greater than or equal to 0.",
        ),
    ],
)
def test_bad_calls_are_refused_with_the_reason_and_nothing_written(lead, rep_api, body, field, message):
    before = Lead.objects.get(pk=lead.pk)
    response = rep_api.post(f"/api/v1/leads/{lead.pk}/calls/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"][field] == [message]
    assert message in error["message"]
    assert Call.objects.count() == 0
    after = Lead.objects.get(pk=lead.pk)
    assert (after.stage, after.last_attempt_at, after.updated_at) == (
        before.stage,
        before.last_attempt_at,
        before.updated_at,
    )
    assert not FollowUp.objects.exists()


def test_malformed_json_is_a_clear_error(lead, rep_api):
    response = rep_api.post(f"/api/v1/leads/{lead.pk}/calls/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert Call.objects.count() == 0


def test_call_lists_are_scoped(rep, rep_api, lead, other_lead):
    mine = CallFactory(lead=lead)
    CallFactory(lead=other_lead)
    assert [row["id"] for row in rep_api.get("/api/v1/calls/").json()["results"]] == [mine.pk]
    assert [row["id"] for row in rep_api.get(f"/api/v1/leads/{lead.pk}/calls/").json()] == [mine.pk]
    assert rep_api.get(f"/api/v1/calls/?lead={other_lead.pk}").json()["count"] == 0


def test_my_follow_ups_open_by_default_soonest_first(rep, rep_api, manager, manager_api):
    later = FollowUpFactory(lead=LeadFactory(owner=rep), due_at=timezone.now() + timedelta(days=2))
    sooner = FollowUpFactory(lead=LeadFactory(owner=rep), due_at=timezone.now())
    done = FollowUpFactory(lead=LeadFactory(owner=rep), status="done")
    FollowUpFactory(lead=LeadFactory(owner=UserFactory(role="rep")))
    assert [row["id"] for row in rep_api.get("/api/v1/follow-ups/").json()["results"]] == [sooner.pk, later.pk]
    assert [row["id"] for row in rep_api.get("/api/v1/follow-ups/?status=done").json()["results"]] == [done.pk]
    assert rep_api.get("/api/v1/follow-ups/?status=any").json()["count"] == 3
    assert manager_api.get("/api/v1/follow-ups/").json()["count"] == 0  # "mine": the manager has none
    row = rep_api.get("/api/v1/follow-ups/").json()["results"][0]
    assert row["lead_name"] == str(sooner.lead) and row["lead_phone"] == sooner.lead.phone


def test_complete_a_follow_up(lead, rep_api):
    follow_up = FollowUpFactory(lead=lead)
    response = rep_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {"note": "Called"}, format="json")
    assert response.status_code == 200
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.status_note) == ("done", "Called")
    again = rep_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {}, format="json")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "This follow-up is already done."


def test_snooze_a_follow_up(lead, rep_api):
    follow_up = FollowUpFactory(lead=lead)
    until = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = rep_api.post(
        f"/api/v1/follow-ups/{follow_up.pk}/snooze/", {"until": until.isoformat(), "reason": "At a fair"}, format="json"
    )
    assert response.status_code == 200, response.content
    follow_up.refresh_from_db()
    assert (follow_up.due_at, follow_up.snoozed_count, follow_up.status_note) == (until, 1, "At a fair")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"until": "2001-01-01T00:00:00Z", "reason": "x"}, "until", "Snooze until a time in the future."),
        ({"until": "2999-01-01T00:00:00Z", "reason": " "}, "reason", "Say why you are snoozing it."),
        ({"until": "tomorrow", "reason": "x"}, "until", None),
    ],
)
def test_bad_snoozes_change_nothing(lead, rep_api, body, field, message):
    follow_up = FollowUpFactory(lead=lead)
    response = rep_api.post(f"/api/v1/follow-ups/{follow_up.pk}/snooze/", body, format="json")
    assert response.status_code == 400
    messages = response.json()["error"]["fields"][field]
    assert message is None or messages == [message]
    assert messages[0]
    before_due = follow_up.due_at
    follow_up.refresh_from_db()
    assert (follow_up.due_at, follow_up.snoozed_count) == (before_due, 0)


@pytest.mark.parametrize("size", [2, 20])
def test_list_query_counts_do_not_grow(rep, rep_api, django_assert_max_num_queries, size):
    for _ in range(size):
        lead = LeadFactory(owner=rep)
        FollowUpFactory(lead=lead)
        CallFactory(lead=lead)
    with django_assert_max_num_queries(5):
        assert rep_api.get("/api/v1/follow-ups/").json()["count"] == size
    with django_assert_max_num_queries(5):
        assert rep_api.get("/api/v1/calls/").json()["count"] == size
    lead_id = Lead.objects.filter(owner=rep).first().pk
    with django_assert_max_num_queries(4):
        assert rep_api.get(f"/api/v1/leads/{lead_id}/calls/").status_code == 200
