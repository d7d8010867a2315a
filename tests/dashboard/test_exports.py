"""CSV exports: the same figures as the page, every text cell formula-safe."""

from __future__ import annotations

import csv
import io

import pytest

from warmcrm.dashboard.exports import safe_cell

pytestmark = pytest.mark.django_db


def rows_of(client, panel: str, **params) -> list[list[str]]:
    response = client.get(f"/dashboard/export/{panel}.csv", params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="warmcrm-{panel}-2026-03-18.csv"'
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_with_a_formula_trigger_is_neutralised(trigger):
    assert safe_cell(f"{trigger}SUM(A1:A9)") == f"'{trigger}SUM(A1:A9)"


def test_ordinary_values_are_left_alone():
    assert safe_cell("Acme Anna") == "Acme Anna"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell(-3) == -3  # a number is data, not a formula
    assert safe_cell(None) == ""


def test_referrer_export_neutralises_a_formula_name(maria_client):
    assert rows_of(maria_client, "referrers") == [
        ["Referrer", "Organisation", "Referrals made", "Converted (won)", "Conversion %", "Most recent"],
        ["Acme Anna", "Acme", "2", "1", "50.0", "2026-03-17"],
        ['\'=HYPERLINK("http://evil.example","click")', "'@Evil Co", "1", "0", "0.0", "2026-02-01"],
    ]


def test_funnel_export(maria_client):
    assert rows_of(maria_client, "funnel") == [
        ["Stage", "Leads at this stage now", "Reached this stage", "% on to next stage"],
        ["New", "1", "9", "88.9"],
        ["Attempted", "2", "8", "75.0"],
        ["Connected", "1", "6", "66.7"],
        ["Appointment set", "1", "4", "75.0"],
        ["Qualified", "1", "3", "66.7"],
        ["Handed to sales / won", "2", "2", ""],
        ["Lost", "1", "", ""],
        ["Nurture", "0", "", ""],
    ]


def test_connections_export_follows_the_filters(maria_client):
    assert rows_of(maria_client, "connections", connection="referral", period="week") == [
        ["Connection", "Leads", "Contacted", "Contacted %", "Appointments", "Appointments %", "Won", "Won %"],
        ["Referral", "2", "1", "50.0", "1", "50.0", "1", "50.0"],
    ]


def test_events_export(maria_client):
    assert rows_of(maria_client, "events")[1:] == [
        ["Expo", "2026-03-02", "3", "1", "1", "1", "5.0"],
        ["Fair", "2026-01-10", "1", "1", "1", "0", "1.0"],
    ]


def test_reps_export(maria_client):
    assert rows_of(maria_client, "reps", period="month")[1:] == [
        ["Rita Ramos", "3", "0.2", "2", "2", "1", "1"],
        ["Raj Patel", "2", "0.1", "1", "0", "0", "0"],
        ["Rosa Lind", "0", "0.0", "0", "0", "0", "0"],
    ]


def test_bands_export_keeps_negative_movement_a_number(maria_client, world):
    from datetime import date

    from warmcrm.dashboard.services import band_snapshot_take

    band_snapshot_take(day=date(2026, 3, 11))
    world.leads["L3"].warmth_band = "hot"
    world.leads["L3"].save(update_fields=["warmth_band"])
    assert rows_of(maria_client, "bands") == [
        ["Band", "Leads now", "A week ago", "Moved this week"],
        ["Hot", "4", "3", "1"],
        ["Warm", "2", "3", "-1"],
        ["Lukewarm", "1", "1", "0"],
        ["Cold", "4", "4", "0"],
    ]


def test_stale_export_lists_every_stale_lead(maria_client, world):
    rows = rows_of(maria_client, "stale")
    assert rows[0] == ["Lead id", "First name", "Last name", "Company", "Band", "Stage", "Owner", "Quiet since"]
    assert [(row[1], row[6], row[7][:10]) for row in rows[1:]] == [
        ("L8", "rosa", "2025-10-01"),
        ("L4", "raj", "2026-01-20"),
        ("L3", "raj", "2026-03-03"),
        ("L9", "rita", "2026-03-10"),
    ]


def test_stale_export_neutralises_lead_names(maria_client, world):
    lead = world.leads["L3"]
    lead.first_name, lead.company = "+1 call me", "-Dash Ltd"
    lead.save(update_fields=["first_name", "company"])
    row = next(row for row in rows_of(maria_client, "stale") if row[0] == str(lead.pk))
    assert row[1] == "'+1 call me" and row[3] == "'-Dash Ltd"


def test_export_with_bad_filters_says_why(maria_client):
    response = maria_client.get("/dashboard/export/funnel.csv", {"period": "custom"})
    assert response.status_code == 400
    assert "Pick both a start and an end date for a custom period." in response.content.decode()
