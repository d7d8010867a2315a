"""A manager opens the dashboard, changes the period, and the panels update in place (htmx), charts and all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Outcome
from calls.services import call_totals_rebuild
from leads.models import ConnectionType, Stage
from tests.browser.conftest import screenshot
from tests.factories import (
    CallFactory,
    EventFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    ReferralSourceFactory,
    UserFactory,
)
from warmcrm.dashboard.services import band_snapshot_take

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def build_pipeline() -> None:
    now = timezone.now()
    reps = [
        UserFactory(username=name, first_name=name.title(), last_name="Rep", role="rep") for name in ("rita", "raj")
    ]
    UserFactory(username="maria", first_name="Maria", last_name="Manager", role="manager")
    show = EventFactory(name="Logistics Expo", date=(now - timedelta(days=40)).date())
    anna = ReferralSourceFactory(name="Anna Berg", organisation="Acme")
    plan = [
        # (days ago, connection, stage, band, outcomes); the first two came in half an hour ago: this week
        (0, ConnectionType.REFERRAL, Stage.CONNECTED, "hot", [Outcome.CALL_BACK]),
        (0, ConnectionType.INBOUND, Stage.APPOINTMENT_SET, "hot", [Outcome.APPOINTMENT_SET]),
        (20, ConnectionType.EVENT_LIST, Stage.ATTEMPTED, "lukewarm", [Outcome.NO_ANSWER]),
        (25, ConnectionType.EVENT_ASKED, Stage.WON, "warm", [Outcome.CONNECTED_OTHER, Outcome.APPOINTMENT_SET]),
        (38, ConnectionType.EVENT_LIST, Stage.NEW, "warm", []),
        (45, ConnectionType.REFERRAL, Stage.WON, "warm", [Outcome.APPOINTMENT_SET]),
        (60, ConnectionType.COLD, Stage.LOST, "cold", [Outcome.NOT_INTERESTED]),
        (70, ConnectionType.PRIOR_CONTACT, Stage.QUALIFIED, "warm", [Outcome.APPOINTMENT_SET]),
    ]
    for index, (days, connection, stage, band, outcomes) in enumerate(plan):
        rep = reps[index % 2]
        lead = LeadFactory(
            first_name=f"Lead{index}",
            owner=rep,
            connection_type=connection,
            event=show if connection in (ConnectionType.EVENT_LIST, ConnectionType.EVENT_ASKED) else None,
            stage=stage,
            warmth_band=band,
            created_at=now - timedelta(days=days, minutes=30),
            lost_reason="No budget" if stage == Stage.LOST else "",
        )
        for offset, outcome in enumerate(outcomes):
            called_at = lead.created_at + timedelta(minutes=offset + 1)
            CallFactory(lead=lead, rep=rep, outcome=outcome, called_at=called_at)
        if connection == ConnectionType.REFERRAL:
            ReferralFactory(source=anna, lead=lead, referred_on=(now - timedelta(days=days)).date())
        if index == 2:
            FollowUpFactory(lead=lead, owner=rep, due_at=now - timedelta(days=1))
    call_totals_rebuild()  # the factory wrote the calls directly; call_log keeps the dashboard's totals itself
    band_snapshot_take(day=(now - timedelta(days=8)).date())


def test_manager_changes_the_period_and_the_panels_update_in_place(page, login):
    build_pipeline()
    login("maria")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    period = page.locator("#dash-period")
    assert "Figures for" in period.inner_text()
    funnel_new = page.locator("#table-funnel tbody tr").first
    assert funnel_new.locator("td").nth(1).inner_text() == "8"  # all eight leads came in within 90 days
    # Every chart is drawn (Chart.js from static/, no CDN), with its table beside it.
    page.wait_for_function("() => document.querySelectorAll('canvas[data-chart]').length >= 5")
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart && Chart.getChart(c))"
    )
    page.evaluate("window.__notReloaded = true")

    page.get_by_label("Period").select_option("week")
    page.wait_for_url("**/dashboard/?*period=week*")
    page.wait_for_function("() => document.querySelector('#table-funnel tbody tr td:nth-of-type(2)').innerText === '2'")
    assert page.evaluate("window.__notReloaded") is True  # swapped by htmx, not a page load
    assert page.locator("#table-funnel tbody tr").first.locator("td").nth(1).inner_text() == "2"
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart && Chart.getChart(c))"
    )
    assert "Anna Berg" in page.locator("#table-referrers").inner_text()
    screenshot(page, "dashboard")

    # A custom period with the dates the wrong way round says so, in place.
    page.get_by_label("From").fill("2026-03-10")
    page.get_by_label("To").fill("2026-03-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert").get_by_text("The end date is before the start date.")).to_be_visible()
    assert page.evaluate("window.__notReloaded") is True

    # The filters live in the URL: reloading shows the same selection.
    page.goto("/dashboard/?period=week")
    assert page.get_by_label("Period").input_value() == "week"
