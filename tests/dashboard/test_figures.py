"""Every dashboard figure against the hand-built pipeline of conftest.py; the expected numbers are worked by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from warmcrm.dashboard.models import BandSnapshot
from warmcrm.dashboard.services import band_snapshot_take

pytestmark = pytest.mark.django_db


def page(client, **params):
    response = client.get("/dashboard/", params)
    assert response.status_code == 200, response.content[:500]
    return response.context


def funnel_table(context):
    return [(row.label, row.now, row.reached, row.to_next) for row in context["funnel"]]


def test_funnel_last_90_days(maria_client):
    assert funnel_table(page(maria_client)) == [
        ("New", 1, 9, 88.9),
        ("Attempted", 2, 8, 75.0),
        ("Connected", 1, 6, 66.7),
        ("Appointment set", 1, 4, 75.0),
        ("Qualified", 1, 3, 66.7),
        ("Handed to sales / won", 2, 2, None),
        ("Lost", 1, None, None),
        ("Nurture", 0, None, None),
    ]


def test_conversion_by_connection_type(maria_client):
    rows = [
        (r.key, r.leads, r.contacted, r.contacted_rate, r.appointments, r.appointment_rate, r.won, r.won_rate)
        for r in page(maria_client)["connections"]
    ]
    assert rows == [
        ("event_asked", 1, 1, 100.0, 1, 100.0, 0, 0.0),
        ("event_list", 3, 2, 66.7, 1, 33.3, 1, 33.3),
        ("referral", 3, 2, 66.7, 1, 33.3, 1, 33.3),
        ("inbound", 1, 1, 100.0, 1, 100.0, 0, 0.0),
        ("prior_contact", 0, 0, None, 0, None, 0, None),
        ("customer", 0, 0, None, 0, None, 0, None),
        ("past_customer", 0, 0, None, 0, None, 0, None),
        ("cold", 1, 1, 100.0, 0, 0.0, 0, 0.0),
    ]


def test_events(maria_client):
    rows = [
        (r.name, r.leads, r.contacted_7_days, r.appointments, r.won, r.days_to_first_call)
        for r in page(maria_client)["events"]
    ]
    # Expo: L1 called after 1 day, L2 after 9 (not within 7), L3 never: average (1 + 9) / 2 = 5 days.
    assert rows == [("Expo", 3, 1, 1, 1, 5.0), ("Fair", 1, 1, 1, 0, 1.0)]


def test_referrers_top_converting_first(maria_client):
    rows = [(r.name, r.made, r.converted, r.conversion_rate, r.most_recent) for r in page(maria_client)["referrers"]]
    assert rows == [
        ("Acme Anna", 2, 1, 50.0, date(2026, 3, 17)),
        ('=HYPERLINK("http://evil.example","click")', 1, 0, 0.0, date(2026, 2, 1)),
    ]


def test_rep_activity_last_90_days(maria_client):
    rows = [
        (r.name, r.calls, r.calls_per_day, r.conversations, r.appointments, r.follow_ups_done, r.follow_ups_overdue)
        for r in page(maria_client)["reps"]
    ]
    assert rows == [
        ("Raj Patel", 4, 0.0, 3, 1, 1, 0),
        ("Rita Ramos", 3, 0.0, 2, 2, 1, 1),
        ("Rosa Lind", 1, 0.0, 1, 0, 0, 0),
    ]


def test_rep_activity_this_month_has_calls_per_day(maria_client):
    rows = [(r.name, r.calls, r.calls_per_day, r.follow_ups_done) for r in page(maria_client, period="month")["reps"]]
    # 1-18 March is 18 days: Rita 3 calls = 0.17 a day, Raj 2 (L10 on the 5th, L5 on the 17th) = 0.11.
    assert rows == [("Rita Ramos", 3, 0.2, 1), ("Raj Patel", 2, 0.1, 0), ("Rosa Lind", 0, 0.0, 0)]


def test_bands_now_without_a_snapshot(maria_client):
    bands = page(maria_client)["bands"]
    assert [(r.band, r.now, r.week_ago, r.moved) for r in bands.rows] == [
        ("hot", 3, None, None),
        ("warm", 3, None, None),
        ("lukewarm", 1, None, None),
        ("cold", 4, None, None),
    ]
    assert bands.snapshot_date is None
    assert "no snapshot yet" in maria_client.get("/dashboard/").content.decode()


def test_bands_moved_this_week_against_the_snapshot_of_a_week_ago(maria_client, world):
    band_snapshot_take(day=date(2026, 3, 11))
    band_snapshot_take(day=date(2026, 3, 15))  # too recent to compare with: ignored
    lead = world.leads["L3"]
    lead.warmth_band = "hot"
    lead.save(update_fields=["warmth_band"])
    bands = page(maria_client)["bands"]
    assert bands.snapshot_date == date(2026, 3, 11)
    assert [(r.band, r.now, r.week_ago, r.moved) for r in bands.rows] == [
        ("hot", 4, 3, 1),
        ("warm", 2, 3, -1),
        ("lukewarm", 1, 1, 0),
        ("cold", 4, 4, 0),
    ]


def test_stale_leads_longest_quiet_first(maria_client):
    stale = page(maria_client)["stale"]
    assert stale.total == 4
    assert [(lead.first_name, lead.owner.username, lead.days_quiet) for lead in stale.leads] == [
        ("L8", "rosa", 168),
        ("L4", "raj", 57),
        ("L3", "raj", 15),
        ("L9", "rita", 8),
    ]
    html = maria_client.get("/dashboard/").content.decode()
    assert f'href="/leads/{stale.leads[0].pk}/"' in html


def test_stale_threshold_is_per_band(maria_client, world, settings):
    settings.STALE_AFTER_DAYS = {**settings.STALE_AFTER_DAYS, "warm": 10}
    # L3 (15 days) and L4 (57) stay stale; L9 (8 days quiet) is no longer past a 10-day warm threshold.
    assert [lead.first_name for lead in page(maria_client)["stale"].leads] == ["L8", "L4", "L3"]


class TestSnapshotService:
    def test_counts_bands_per_owner_connection_and_event(self, world):
        written = band_snapshot_take(day=date(2026, 3, 18))
        rows = set(
            BandSnapshot.objects.values_list("band", "owner__username", "connection_type", "event__name", "count")
        )
        assert written == len(rows) == 10
        assert ("hot", "rita", "event_list", "Expo", 1) in rows
        assert ("cold", "rosa", "referral", None, 2) in rows  # L7 and L11
        assert sum(count for *_, count in rows) == 11

    def test_safe_to_run_twice(self, world):
        band_snapshot_take(day=date(2026, 3, 18))
        band_snapshot_take(day=date(2026, 3, 18))
        assert BandSnapshot.objects.filter(date=date(2026, 3, 18)).count() == 10
        band_snapshot_take(day=date(2026, 3, 18) - timedelta(days=1))
        assert BandSnapshot.objects.count() == 20

    def test_the_beat_task_takes_todays_snapshot(self, world, settings):
        from warmcrm.dashboard.tasks import band_snapshot_take as task

        assert settings.CELERY_BEAT_SCHEDULE["dashboard-band-snapshot"]["task"] == task.name
        assert task.apply().get() == 10
        assert set(BandSnapshot.objects.values_list("date", flat=True)) == {date(2026, 3, 18)}
