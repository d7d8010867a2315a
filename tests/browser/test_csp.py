"""The Content-Security-Policy in a real browser: the pages that run scripts still work, and nothing is refused.

Chromium reports every blocked script, style or frame as a `securitypolicyviolation` event; the pages here
collect them, and the test fails on any.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import CallFactory, LeadFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile);
});
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_pages_with_scripts_work_under_the_policy(page, login):
    admin = UserFactory(username="adam", role="admin")
    rep = UserFactory(username="rita", role="rep")
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Costa")
    CallFactory(lead=lead, rep=rep)
    page.add_init_script(COLLECT_VIOLATIONS)
    refused: dict[str, list[str]] = {}

    login(admin.username)

    # The dashboard: Chart.js draws every panel's chart.
    page.goto("/dashboard/")
    page.wait_for_function("() => document.querySelectorAll('canvas[data-chart]').length > 0 && "
                           "[...document.querySelectorAll('canvas[data-chart]')].every(c => Chart.getChart(c))")
    refused["/dashboard/"] = _violations(page)

    # htmx: the leads list filters in place (an hx-get swap), the CSRF header rides on <body hx-headers>.
    page.goto("/leads/")
    page.get_by_label("Search").fill("Costa")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#lead-table")).to_contain_text("Ana Costa")
    refused["/leads/"] = _violations(page)

    # htmx POST: changing the stage on the lead page swaps the body in place.
    page.goto(f"/leads/{lead.pk}/")
    page.locator("form[hx-post$='/stage/'] select").first.select_option("connected")
    page.locator("form[hx-post$='/stage/'] button[type=submit]").first.click()
    expect(page.locator("#lead-body")).to_contain_text("Connected")
    refused["/leads/<id>/"] = _violations(page)

    # The API docs, offline from drf-spectacular-sidecar: Swagger UI renders the schema's title.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("WarmCRM API")
    refused["/api/docs/"] = _violations(page)

    # Redoc too; it may not fetch its logo from its CDN (the one refusal expected: the docs are offline).
    page.goto("/api/redoc/")
    expect(page.get_by_role("heading", name="WarmCRM API (1.0.0)")).to_be_visible(timeout=30_000)  # a big bundle
    refused["/api/redoc/"] = [v for v in _violations(page) if not v.startswith("img-src https://cdn.redoc.ly/")]

    # The Django admin, with its own scripts (the change list's actions, the lead's change form).
    page.goto("/admin/leads/lead/")
    expect(page.locator("#result_list")).to_contain_text("Costa")
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    expect(page.locator("#lead_form")).to_be_visible()
    refused["/admin/"] = _violations(page)
    page.goto("/admin/django_celery_beat/periodictask/add/")  # its crontab helper, moved out of the page
    expect(page.locator(".field-crontab_translation")).to_be_hidden()
    refused["/admin/django_celery_beat/"] = _violations(page)

    assert all(not found for found in refused.values()), refused

    # The watch itself works: an inline script added to the page is refused and reported.
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
                  " document.head.appendChild(s); }")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert page.evaluate("window.ran") is None
    assert "script-src" in _violations(page)[0]
