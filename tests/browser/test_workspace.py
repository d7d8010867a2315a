"""A rep's day in the browser: Today, two calls logged without reloads, a referral, and finding it by phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import FollowUp, Lead
from leads.services import warmth_recompute_all
from tests.browser.conftest import screenshot
from tests.factories import CallFactory, EventFactory, FollowUpFactory, LeadFactory, ReferralFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_rep_day():
    rep = UserFactory(username="rita", role="rep", first_name="Rita", last_name="Ramos")
    now = timezone.now()
    expo = EventFactory(name="Expo North")
    ana = LeadFactory(
        owner=rep,
        first_name="Ana",
        last_name="Costa",
        company="Costa Foods",
        event=expo,
        phone="(415) 555-0134",
        phone_e164="+14155550134",
        research_notes="Opening a second plant in Fresno.",
    )
    FollowUpFactory(lead=ana, due_at=now - timedelta(days=1), reason=FollowUp.Reason.STALE)
    ben = LeadFactory(
        owner=rep,
        first_name="Ben",
        last_name="Berg",
        company="Berg Logistics",
        event=expo,
        phone="(415) 555-0150",
        phone_e164="+14155550150",
    )
    FollowUpFactory(lead=ben, due_at=now, reason=FollowUp.Reason.INBOUND)
    ReferralFactory(
        lead__owner=rep,
        lead__first_name="Cara",
        lead__last_name="Diaz",
        lead__company="Diaz & Co",
        source__name="Sam Hill",
        source__organisation="Hill Partners",
    )
    LeadFactory(owner=rep, first_name="Dev", last_name="Shah", company="Shah Robotics", connection_type="inbound")
    LeadFactory(owner=rep, first_name="Eli", last_name="Moss", company="Moss Print", connection_type="prior_contact")
    CallFactory(
        lead=LeadFactory(owner=rep, first_name="Fay", last_name="Olsen", stage="qualified"), outcome="appointment_set"
    )
    LeadFactory(owner=UserFactory(role="rep"), first_name="Other", last_name="Person")
    warmth_recompute_all()
    return rep, ana, ben


def no_reload_marker(page) -> None:
    page.evaluate("window.__stillHere = true")


def assert_no_reload(page) -> None:
    assert page.evaluate("window.__stillHere === true"), "the page reloaded"


def form_has_focus(page, lead_id: int) -> None:
    """The inline form arrived and took the focus, so number keys go to it (as a rep would see)."""
    page.wait_for_function(f"() => document.activeElement && document.activeElement.closest('#call-form-{lead_id}')")


def test_a_reps_day_without_reloads(page, login):
    rep, ana, ben = seed_rep_day()
    login("rita")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    assert "Other Person" not in page.content()
    ana_row = page.locator(f"#row-{ana.pk}")
    assert "Met at Expo North - asked you to call" in ana_row.inner_text()
    screenshot(page, "today")
    no_reload_marker(page)
    # Today carries the rows' call form: opening one asks the server nothing (it did, once per call).
    form_requests = []
    page.on("request", lambda request: "/calls/log/" in request.url and form_requests.append(request.method))

    # 1. No answer: number key 6 picks it, Enter saves; the row updates and the next lead gets focus.
    ana_row.get_by_role("link", name="Log call").click()
    form_has_focus(page, ana.pk)
    page.keyboard.press("6")
    assert page.locator(f"#outcome-{ana.pk}-6").is_checked()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#row-{ana.pk} .logged")
    assert "No answer logged for Ana Costa" in ana_row.inner_text()
    assert "No-answer retry" in ana_row.inner_text()
    # Focus moves to the next row once the swap settles; wait for it rather than read it mid-swap.
    page.wait_for_function(
        "id => document.activeElement && document.activeElement.closest('[data-queue-row]')?.id === id",
        arg=f"row-{ben.pk}",
    )
    assert "2\ncalls done today" in page.locator("#today-counts").inner_text()  # Fay's and this one
    assert_no_reload(page)
    # Enter on the focused next row opens its form, as a click does.
    page.keyboard.press("Enter")
    form_has_focus(page, ben.pk)
    assert page.locator(f"#call-form-{ben.pk}").get_attribute("hx-post") == f"/calls/log/{ben.pk}/"

    # 2. Call back: key 2, Enter without a date says what is missing next to the field; then with a date.
    ana_row.get_by_role("link", name="Log call").click()
    form_has_focus(page, ana.pk)
    page.keyboard.press("2")
    expect(page.locator(f"#call-back-{ana.pk}")).to_be_visible()
    page.keyboard.press("Enter")
    error = page.locator(f"#call-back-error-{ana.pk}")
    error.wait_for()
    assert error.inner_text() == "Pick the date they asked you to call back."
    day = timezone.localdate() + timedelta(days=8)
    page.locator(f"#call-back-{ana.pk}").fill(day.isoformat())
    page.locator(f"#call-back-{ana.pk}").press("Enter")
    ana_row.get_by_text("Call back on a date logged").wait_for()
    row_text = ana_row.inner_text()
    assert "Call back on a date logged" in row_text
    assert f"Next call {day:%a} {day.day} {day:%b}" in row_text and "Requested call-back" in row_text
    follow_up = FollowUp.objects.get(lead=ana, status="open")
    assert timezone.localtime(follow_up.due_at).date() == day
    assert_no_reload(page)
    assert form_requests == ["POST", "POST", "POST"]  # the calls logged (one refused for its missing date), no GET

    # 3. The lead page: ask Ana for a referral.
    ana_row.get_by_role("link", name="Ana Costa").click()
    page.wait_for_selector("#lead-body")
    assert "Hi Ana, this is Rita. We met at Expo North" in page.locator(".opener").inner_text()
    no_reload_marker(page)
    page.get_by_label("First name").fill("Cleo")
    page.get_by_label("Last name").fill("Park")
    page.get_by_label("Company", exact=True).fill("Park Bakeries")
    page.get_by_label("Phone", exact=True).fill("+1 415 555 0177")
    page.get_by_label("What they said about them").fill("Buys for 12 shops, Ana says call her on Tuesdays.")
    page.get_by_role("button", name="Add referral").click()
    page.get_by_text("Added Cleo Park, referred by Ana Costa.").wait_for()
    assert_no_reload(page)
    cleo = Lead.objects.get(first_name="Cleo")
    assert cleo.referral.source.lead_id == ana.pk and cleo.owner_id == rep.pk
    expect(page.get_by_text("Referred Cleo Park to us")).to_be_visible()
    screenshot(page, "lead")

    # 4. The leads list: find Cleo by her phone typed another way; the filter lives in the URL.
    page.get_by_role("link", name="Leads", exact=True).click()
    page.wait_for_selector("#lead-table")
    no_reload_marker(page)
    page.get_by_label("Search").fill("(415) 555-0177")
    page.wait_for_function("() => location.search.includes('q=') && location.search.includes('0177')")
    table = page.locator("#lead-table")
    table.get_by_role("link", name="Cleo Park").wait_for()
    assert table.get_by_role("link", name="Ana Costa").count() == 0
    assert table.inner_text().startswith("1 lead")
    assert "Referred by Ana Costa of Costa Foods" in table.inner_text()
    assert_no_reload(page)
    screenshot(page, "leads-list")

    page.goto("/leads/")
    screenshot(page, "leads-list-all")
    page.goto("/leads/board/")
    expect(page.get_by_role("heading", name="Qualified")).to_be_visible()
    screenshot(page, "board")
    page.goto("/referrals/")
    expect(page.get_by_role("link", name="Ana Costa")).to_be_visible()
    screenshot(page, "referrers")

    # 5. Phone-sized: readable at 360 px.
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/leads/today/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "today-360px")
    page.goto(f"/leads/{ana.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "lead-360px")
    page.goto("/leads/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "leads-list-360px")


def test_board_move_to_lost_asks_why(page, login):
    rep, ana, ben = seed_rep_day()
    login("rita")
    page.goto("/leads/board/")
    card = page.locator(f"#card-{ben.pk}")
    card.get_by_label("Move Ben Berg to").select_option("lost")
    card.get_by_role("button", name="Move").click()
    card.get_by_label("Why was it lost?").fill("Went with a competitor")
    card.get_by_role("button", name="Move", exact=True).click()
    page.get_by_text("Ben Berg moved to Lost.").wait_for()
    assert Lead.objects.get(pk=ben.pk).lost_reason == "Went with a competitor"


def test_board_cards_can_be_dragged_to_another_stage(page, login):
    rep, ana, ben = seed_rep_day()
    login("rita")
    page.goto("/leads/board/")
    attempted = page.locator('.board-column[data-stage="attempted"]')
    # Grab the card by its body (not its select) and drop it on a column in view, as a hand would.
    card = page.locator(f"#card-{ben.pk}").bounding_box()
    column = attempted.bounding_box()
    page.mouse.move(card["x"] + 150, card["y"] + 60)
    page.mouse.down()
    page.mouse.move(card["x"] + 170, card["y"] + 70, steps=3)
    page.mouse.move(column["x"] + column["width"] / 2, column["y"] + 80, steps=10)
    page.mouse.up()
    page.get_by_text("Ben Berg moved to Attempted.").wait_for()
    assert Lead.objects.get(pk=ben.pk).stage == "attempted"
    expect(attempted.get_by_role("link", name="Ben Berg")).to_be_visible()
