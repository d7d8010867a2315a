"""POST /api/v1/inbound/: website-form leads with dedupe, merge, round-robin and a follow-up within the hour."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from leads.models import FollowUp, Lead, TimelineEntry
from tests.factories import FollowUpFactory, LeadFactory, UserFactory
from warmcrm.api.inbound import inbound_next_rep
from warmcrm.api.models import ApiToken, InboundRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def form_api(client_for, admin_user):
    """What a website's form handler uses: a website-form token created by an admin."""
    return client_for(admin_user, ApiToken.Kind.INBOUND)


def post(client, **body):
    return client.post("/api/v1/inbound/", body, format="json")


def test_new_inbound_lead_is_created_assigned_and_due_within_the_hour(form_api, rep):
    before = timezone.now()
    response = post(
        form_api,
        first_name="Ann",
        last_name="Lee",
        email="Ann@Example.com",
        phone="(415) 555-0101",
        company="Acme",
        message="Please call me about pricing",
        page="/pricing",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["lead"])
    assert body["created"] is True and body["filled_fields"] == []
    assert (lead.connection_type, lead.owner_id, lead.email, lead.phone_e164) == (
        "inbound",
        rep.pk,
        "ann@example.com",
        "+14155550101",
    )
    assert "Please call me about pricing" in lead.research_notes and "/pricing" in lead.research_notes
    follow_up = FollowUp.objects.get(lead=lead, status="open")
    assert follow_up.reason == "inbound" and follow_up.owner_id == rep.pk
    assert before < follow_up.due_at <= timezone.now() + timedelta(hours=1)
    assert body["follow_up_id"] == follow_up.pk
    inbound = InboundRequest.objects.get()
    assert (inbound.lead_id, inbound.created_lead, inbound.assigned_to_id) == (lead.pk, True, rep.pk)
    assert inbound.payload["message"] == "Please call me about pricing"


def test_round_robin_takes_turns_over_active_reps_only(form_api):
    first, second, third = (UserFactory(role="rep") for _ in range(3))
    UserFactory(role="rep", is_active=False)
    UserFactory(role="manager")
    promoted = UserFactory(role="rep")
    promoted.groups.add(*UserFactory(role="manager").groups.all())  # now a manager: not in the rotation
    owners = [post(form_api, first_name=f"P{n}", email=f"p{n}@example.com").json()["owner"] for n in range(7)]
    assert owners == [first.pk, second.pk, third.pk, first.pk, second.pk, third.pk, first.pk]


def test_a_new_rep_gets_the_next_inbound_lead(form_api):
    veteran = UserFactory(role="rep")
    assert post(form_api, first_name="A", email="a@example.com").json()["owner"] == veteran.pk
    newcomer = UserFactory(role="rep")
    assert post(form_api, first_name="B", email="b@example.com").json()["owner"] == newcomer.pk


def test_no_reps_leaves_the_lead_unassigned_but_scheduled(form_api):
    body = post(form_api, first_name="Ann", email="ann@example.com").json()
    assert body["owner"] is None
    assert FollowUp.objects.get(lead_id=body["lead"]).reason == "inbound"


def test_same_email_merges_filling_blanks_never_overwriting(form_api, rep, other_rep):
    existing = LeadFactory(
        owner=other_rep,
        first_name="Ann",
        last_name="",
        company="Old Co",
        email="ann@example.com",
        phone="",
        phone_e164="",
        title="",
        connection_type="event_asked",
    )
    response = post(
        form_api,
        first_name="Annie",
        last_name="Lee",
        email=" ANN@example.com",
        company="New Co",
        phone="415-555-0102",
        title="CTO",
        message="Call me",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["lead"], body["created"]) == (existing.pk, False)
    assert sorted(body["filled_fields"]) == ["last_name", "phone", "research_notes", "title"]
    existing.refresh_from_db()
    assert (existing.first_name, existing.company) == ("Ann", "Old Co")  # never overwritten
    assert (existing.last_name, existing.title, existing.phone_e164) == ("Lee", "CTO", "+14155550102")
    assert (existing.owner_id, existing.connection_type) == (other_rep.pk, "event_asked")  # owner and connection stay
    merged = existing.timeline_entries.get(kind=TimelineEntry.Kind.MERGED)
    assert "filled last_name, title, phone, research_notes" in merged.summary and "Call me" in merged.summary
    assert merged.data["filled"] == ["last_name", "title", "phone", "research_notes"]
    assert existing.research_notes == "Website form: Call me"
    assert Lead.objects.count() == 1
    assert FollowUp.objects.get(lead=existing, status="open").reason == "inbound"
    assert InboundRequest.objects.get().assigned_to_id is None  # not a new assignment: no round-robin turn used


