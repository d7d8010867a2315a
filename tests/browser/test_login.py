"""A rep logs in through the browser and opens a lead with its warmth breakdown."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import LeadFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_logs_in_and_sees_only_their_leads(page, login):
    rep = UserFactory(username="rita", role="rep")
    mine = LeadFactory(owner=rep, first_name="Ana", last_name="Costa")
    LeadFactory(owner=UserFactory(role="rep"), first_name="Other", last_name="Person")

    login("rita")
    page.get_by_role("link", name="Ana Costa", exact=True).first.click()
    expect(page.get_by_role("heading", name="Ana Costa")).to_be_visible()
    expect(page.get_by_text("Met at an event: asked us to call").first).to_be_visible()
    assert "Other Person" not in page.content()
    screenshot(page, "lead-page")
    assert page.url.endswith(f"/leads/{mine.pk}/")


def test_wrong_password_says_so(page, login):
    UserFactory(username="rosa", role="rep")
    login("rosa", "wrong-password")
    expect(page.get_by_role("alert")).to_be_visible()
