"""Chart data for the dashboard panels, from the same rows the tables show (static/js/dashboard.js draws them)."""

from __future__ import annotations

from typing import Any

from . import selectors


def _chart(kind: str, labels: list[str], datasets: list[tuple[str, list]], *, x: str, y: str, **extra: Any) -> dict:
    return {
        "type": kind,
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in datasets],
        "x_title": x,
        "y_title": y,
        **extra,
    }


def funnel_chart(rows: list[selectors.FunnelRow]) -> dict:
    path = [row for row in rows if row.reached is not None]
    return _chart(
        "bar",
        [row.label for row in path],
        [("Leads that reached the stage", [row.reached for row in path])],
        x="Leads",
        y="Stage",
        horizontal=True,
    )


def connections_chart(rows: list[selectors.ConversionRow]) -> dict:
    return _chart(
        "bar",
        [row.label for row in rows],
        [
            ("Contacted %", [row.contacted_rate or 0 for row in rows]),
            ("Appointments %", [row.appointment_rate or 0 for row in rows]),
            ("Won %", [row.won_rate or 0 for row in rows]),
        ],
        x="Connection type",
        y="% of leads",
        percent=True,
    )


def events_chart(rows: list[selectors.EventRow]) -> dict:
    top = rows[:10]
    return _chart(
        "bar",
        [row.name for row in top],
        [
            ("Leads", [row.leads for row in top]),
            ("Contacted within 7 days", [row.contacted_7_days for row in top]),
            ("Appointments", [row.appointments for row in top]),
            ("Won", [row.won for row in top]),
        ],
        x="Event",
        y="Leads",
    )


def referrers_chart(rows: list[selectors.ReferrerRow]) -> dict:
    top = rows[:10]
    return _chart(
        "bar",
        [row.name for row in top],
        [("Referrals made", [row.made for row in top]), ("Converted (won)", [row.converted for row in top])],
        x="Referrer",
        y="Referrals",
    )


def reps_chart(rows: list[selectors.RepRow]) -> dict:
    return _chart(
        "bar",
        [row.name for row in rows],
        [
            ("Calls", [row.calls for row in rows]),
            ("Conversations", [row.conversations for row in rows]),
            ("Appointments set", [row.appointments for row in rows]),
        ],
        x="Rep",
        y="Calls in the period",
    )


def bands_chart(bands: selectors.Bands) -> dict:
    datasets: list[tuple[str, list]] = [("Leads now", [row.now for row in bands.rows])]
    if bands.snapshot_date is not None:
        datasets.append((f"On {bands.snapshot_date:%d %b}", [row.week_ago for row in bands.rows]))
    return _chart("bar", [row.label for row in bands.rows], datasets, x="Warmth band", y="Leads")
