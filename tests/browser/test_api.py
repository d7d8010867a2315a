"""In Chromium: the profile page makes a token that works and then stops working; the API docs render offline."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.browser.conftest import screenshot
from tests.factories import LeadFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_profile_creates_shows_once_and_revokes_a_token(page, login):
    rita = UserFactory(username="rita", role="rep", first_name="Rita", last_name="Ramos")
    LeadFactory(owner=rita)
    login("rita")
    page.get_by_role("link", name="API & calendar").click()
    page.get_by_label("Name").fill("dialer")
    page.get_by_role("button", name="Create token").click()
    raw = page.get_by_label("Token").input_value()
    assert re.fullmatch(r"wcrm_[0-9a-f]{12}_\S+", raw)
    page.get_by_role("button", name="Create my calendar address").click()
    calendar_url = page.get_by_label("Address").input_value()
    assert calendar_url.endswith(".ics")
    screenshot(page, "api-profile")

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/leads/").json()["count"] == 1
    assert client.get(urlparse(calendar_url).path).status_code == 200

    page.goto("/api/profile/")
    assert raw not in page.content()  # shown once only
    page.get_by_role("row", name=re.compile("dialer")).get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Token “dialer” revoked")).to_be_visible()
    assert client.get("/api/v1/leads/").status_code == 401


def test_api_docs_render_from_the_app_alone(page, login, live_server):
    UserFactory(username="maria", role="manager")
    login("maria")
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    page.goto("/api/docs/")
    page.get_by_text("WarmCRM API").first.wait_for()
    page.get_by_text("/api/v1/leads/", exact=True).first.wait_for()
    screenshot(page, "api-docs")
    assert hosts == {urlparse(live_server.url).netloc}  # no CDN: every script and style came from the app