def test_phone_in_another_format_matches_when_no_email_matches(form_api, rep):
    existing = LeadFactory(owner=rep, email="", phone="(415) 555-0103", phone_e164="+14155550103")
    response = post(form_api, first_name="Bo", email="bo@example.com", phone="+1 415.555.0103")
    assert response.json()["lead"] == existing.pk
    existing.refresh_from_db()
    assert existing.email == "bo@example.com"


def test_email_match_wins_over_phone_match(form_api, rep):
    by_phone = LeadFactory(owner=rep, email="x@example.com", phone="(415) 555-0104", phone_e164="+14155550104")
    by_email = LeadFactory(owner=rep, email="bo@example.com", phone="", phone_e164="")
    assert post(form_api, first_name="Bo", email="bo@example.com", phone="4155550104").json()["lead"] == by_email.pk
    assert by_phone.timeline_entries.count() == 0


def test_a_merge_replaces_a_stale_reminder_but_keeps_a_requested_call_back(form_api, rep):
    stale_lead = LeadFactory(owner=rep, email="s@example.com")
    stale = FollowUpFactory(lead=stale_lead, reason="stale", due_at=timezone.now() + timedelta(days=3))
    post(form_api, first_name="S", email="s@example.com")
    stale.refresh_from_db()
    assert stale.reason == "inbound" and stale.due_at <= timezone.now() + timedelta(hours=1)

    call_back_lead = LeadFactory(owner=rep, email="c@example.com")
    call_back = FollowUpFactory(lead=call_back_lead, reason="call_back", due_at=timezone.now() + timedelta(days=1))
    post(form_api, first_name="C", email="c@example.com")
    call_back.refresh_from_db()
    assert call_back.reason == "call_back"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"first_name": "Ann"}, "email", "Give an email address or a phone number, so we can reach them."),
        ({"email": "ann@example.com"}, "first_name", "Give a first or last name."),
        ({"first_name": "Ann", "email": "not-an-email"}, "email", "Enter a valid email address."),
        (
            {"first_name": "Ann", "phone": "555"},
            "phone",
            "“555” is not a valid phone number for US or with a country code.",
        ),
        (
            {"first_name": "A" * 101, "email": "a@example.com"},
            "first_name",
            "Ensure this field has no more than 100 characters.",
        ),
    ],
)
def test_bad_submissions_say_why_and_write_nothing(form_api, rep, body, field, message):
    response = post(form_api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"][field] == [message]
    assert message in error["message"]
    assert not Lead.objects.exists()
    assert not FollowUp.objects.exists()
    assert not InboundRequest.objects.exists()


def test_a_failure_late_in_the_request_leaves_nothing_half_written(form_api, rep):
    failing = mock.patch("warmcrm.api.inbound.InboundRequest.objects.create", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError):
        post(form_api, first_name="Ann", email="ann@example.com")
    assert not Lead.objects.exists()
    assert not FollowUp.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_next_rep_is_deterministic_by_oldest_assignment(rep, other_rep):
    assert inbound_next_rep().pk == min(rep.pk, other_rep.pk)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_make_one_lead_and_take_turns(admin_user):
    """On PostgreSQL: the same person sent twice at once is one lead; different people rotate over the reps."""
    from tests.leads.test_concurrency import at_once
    from warmcrm.api.inbound import inbound_lead_receive

    reps = [UserFactory(role="rep") for _ in range(3)]
    same = [lambda: inbound_lead_receive(actor=admin_user, token=None, first_name="Ann", email="ann@example.com")] * 4
    assert at_once(*same) == []
    assert Lead.objects.filter(email="ann@example.com").count() == 1
    assert InboundRequest.objects.filter(created_lead=True).count() == 1

    people = [
        lambda n=n: inbound_lead_receive(actor=admin_user, token=None, first_name=f"P{n}", email=f"p{n}@example.com")
        for n in range(6)
    ]
    assert at_once(*people) == []
    new_leads = Lead.objects.exclude(email="ann@example.com")
    counts = sorted(new_leads.filter(owner=rep).count() for rep in reps)
    assert counts == [2, 2, 2]  # 7 new leads in all: Ann went to one rep, then strict turns
    assert FollowUp.objects.filter(reason="inbound", status="open").count() == 7
