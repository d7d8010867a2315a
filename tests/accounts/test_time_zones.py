"""'Today', 'due' and 'overdue' in the signed-in rep's own time zone: Today queue, lead page, API, nav badge."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client, RequestFactory

from tests.factories import FollowUpFactory, LeadFactory, UserFactory
from warmcrm.accounts.context_processors import due_badge
from warmcrm.accounts.selectors import profile_for

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
# 16:00 in Los Angeles on Tuesday 10 March 2026 is 23:00 UTC: still the 10th for both.
NOW = datetime(2026, 3, 10, 16, 0, tzinfo=LA)
# 23:30 in Los Angeles on the 10th is 06:30 UTC on the 11th: today for the rep there, tomorrow in UTC.
DUE_LATE_EVENING = datetime(2026, 3, 10, 23, 30, tzinfo=LA)


def signed_in(user, time_zone: str) -> Client:
    profile = profile_for(user)
    profile.time_zone = time_zone
    profile.save()
    client = Client()
    client.force_login(user)  # the login remembers the zone in the session
    return client


@pytest.fixture
def two_reps(db):
    west = UserFactory(username="wes", role="rep")
    utc = UserFactory(username="uma", role="rep")
    for owner in (west, utc):
        lead = LeadFactory(owner=owner, first_name="Late", last_name=owner.username.capitalize())
        FollowUpFactory(lead=lead, due_at=DUE_LATE_EVENING)
    return west, utc


def test_a_follow_up_due_at_2330_local_is_today_for_that_rep_and_tomorrow_in_utc(two_reps):
    west, utc = two_reps
    with time_machine.travel(NOW, tick=False):
        west_page = signed_in(west, "America/Los_Angeles").get("/leads/today/")
        utc_page = signed_in(utc, "UTC").get("/leads/today/")
    assert west_page.context["queue"].due_count == 1
    assert [row.lead.last_name for row in west_page.context["queue"].due] == ["Wes"]
    assert utc_page.context["queue"].due_count == 0
    assert utc_page.context["queue"].overdue_count == 0


def test_the_same_follow_up_is_overdue_the_next_local_morning_only(two_reps):
    west, _ = two_reps
    # 08:00 in LA on the 11th (15:00 UTC): the 23:30 follow-up of the 10th is now overdue for the rep.
    with time_machine.travel(datetime(2026, 3, 11, 8, 0, tzinfo=LA), tick=False):
        page = signed_in(west, "America/Los_Angeles").get("/leads/today/")
    assert page.context["queue"].overdue_count == 1
    # Seven hours earlier, 01:00 in LA but already the 11th in UTC: still due today, not overdue.
    with time_machine.travel(datetime(2026, 3, 11, 0, 59, tzinfo=LA), tick=False):
        page = signed_in(west, "America/Los_Angeles").get("/leads/today/")
    assert (page.context["queue"].overdue_count, page.context["queue"].due_count) == (1, 0)


def test_lead_page_and_api_show_the_due_time_in_the_reps_zone(two_reps):
    west, _ = two_reps
    lead = west.leads.get()
    client = signed_in(west, "America/Los_Angeles")
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/leads/{lead.pk}/")
        api = client.get(f"/api/v1/leads/{lead.pk}/")
    assert "Tue 10 Mar, 23:30" in page.content.decode()
    assert api.status_code == 200
    assert "2026-03-10T23:30:00-07:00" in api.content.decode()


def test_saving_the_profile_switches_the_zone_at_once(two_reps):
    _, utc = two_reps
    client = signed_in(utc, "UTC")
    with time_machine.travel(NOW, tick=False):
        assert client.get("/leads/today/").context["queue"].due_count == 0
        response = client.post(
            "/me/settings/",
            {"time_zone": "America/Los_Angeles", "working_days": ["0", "1", "2", "3", "4"], "digest_hour": "7"},
        )
        assert response.status_code == 302
        assert client.get("/leads/today/").context["queue"].due_count == 1


def test_a_session_from_before_profiles_reads_the_profile_once(two_reps):
    west, _ = two_reps
    client = signed_in(west, "America/Los_Angeles")
    session = client.session
    del session["warmcrm_time_zone"]
    session.save()
    with time_machine.travel(NOW, tick=False):
        assert client.get("/leads/today/").context["queue"].due_count == 1
        assert client.session["warmcrm_time_zone"] == "America/Los_Angeles"


def test_nav_badge_counts_due_and_overdue_follow_ups_in_the_reps_zone(two_reps):
    west, utc = two_reps
    FollowUpFactory(lead=LeadFactory(owner=west), due_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))  # overdue
    FollowUpFactory(lead=LeadFactory(owner=west), due_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC))  # later
    with time_machine.travel(NOW, tick=False):
        west_page = signed_in(west, "America/Los_Angeles").get("/leads/board/")
        utc_page = signed_in(utc, "UTC").get("/leads/board/")
    assert '<span class="badge" title="Follow-ups due today or overdue">2<' in west_page.content.decode()
    assert 'class="badge"' not in utc_page.content.decode()


def test_the_badge_context_processor_adds_exactly_one_query(two_reps, django_assert_num_queries):
    west, _ = two_reps
    request = RequestFactory().get("/")
    request.user = west
    west._warmcrm_role = "rep"  # the role context processor has already asked (and cached it)
    with django_assert_num_queries(1):
        context = due_badge(request)
        assert int(str(context["due_follow_ups"])) == 1


def test_api_token_calls_use_the_token_users_zone(two_reps):
    from rest_framework.test import APIClient

    from warmcrm.api.services import api_token_create

    west, _ = two_reps
    profile = profile_for(west)
    profile.time_zone = "America/Los_Angeles"
    profile.save()
    lead = west.leads.get()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=west, name='t')[1]}")
    response = client.get(f"/api/v1/leads/{lead.pk}/")
    assert response.status_code == 200
    assert "2026-03-10T23:30:00-07:00" in response.content.decode()
