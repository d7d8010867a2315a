"""The summary the dashboard reads: rebuilt by beat, rebuilt by the page when too old, exact in any time zone.

"Now" is Wednesday 18 March 2026, 12:00 UTC (conftest.NOW): this week is Monday 16 - Wednesday 18 March.
Asia/Kolkata is UTC+5:30, so its week starts at 18:30 UTC on Sunday 15 March, inside a UTC day that the
summary holds whole: the part of that day in the week is counted from the leads and calls themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from calls.models import Outcome
from calls.services import call_log
from leads.models import ConnectionType, Stage
from tests.factories import EventFactory, LeadFactory, ReferralFactory, ReferralSourceFactory, UserFactory
from warmcrm.accounts.models import Profile
from warmcrm.dashboard import tasks
from warmcrm.dashboard.models import CohortDay, ReferralDay, RepCallDay, SummaryState
from warmcrm.dashboard.services import summary_rebuild

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def rita(frozen):
    return UserFactory(username="rita", first_name="Rita", last_name="Ramos", role="rep")


def manager_client(time_zone: str = "UTC") -> Client:
    manager = UserFactory(role="manager")
    Profile.objects.update_or_create(user=manager, defaults={"time_zone": time_zone})
    client = Client()
    client.force_login(manager)
    return client


def page(client: Client, **params):
    response = client.get("/dashboard/", params)
    assert response.status_code == 200, response.content[:300]
    return response.context


def leads_by_connection(context) -> dict[str, int]:
    return {row.key: row.leads for row in context["connections"] if row.leads}


def test_a_half_hour_zone_counts_the_partial_utc_days_from_the_leads(rita):
    expo = EventFactory(name="Expo")
    LeadFactory(
        owner=rita, connection_type=ConnectionType.EVENT_LIST, event=expo, created_at=at(15, 18, 20)
    )  # Sun 23:50 IST
    LeadFactory(
        owner=rita, connection_type=ConnectionType.EVENT_LIST, event=expo, created_at=at(15, 18, 40)
    )  # Mon 00:10 IST
    LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL, created_at=at(17, 9))
    LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL, created_at=at(18, 11))  # today, in both zones
    summary_rebuild()

    kolkata = page(manager_client("Asia/Kolkata"), period="week")
    assert leads_by_connection(kolkata) == {"event_list": 1, "referral": 2}
    assert [(row.name, row.leads) for row in kolkata["events"]] == [("Expo", 1)]
    assert [row.now for row in kolkata["funnel"]][0] == 3  # all new

    utc = page(manager_client("UTC"), period="week")
    assert leads_by_connection(utc) == {"referral": 2}
    assert utc["events"] == []


def test_rep_activity_under_a_connection_filter_reads_the_summary_and_the_partial_days(rita):
    listed = LeadFactory(owner=rita, connection_type=ConnectionType.EVENT_LIST)
    referred = LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL)
    call_log(lead=listed, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(15, 18, 20))  # Sun 23:50 IST
    call_log(lead=listed, rep=rita, outcome=Outcome.CONNECTED_OTHER, called_at=at(15, 18, 40))  # Mon 00:10 IST
    call_log(lead=listed, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(17, 10))
    call_log(lead=referred, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(17, 11))
    summary_rebuild()

    def calls(client: Client, **params) -> list[tuple]:
        return [(r.name, r.calls, r.conversations, r.appointments) for r in page(client, **params)["reps"] if r.calls]

    kolkata, utc = manager_client("Asia/Kolkata"), manager_client("UTC")
    assert calls(kolkata, period="week", connection="event_list") == [("Rita Ramos", 2, 2, 1)]
    assert calls(utc, period="week", connection="event_list") == [("Rita Ramos", 1, 1, 1)]
    assert calls(utc, period="week", connection="referral") == [("Rita Ramos", 1, 0, 0)]
    assert calls(kolkata, period="week") == [("Rita Ramos", 3, 2, 1)]  # RepCallHour, without the summary


def test_the_page_shows_the_last_rebuild_until_the_next_and_rebuilds_one_too_old(rita, time_machine, settings):
    client = manager_client()
    LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL, created_at=at(17, 9))
    assert leads_by_connection(page(client)) == {"referral": 1}  # never built: the page builds it
    assert SummaryState.objects.get().built_at == at(18, 12)

    LeadFactory(owner=rita, connection_type=ConnectionType.COLD, created_at=at(18, 10))
    assert leads_by_connection(page(client)) == {"referral": 1}  # as of the last rebuild, as the page says
    time_machine.shift(settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS + 1)
    assert leads_by_connection(page(client)) == {"referral": 1, "cold": 1}


def test_the_page_says_when_the_summary_was_counted(rita, time_machine, settings):
    settings.DASHBOARD_SUMMARY_SECONDS = 120
    summary_rebuild()
    time_machine.shift(90)
    html = manager_client().get("/dashboard/").content.decode()
    assert "counted at 12:00, recounted every 2 minutes" in html


def test_beat_runs_the_rebuild_task_and_it_recounts_everything(rita, settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["dashboard-summary"]
    assert schedule["task"] == "warmcrm.dashboard.tasks.summary_rebuild"
    assert schedule["schedule"] == settings.DASHBOARD_SUMMARY_SECONDS
    source = ReferralSourceFactory(name="Anna")
    won = LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL, stage=Stage.WON, created_at=at(17, 9))
    ReferralFactory(source=source, lead=won, referred_on=at(17, 9).date())
    call_log(lead=won, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(17, 10))

    tasks.summary_rebuild.apply().get()
    first = (
        list(CohortDay.objects.values_list("day", "owner_id", "connection_type", "leads", "now_won", "contacted")),
        list(ReferralDay.objects.values_list("day", "source_id", "made", "converted")),
        list(RepCallDay.objects.values_list("day", "rep_id", "connection_type", "calls")),
    )
    assert first == (
        [(at(17, 0).date(), rita.pk, "referral", 1, 1, 1)],
        [(at(17, 0).date(), source.pk, 1, 1)],
        [(at(17, 0).date(), rita.pk, "referral", 1)],
    )
    tasks.summary_rebuild.apply().get()  # safe to run twice: the same rows, not twice as many
    assert CohortDay.objects.count() == ReferralDay.objects.count() == RepCallDay.objects.count() == 1


def test_the_stale_count_is_as_of_the_rebuild_and_the_list_is_live(rita, time_machine, settings):
    """A warm lead is stale after 7 quiet days (settings.STALE_AFTER_DAYS): one arrives 6 days and 23 hours ago."""
    settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS = 3 * 3600  # the page does not rebuild it within the test
    client = manager_client()
    LeadFactory(owner=rita, warmth_band="warm", created_at=at(11, 13))
    summary_rebuild()
    assert (page(client)["stale"].total, len(page(client)["stale"].leads)) == (0, 0)
    time_machine.shift(2 * 3600)  # past the threshold, before the next rebuild
    assert (page(client)["stale"].total, len(page(client)["stale"].leads)) == (0, 1)
    summary_rebuild()
    assert (page(client)["stale"].total, len(page(client)["stale"].leads)) == (1, 1)


def test_follow_ups_done_count_the_readers_days_and_overdue_is_as_of_the_rebuild(rita, time_machine, settings):
    from leads.models import FollowUp
    from tests.factories import FollowUpFactory

    settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS = 3 * 3600
    done = FollowUp.Status.DONE
    for closed in (at(15, 18, 20), at(15, 18, 40), at(17, 9)):  # Sun 23:50 IST, Mon 00:10 IST, Tuesday
        FollowUpFactory(lead=LeadFactory(owner=rita), owner=rita, due_at=closed, status=done, closed_at=closed)
    FollowUpFactory(lead=LeadFactory(owner=rita), owner=rita, due_at=at(18, 11))  # overdue since an hour
    FollowUpFactory(lead=LeadFactory(owner=rita), owner=rita, due_at=at(18, 13))  # due in an hour
    summary_rebuild()

    def follow_ups(client: Client) -> list[tuple]:
        return [(r.name, r.follow_ups_done, r.follow_ups_overdue) for r in page(client, period="week")["reps"]]

    kolkata, utc = manager_client("Asia/Kolkata"), manager_client("UTC")
    assert follow_ups(kolkata) == [("Rita Ramos", 2, 1)]
    assert follow_ups(utc) == [("Rita Ramos", 1, 1)]
    time_machine.shift(2 * 3600)  # the second is overdue now, but not at the rebuild
    assert follow_ups(utc) == [("Rita Ramos", 1, 1)]
    summary_rebuild()
    assert follow_ups(utc) == [("Rita Ramos", 1, 2)]


def test_a_database_without_the_state_row_still_gets_a_summary(rita):
    """A flushed database (tests, a restored dump of data only) has no SummaryState row: the page makes it."""
    SummaryState.objects.all().delete()
    LeadFactory(owner=rita, connection_type=ConnectionType.REFERRAL, created_at=at(17, 9))
    assert leads_by_connection(page(manager_client())) == {"referral": 1}
    assert SummaryState.objects.get().built_at == at(18, 12)


def test_a_rebuild_that_waited_for_another_does_not_redo_it(rita, time_machine):
    """summary_ensure_fresh passes its cutoff: a summary built after it (by the page that held the lock) stands."""
    summary_rebuild()
    built = SummaryState.objects.get().built_at
    LeadFactory(owner=rita, created_at=at(17, 9))
    time_machine.shift(60)
    assert summary_rebuild(unless_built_after=built - timedelta(seconds=1)).built_at == built
    assert CohortDay.objects.count() == 0  # not recounted: the lead waits for the next rebuild
    assert summary_rebuild(unless_built_after=built).built_at > built
    assert CohortDay.objects.count() == 1


def test_an_event_deleted_since_the_rebuild_leaves_the_events_panel(rita):
    expo = EventFactory(name="Expo")
    LeadFactory(owner=rita, connection_type=ConnectionType.EVENT_LIST, event=expo, created_at=at(17, 9))
    LeadFactory(owner=rita, connection_type=ConnectionType.EVENT_LIST, event=EventFactory(name="Fair"),
                created_at=at(17, 9))  # fmt: skip
    summary_rebuild()
    expo.delete()  # the lead's event is cleared (SET_NULL); the summary still has the old row
    assert [row.name for row in page(manager_client(), period="week")["events"]] == ["Fair"]
