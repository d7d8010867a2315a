"""Pipeline hygiene in the browser: a manager reviews a duplicate pair, picks values and merges."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.conftest import screenshot
from tests.factories import CallFactory, LeadFactory, UserFactory
from warmcrm.hygiene.services import duplicates_find

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_merges_a_duplicate_pair(page, login):
    UserFactory(username="maria", first_name="Maria", role="manager")
    rep = UserFactory(username="rita", first_name="Rita", role="rep")
    first = LeadFactory(owner=rep, first_name="Ann", last_name="Smith", company="Acme", email="ann@acme.com")
    second = LeadFactory(owner=rep, first_name="Anne", last_name="Smith", company="Acme", email="ann@acme.com",
                         title="CFO")  # fmt: skip
    CallFactory(lead=second, rep=rep)
    duplicates_find()
    login("maria")
    page.goto("/dashboard/")
    page.get_by_role("link", name="Possible duplicates").click()
    page.get_by_role("link", name="Compare and merge").click()
    page.locator(f'input[name="pick_title"][value="{second.pk}"]').check()
    screenshot(page, "merge")
    page.get_by_role("button", name="Merge", exact=True).click()
    page.get_by_text("Merged Anne Smith into Ann Smith.").wait_for()
    assert not Lead.objects.filter(pk=second.pk).exists()
    survivor = Lead.objects.get(pk=first.pk)
    assert (survivor.first_name, survivor.title, survivor.calls.count()) == ("Ann", "CFO", 1)
    expect(page.get_by_text("Merged Anne Smith (lead").first).to_be_visible()


def test_a_call_from_the_lead_page_keeps_the_duplicates_card_shown(page, login):
    # The call-log POST sends the card's slot empty (hx-preserve): htmx keeps the card the page showed, untouched.
    rep = UserFactory(username="rita", first_name="Rita", role="rep")
    ann = LeadFactory(owner=rep, first_name="Ann", last_name="Smith", company="Acme", email="ann@acme.com")
    LeadFactory(owner=rep, first_name="Anne", last_name="Smith", company="Acme", email="ann@acme.com")
    duplicates_find()
    login("rita")
    page.goto(f"/leads/{ann.pk}/")
    card = page.locator("#lead-duplicates .duplicate-marks")
    expect(card).to_contain_text("Anne Smith")
    page.evaluate("document.querySelector('#lead-duplicates .duplicate-marks').dataset.shownBefore = 'yes'")
    page.locator(f"#outcome-{ann.pk}-6").check()
    page.get_by_role("button", name="Save call").click()
    page.get_by_text("No answer logged for Ann Smith").wait_for()
    expect(card).to_contain_text("Anne Smith")
    assert card.get_attribute("data-shown-before") == "yes"  # the same element: not re-rendered, not lost
    assert page.locator("#lead-duplicates").count() == 1
    # A reload renders it from the server as before.
    page.reload()
    expect(page.locator("#lead-duplicates .duplicate-marks")).to_contain_text("Anne Smith")
