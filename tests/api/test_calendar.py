"""The private ICS feed: open follow-ups and future appointments, parseable, revocable, one URL per user."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.factories import CallFactory, EventFactory, FollowUpFactory, LeadFactory, ReferralFactory
from warmcrm.api.models import CalendarFeedToken
from warmcrm.api.services import calendar_feed_token_create

pytestmark = pytest.mark.django_db


def events_of(response) -> list:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return list(calendar.walk("VEVENT"))


def feed_url(secret: str) -> str:
    return f"/api/calendar/{secret}.ics"


def test_feed_lists_open_follow_ups_and_future_appointments_with_lead_details(client, rep, other_rep):
    expo = EventFactory(name="Expo West")
    lead = LeadFactory(
        owner=rep, first_name="Ann", last_name="Lee", phone="(415) 555-0111", event=expo, connection_type="event_asked"
    )
    follow_up = FollowUpFactory(
        lead=lead, reason="call_back", due_at=(timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    )
    FollowUpFactory(lead=LeadFactory(owner=rep), status="done")  # closed: not listed
    FollowUpFactory(lead=LeadFactory(owner=other_rep))  # someone else's: not listed
    referred = ReferralFactory(
        lead=LeadFactory(owner=rep, first_name="Bo", last_name="Ng", connection_type="referral"),
        source__name="Carla Diaz",
    )
    appointment_at = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    CallFactory(lead=referred.lead, rep=rep, outcome="appointment_set", appointment_at=appointment_at)
    CallFactory(
        lead=LeadFactory(owner=rep), outcome="appointment_set", appointment_at=timezone.now() - timedelta(days=1)
    )
    _feed, secret = calendar_feed_token_create(user=rep)

    events = events_of(client.get(feed_url(secret)))
    assert [str(event["summary"]) for event in events] == ["Call Ann Lee (requested call-back)", "Appointment: Bo Ng"]
    call_event, appointment = events
    description = str(call_event["description"])
    assert "Lead: Ann Lee" in description
    assert "Phone: (415) 555-0111" in description
    assert "Connection: Met at Expo West - asked you to call" in description
    assert f"/leads/{lead.pk}/" in description
    assert call_event["uid"] == f"follow-up-{follow_up.pk}@warmcrm"
    assert call_event.decoded("dtstart") == follow_up.due_at
    assert "Connection: Referred by Carla Diaz" in str(appointment["description"])
    assert appointment.decoded("dtstart") == appointment_at
    assert appointment.decoded("dtend") - appointment.decoded("dtstart") == timedelta(minutes=30)


def test_a_rescheduled_appointment_appears_once_at_its_latest_time(client, rep, lead):
    CallFactory(
        lead=lead,
        outcome="appointment_set",
        appointment_at=timezone.now() + timedelta(days=1),
        called_at=timezone.now() - timedelta(days=2),
    )
    latest = CallFactory(lead=lead, outcome="appointment_set", appointment_at=timezone.now() + timedelta(days=5))
    _feed, secret = calendar_feed_token_create(user=rep)
    events = events_of(client.get(feed_url(secret)))
    assert [event["uid"] for event in events] == [f"appointment-{latest.pk}@warmcrm"]


def test_revoked_or_replaced_or_unknown_secret_is_404(client, rep):
    _feed, first = calendar_feed_token_create(user=rep)
    _feed, second = calendar_feed_token_create(user=rep)  # a new URL replaces the old
    assert client.get(feed_url(first)).status_code == 404
    assert client.get(feed_url(second)).status_code == 200
    assert client.get(feed_url("guessed-secret")).status_code == 404
    CalendarFeedToken.objects.filter(user=rep).update(revoked_at=timezone.now())
    assert client.get(feed_url(second)).status_code == 404


def test_deactivated_users_feed_is_404(client, rep):
    _feed, secret = calendar_feed_token_create(user=rep)
    rep.is_active = False
    rep.save()
    assert client.get(feed_url(secret)).status_code == 404


def test_profile_page_creates_shows_once_and_revokes_the_feed(rep_client, rep, lead):
    FollowUpFactory(lead=lead)
    response = rep_client.post("/api/profile/calendar/")
    page = response.content.decode()
    url = re.search(r'value="(http://testserver/api/calendar/[^"]+\.ics)"', page).group(1)
    assert "shown only this once" in page
    stored = CalendarFeedToken.objects.get(user=rep)
    assert url.rsplit("/", 1)[1].removesuffix(".ics") not in stored.secret_hash

    assert len(events_of(rep_client.get(url.removeprefix("http://testserver")))) == 1
    assert url not in rep_client.get("/api/profile/").content.decode()

    response = rep_client.post("/api/profile/calendar/revoke/", follow=True)
    assert "Calendar URL revoked" in response.content.decode()
    assert rep_client.get(url.removeprefix("http://testserver")).status_code == 404


def test_feed_records_its_last_use(client, rep):
    feed, secret = calendar_feed_token_create(user=rep)
    client.get(feed_url(secret))
    feed.refresh_from_db()
    assert feed.last_used_at is not None


@pytest.mark.parametrize("size", [2, 20])
def test_feed_query_count_does_not_grow(client, rep, django_assert_max_num_queries, size):
    for number in range(size):
        lead = LeadFactory(owner=rep, event=EventFactory(), connection_type="event_list")
        FollowUpFactory(lead=lead)
        if number % 2:
            referral = ReferralFactory(lead=LeadFactory(owner=rep, connection_type="referral"))
            CallFactory(
                lead=referral.lead, outcome="appointment_set", appointment_at=timezone.now() + timedelta(days=1)
            )
    _feed, secret = calendar_feed_token_create(user=rep)
    # secret lookup, last-used, role, follow-ups, appointments: the same for 2 or 20 leads
    with django_assert_max_num_queries(5):
        assert len(events_of(client.get(feed_url(secret)))) == size + size // 2
