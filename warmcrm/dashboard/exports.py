"""CSV exports of the dashboard tables, formula-safe (OWASP "CSV injection" guidance).

A spreadsheet runs a cell that starts with = + - @ (or tab / carriage return, which some programs
skip before reading one of those), so every text cell starting with one gets a leading single quote.
Numbers are written as numbers: a negative count is data, not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so Excel reads UTF-8 names correctly
    writer = csv.writer(response)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response


def _pct(value: float | None) -> float | str:
    return "" if value is None else value


def panel_table(panel: str, user: Any, filters: Any) -> tuple[list[str], Iterable[Sequence[Any]]]:
    """The header and rows of one dashboard table, exactly the figures the page shows (referrers: all)."""
    from . import selectors  # local: selectors import the models, this module is imported by urls

    if panel == "funnel":
        rows = selectors.funnel(user, filters)
        return ["Stage", "Leads at this stage now", "Reached this stage", "% on to next stage"], [
            [row.label, row.now, "" if row.reached is None else row.reached, _pct(row.to_next)] for row in rows
        ]
    if panel == "connections":
        rows = selectors.conversion_by_connection(user, filters)
        return ["Connection", "Leads", "Contacted", "Contacted %", "Appointments", "Appointments %", "Won", "Won %"], [
            [
                r.label,
                r.leads,
                r.contacted,
                _pct(r.contacted_rate),
                r.appointments,
                _pct(r.appointment_rate),
                r.won,
                _pct(r.won_rate),
            ]
            for r in rows
        ]
    if panel == "events":
        rows = selectors.events(user, filters)
        return ["Event", "Date", "Leads", "Contacted within 7 days", "Appointments", "Won", "Days to first call"], [
            [
                r.name,
                r.date.isoformat() if r.date else "",
                r.leads,
                r.contacted_7_days,
                r.appointments,
                r.won,
                "" if r.days_to_first_call is None else r.days_to_first_call,
            ]
            for r in rows
        ]
    if panel == "referrers":
        rows = selectors.referrers(user, filters, limit=None)
        return ["Referrer", "Organisation", "Referrals made", "Converted (won)", "Conversion %", "Most recent"], [
            [r.name, r.organisation, r.made, r.converted, _pct(r.conversion_rate), r.most_recent.isoformat()]
            for r in rows
        ]
    if panel == "reps":
        rows = selectors.rep_activity(user, filters)
        return [
            "Rep",
            "Calls",
            "Calls per day",
            "Conversations",
            "Appointments set",
            "Follow-ups done",
            "Follow-ups overdue",
        ], [
            [r.name, r.calls, r.calls_per_day, r.conversations, r.appointments, r.follow_ups_done, r.follow_ups_overdue]
            for r in rows
        ]
    if panel == "bands":
        bands = selectors.warmth_bands(user, filters)
        return ["Band", "Leads now", "A week ago", "Moved this week"], [
            [r.label, r.now, "" if r.week_ago is None else r.week_ago, "" if r.moved is None else r.moved]
            for r in bands.rows
        ]
    if panel == "stale":
        leads = selectors.stale_leads(user, filters).values_list(
            "pk", "first_name", "last_name", "company", "warmth_band", "stage", "owner__username", "quiet_since"
        )
        return ["Lead id", "First name", "Last name", "Company", "Band", "Stage", "Owner", "Quiet since"], (
            [*row[:7], row[7].isoformat()] for row in leads.iterator(chunk_size=2000)
        )
    raise KeyError(panel)


PANELS = ("funnel", "connections", "events", "referrers", "reps", "bands", "stale")
