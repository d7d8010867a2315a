"""Escalation: overdue and long-stale leads slip to the manager's list unless the rep snoozed them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from leads.models import Stage, TimelineEntry
from tests.factories import FollowUpFactory, LeadFactory, UserFactory
from warmcrm.dashboard.models import Team
from warmcrm.hygiene.selectors import slipping_leads_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.HYGIENE_ESCALATE_OVERDUE_DAYS = 2
    settings.HYGIENE_ESCALATE_STALE_MULTIPLE = 2
    settings.STALE_AFTER_DAYS = {"hot": 3, "warm": 7, "lukewarm": 21, "cold": 60}


def overdue_lead(owner, days: float, **fields):
    lead = LeadFactory(owner=owner, last_conversation_at=timezone.now() - timedelta(days=1), **fields)
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=days))
    return lead


def quiet_lead(owner, days: float, band: str = "warm", **fields):
    return LeadFactory(
        owner=owner, warmth_band=band, last_conversation_at=timezone.now() - timedelta(days=days), **fields
    )


def slipping_ids(user) -> set[int]:
    leads = slipping_leads_for(user)
    return {lead.pk for lead in leads[:1000]}


def test_overdue_by_more_than_the_setting_escalates(rep, manager):
    late = overdue_lead(rep, days=2.5)
    on_time = overdue_lead(rep, days=1.5)
    assert slipping_ids(manager) == {late.pk}
    assert on_time.pk not in slipping_ids(manager)


def test_stale_beyond_the_multiple_of_its_bands_threshold_escalates(rep, manager):
    warm_long = quiet_lead(rep, days=15)  # warm: 7 days x 2 = 14
    warm_short = quiet_lead(rep, days=13)
    hot_long = quiet_lead(rep, days=7, band="hot")  # hot: 3 x 2 = 6
    never_called = LeadFactory(owner=rep, warmth_band="warm", created_at=timezone.now() - timedelta(days=20))
    assert slipping_ids(manager) == {warm_long.pk, hot_long.pk, never_called.pk}
    assert warm_short.pk not in slipping_ids(manager)


def test_a_snoozed_lead_is_not_escalated_before_its_date(rep, manager):
    snoozed = overdue_lead(rep, days=5, stale_snoozed_until=timezone.now() + timedelta(days=3))
    quiet_snoozed = quiet_lead(rep, days=40, stale_snoozed_until=timezone.now() + timedelta(days=3))
    expired = overdue_lead(rep, days=5, stale_snoozed_until=timezone.now() - timedelta(hours=1))
    assert slipping_ids(manager) == {expired.pk}
    assert not {snoozed.pk, quiet_snoozed.pk} & slipping_ids(manager)


def test_closed_and_do_not_call_leads_do_not_slip(rep, manager):
    quiet_lead(rep, days=100, stage=Stage.WON)
    quiet_lead(rep, days=100, stage=Stage.LOST, lost_reason="No budget")
    quiet_lead(rep, days=100, do_not_call=True)
    assert slipping_ids(manager) == set()


def test_managers_of_a_team_see_their_members_leads_others_see_all(rep, other_rep, manager, admin_user):
    mine, theirs = overdue_lead(rep, days=5), overdue_lead(other_rep, days=5)
    team = Team.objects.create(name="West")
    team.managers.add(manager)
    team.members.add(rep)
    loner = UserFactory(username="lone", role="manager")
    assert slipping_ids(manager) == {mine.pk}
    assert slipping_ids(loner) == {mine.pk, theirs.pk}
    assert slipping_ids(admin_user) == {mine.pk, theirs.pk}
    assert slipping_ids(rep) == set()


def test_slipping_page_for_managers_and_admins_reps_get_403(rep, manager_client, admin_client_role, rep_client):
    lead = overdue_lead(rep, days=5, first_name="Sam", last_name="Slipping")
    for client in (manager_client, admin_client_role):
        response = client.get("/hygiene/slipping/")
        assert response.status_code == 200
        assert "Sam Slipping" in response.content.decode()
        assert f"/leads/{lead.pk}/" in response.content.decode()
        assert "Follow-up overdue since" in response.content.decode()
    assert rep_client.get("/hygiene/slipping/").status_code == 403


def test_the_dashboard_links_to_the_hygiene_pages(manager_client):
    page = manager_client.get("/dashboard/").content.decode()
    for url in ("/hygiene/slipping/", "/hygiene/duplicates/", "/hygiene/lost-reasons/"):
        assert url in page


@pytest.mark.parametrize("count", [3, 30])
def test_slipping_page_queries_do_not_grow_with_the_data(rep, manager_client, django_assert_max_num_queries, count):
    for _ in range(count):
        overdue_lead(rep, days=5)
        quiet_lead(rep, days=40)
    with django_assert_max_num_queries(9):
        response = manager_client.get("/hygiene/slipping/")
    assert response.context["total"] == 2 * count


# --- The rep's snooze on the lead page ---------------------------------------------------------------


def test_the_lead_page_offers_the_snooze(lead, rep_client):
    page = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'action="/hygiene/leads/{lead.pk}/snooze/"' in page and "Snooze the stale flag" in page


def test_a_rep_snoozes_their_lead_with_a_reason_and_it_stops_slipping(rep, rep_client, manager):
    lead = overdue_lead(rep, days=5)
    until = timezone.localdate() + timedelta(days=10)
    response = rep_client.post(
        f"/hygiene/leads/{lead.pk}/snooze/", {"until": until.isoformat(), "reason": "Budget decision in March"}
    )
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert timezone.localtime(lead.stale_snoozed_until).date() == until
    assert lead.stale_snooze_reason == "Budget decision in March"
    assert TimelineEntry.objects.filter(lead=lead, kind=TimelineEntry.Kind.SNOOZED).exists()
    assert lead.pk not in slipping_ids(manager)
    page = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Budget decision in March" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"until": "", "reason": "Later"}, "Pick a date."),
        ({"until": "2000-01-01", "reason": "Later"}, "Pick a date after today."),
        ({"until": "2099-01-01", "reason": ""}, "Say why this lead can wait."),
    ],
)
def test_a_bad_snooze_says_why_and_writes_nothing(lead, rep_client, data, message):
    response = rep_client.post(f"/hygiene/leads/{lead.pk}/snooze/", data, follow=True)
    assert message in response.content.decode()
    lead.refresh_from_db()
    assert lead.stale_snoozed_until is None and lead.stale_snooze_reason == ""
    assert not TimelineEntry.objects.filter(lead=lead, kind=TimelineEntry.Kind.SNOOZED).exists()


def test_a_rep_cannot_snooze_another_reps_lead(other_lead, rep_client):
    response = rep_client.post(f"/hygiene/leads/{other_lead.pk}/snooze/", {"until": "2099-01-01", "reason": "x"})
    assert response.status_code == 404
    other_lead.refresh_from_db()
    assert other_lead.stale_snoozed_until is None


def test_snooze_needs_post_and_login(lead, rep_client):
    assert rep_client.get(f"/hygiene/leads/{lead.pk}/snooze/").status_code == 405
    assert Client().post(f"/hygiene/leads/{lead.pk}/snooze/", {}).status_code == 302
