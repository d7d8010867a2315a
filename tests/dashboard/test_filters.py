"""Each filter, the validation messages, htmx partials and the URL that keeps the filters."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def context_for(client, **params):
    response = client.get("/dashboard/", params)
    assert response.status_code == 200, response.content[:500]
    return response.context


def cohort_size(context) -> int:
    return context["funnel"][0].reached


def test_default_period_is_last_90_days(maria_client):
    context = context_for(maria_client)
    assert context["filters"].period.label == "19 Dec 2025 – 18 Mar 2026"
    assert cohort_size(context) == 9


def test_this_week(maria_client):
    context = context_for(maria_client, period="week")
    assert context["filters"].period.label == "16 Mar 2026 – 18 Mar 2026"
    assert cohort_size(context) == 2  # L5, L6
    referral = next(row for row in context["connections"] if row.key == "referral")
    assert (referral.leads, referral.contacted, referral.appointments, referral.won) == (2, 1, 1, 1)
    assert [(r.name, r.made, r.converted) for r in context["referrers"]] == [("Acme Anna", 2, 1)]
    assert [(r.name, r.calls) for r in context["reps"]] == [("Raj Patel", 1), ("Rita Ramos", 0), ("Rosa Lind", 0)]
    assert [r.calls_per_day for r in context["reps"]] == [0.3, 0.0, 0.0]  # 1 call over Mon-Wed


def test_this_month(maria_client):
    context = context_for(maria_client, period="month")
    assert cohort_size(context) == 7  # L1, L2, L3, L5, L6, L9, L10
    assert [(r.name, r.leads) for r in context["events"]] == [("Expo", 3)]


def test_custom_period(maria_client):
    context = context_for(maria_client, period="custom", date_from="2025-10-01", date_to="2025-11-30")
    assert cohort_size(context) == 2  # L8, L11
    assert [(r.name, r.made, r.converted) for r in context["referrers"]] == [("Acme Anna", 1, 1)]
    assert [(r.name, r.calls, r.appointments) for r in context["reps"] if r.calls] == [("Rosa Lind", 1, 1)]
    assert context["events"] == []


def test_rep_filter(maria_client, world):
    context = context_for(maria_client, rep=world.raj.pk)
    assert cohort_size(context) == 4  # L3, L4, L5, L10
    assert [r.name for r in context["reps"]] == ["Raj Patel"]
    assert [lead.first_name for lead in context["stale"].leads] == ["L4", "L3"]
    assert [(r.band, r.now) for r in context["bands"].rows] == [("hot", 1), ("warm", 2), ("lukewarm", 1), ("cold", 0)]


def test_team_filter(maria_client, world):
    context = context_for(maria_client, team=world.south.pk)
    assert cohort_size(context) == 4
    assert [r.name for r in context["reps"]] == ["Raj Patel"]


def test_connection_filter(maria_client):
    context = context_for(maria_client, connection="event_list")
    assert cohort_size(context) == 3
    assert [(r.key, r.leads, r.contacted, r.won) for r in context["connections"]] == [("event_list", 3, 2, 1)]
    # Rep activity counts only calls on event-list leads: Rita's calls on L1 and L2.
    assert [(r.name, r.calls) for r in context["reps"]] == [("Rita Ramos", 2), ("Raj Patel", 0), ("Rosa Lind", 0)]


def test_event_filter(maria_client, world):
    context = context_for(maria_client, event=world.fair.pk)
    assert cohort_size(context) == 1
    assert [r.name for r in context["events"]] == ["Fair"]
    assert [lead.first_name for lead in context["stale"].leads] == ["L4"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "custom"}, "Pick both a start and an end date for a custom period."),
        ({"period": "custom", "date_from": "2026-03-10"}, "Pick both a start and an end date for a custom period."),
        ({"period": "custom", "date_from": "2026-03-10", "date_to": "2026-03-01"}, "The end date is before the start"),
        (
            {"period": "custom", "date_from": "2026-13-01", "date_to": "2026-03-01"},
            "Enter the start date as YYYY-MM-DD.",
        ),
        ({"period": "custom", "date_from": "2020-01-01", "date_to": "2026-03-01"}, "at most three years"),
        ({"period": "decade"}, "Select a valid choice."),
        ({"rep": "999999"}, "Pick a rep from the list."),
    ],
)
def test_bad_filters_say_what_is_wrong_and_show_no_figures(maria_client, params, message):
    response = maria_client.get("/dashboard/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Fix the filters to see the figures" in html
    assert 'id="table-funnel"' not in html
    # htmx gets the same message in the swapped part (2xx, or htmx would not swap it in).
    partial = maria_client.get("/dashboard/", params, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and message in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_htmx_gets_only_the_panels(maria_client):
    response = maria_client.get("/dashboard/", {"period": "week"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="panels"')
    assert "<html" not in html and 'id="dash-filters"' not in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_full_page_keeps_the_filters_in_the_form_and_links(maria_client, world):
    html = maria_client.get("/dashboard/", {"period": "month", "rep": world.rita.pk}).content.decode()
    assert 'hx-push-url="true"' in html
    assert '<option value="month" selected>' in html
    assert f'href="/dashboard/export/funnel.csv?period=month&amp;rep={world.rita.pk}"' in html
    # Works without JavaScript: a real GET form with a submit button.
    assert 'method="get" action="/dashboard/"' in html and 'type="submit"' in html


def test_charts_get_their_data_from_the_page_and_chartjs_is_vendored(maria_client):
    html = maria_client.get("/dashboard/").content.decode()
    assert '<script id="chart-funnel" type="application/json">' in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    funnel_chart = maria_client.get("/dashboard/").context["charts"]["funnel"]
    assert funnel_chart["datasets"][0]["data"] == [9, 8, 6, 4, 3, 2]
    assert funnel_chart["x_title"] == "Leads" and funnel_chart["y_title"] == "Stage"
