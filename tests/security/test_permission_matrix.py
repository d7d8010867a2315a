"""The permission matrix: every URL pattern of the URL conf, as anonymous, rep, other rep, manager and admin.

The patterns come from `get_resolver()` (includes and the Django admin too), filled with real ids from a data
set in which every lead belongs to `rep`. A pattern with no entry here fails the test, so a new view cannot be
added without saying who may use it. Each request is rolled back, so every row sees the same data.

Besides the status, every answer to someone who is not `rep` (nor a manager or admin) must not show `rep`'s
leads, and every HTML page must carry the security headers and no inline code the CSP would block.
"""

from __future__ import annotations

import pytest

from tests.security.inline_code import inline_code_in
from tests.security.urlwalk import OWN_LEAD_MARK, ROLES, Route, build_data_set, request, url_routes

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to the login page
ADMIN_LOGIN = "admin login"  # a redirect to the Django admin's login page
NO = 405  # the method is not allowed on this URL, whoever asks

ANYONE = (200, 200, 200, 200, 200)
SIGNED_IN = (LOGIN, 200, 200, 200, 200)
OWN_LEAD = (LOGIN, 200, 404, 200, 200)  # another rep's lead is a 404, never a 403 that confirms it exists
MANAGERS = (LOGIN, 403, 403, 200, 200)
ADMINS = (LOGIN, 403, 403, 403, 200)
API_SIGNED_IN = (401, 200, 200, 200, 200)
API_OWN_LEAD = (401, 200, 404, 200, 200)
NOT_ALLOWED = (NO, NO, NO, NO, NO)

# route (as the URL conf spells it) -> {method: (anonymous, rep, other_rep, manager, admin)}
# POSTs carry an empty body: a permitted role gets the form back with its errors (200 / 400) or the
# action's redirect (302); a refused one never gets that far.
EXPECTED: dict[str, dict[str, tuple]] = {
    "": {"GET": (LOGIN, 302, 302, 302, 302), "POST": NOT_ALLOWED},
    "healthz": {"GET": ANYONE, "POST": NOT_ALLOWED},
    "accounts/login/": {"GET": (200, 302, 302, 302, 302), "POST": (200, 302, 302, 302, 302)},
    "accounts/logout/": {"GET": NOT_ALLOWED, "POST": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)},
    "leads/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "leads/today/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "leads/board/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "leads/new/": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "leads/reassign/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 302, 302)},
    "leads/<int:lead_id>/": {"GET": OWN_LEAD, "POST": NOT_ALLOWED},
    "leads/<int:lead_id>/edit/": {"GET": OWN_LEAD, "POST": OWN_LEAD},
    "leads/<int:lead_id>/notes/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 302, 404, 302, 302)},
    "leads/<int:lead_id>/stage/": {"GET": OWN_LEAD, "POST": OWN_LEAD},
    "leads/<int:lead_id>/owner/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 404, 200, 200)},
    "leads/<int:lead_id>/do-not-call/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 302, 404, 302, 302)},
    "imports/": {"GET": ADMINS, "POST": NOT_ALLOWED},
    "imports/upload/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 403, 400)},
    "imports/<int:job_id>/": {"GET": ADMINS, "POST": (LOGIN, 403, 403, 403, 400)},
    "imports/<int:job_id>/state/": {"GET": ADMINS, "POST": NOT_ALLOWED},
    "imports/<int:job_id>/confirm/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 403, 302)},
    "imports/<int:job_id>/rerun/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 403, 302)},
    "imports/<int:job_id>/undo/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 403, 302)},
    "imports/<int:job_id>/errors.csv": {"GET": (LOGIN, 403, 403, 403, 302), "POST": NOT_ALLOWED},
    "calls/log/<int:lead_id>/": {"GET": OWN_LEAD, "POST": OWN_LEAD},
    # Referrers are the team's: every rep sees them, and only the referrals of leads they may see.
    "referrals/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "referrals/<int:source_id>/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "referrals/ask/<int:lead_id>/": {"GET": OWN_LEAD, "POST": OWN_LEAD},
    "dashboard/": {"GET": MANAGERS, "POST": NOT_ALLOWED},
    "dashboard/export/<slug:panel>.csv": {"GET": MANAGERS, "POST": NOT_ALLOWED},
    "api/v1/^leads/$": {"GET": API_SIGNED_IN, "POST": (401, 400, 400, 400, 400)},
    "api/v1/^leads/(?P<pk>[0-9]{1,18})/$": {
        "GET": API_OWN_LEAD, "POST": (401, NO, NO, NO, NO), "PATCH": API_OWN_LEAD,
    },
    "api/v1/^leads/(?P<pk>[0-9]{1,18})/calls/$": {"GET": API_OWN_LEAD, "POST": (401, 400, 404, 400, 400)},
    "api/v1/^leads/(?P<pk>[0-9]{1,18})/warmth/$": {"GET": API_OWN_LEAD, "POST": (401, NO, NO, NO, NO)},
    "api/v1/^calls/$": {"GET": API_SIGNED_IN, "POST": (401, NO, NO, NO, NO)},
    "api/v1/^calls/(?P<pk>[0-9]{1,18})/$": {"GET": API_OWN_LEAD, "POST": (401, NO, NO, NO, NO)},
    "api/v1/^follow-ups/$": {"GET": API_SIGNED_IN, "POST": (401, NO, NO, NO, NO)},
    "api/v1/^follow-ups/(?P<pk>[0-9]{1,18})/$": {"GET": API_OWN_LEAD, "POST": (401, NO, NO, NO, NO)},
    "api/v1/^follow-ups/(?P<pk>[0-9]{1,18})/complete/$": {
        "GET": (401, NO, NO, NO, NO), "POST": (401, 200, 404, 200, 200),
    },
    "api/v1/^follow-ups/(?P<pk>[0-9]{1,18})/snooze/$": {
        "GET": (401, NO, NO, NO, NO), "POST": (401, 400, 404, 400, 400),
    },
    # Events are shared; only managers and admins write them.
    "api/v1/^events/$": {"GET": API_SIGNED_IN, "POST": (401, 403, 403, 400, 400)},
    "api/v1/^events/(?P<pk>[0-9]{1,18})/$": {
        "GET": API_SIGNED_IN, "POST": (401, 403, 403, NO, NO), "PATCH": (401, 403, 403, 200, 200),
    },
    "api/v1/^referral-sources/$": {"GET": API_SIGNED_IN, "POST": (401, 400, 400, 400, 400)},
    "api/v1/^referral-sources/(?P<pk>[0-9]{1,18})/$": {
        "GET": API_SIGNED_IN, "POST": (401, NO, NO, NO, NO), "PATCH": API_SIGNED_IN,
    },
    "api/v1/^referrals/$": {"GET": API_SIGNED_IN, "POST": (401, 400, 400, 400, 400)},
    "api/v1/^referrals/(?P<pk>[0-9]{1,18})/$": {"GET": API_OWN_LEAD, "POST": (401, NO, NO, NO, NO)},
    # Website forms post with an admin's or a website-form token; a person's session may not.
    "api/v1/inbound/": {"GET": (401, 403, 403, 403, NO), "POST": (401, 403, 403, 403, 400)},
    "api/^v1/(?P<rest>[\\s\\S]*)$": {"GET": (404,) * 5, "POST": (404,) * 5},
    "api/schema/": {"GET": API_SIGNED_IN, "POST": (401, NO, NO, NO, NO)},
    "api/docs/": {"GET": SIGNED_IN, "POST": (LOGIN, NO, NO, NO, NO)},
    "api/redoc/": {"GET": SIGNED_IN, "POST": (LOGIN, NO, NO, NO, NO)},
    "api/profile/": {"GET": SIGNED_IN, "POST": NOT_ALLOWED},
    "api/profile/tokens/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 400, 400, 400, 400)},
    # A token is its owner's alone: anyone else, admins included, gets a 404.
    "api/profile/tokens/<int:token_id>/revoke/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 302, 404, 404, 404)},
    "api/profile/calendar/": {"GET": NOT_ALLOWED, "POST": SIGNED_IN},
    "api/profile/calendar/revoke/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 302, 302, 302, 302)},
    # The calendar address is the secret (a calendar app cannot log in); a wrong one is a 404 (tests/api).
    "api/calendar/<str:secret>.ics": {"GET": ANYONE, "POST": NOT_ALLOWED},
    "me/settings/": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "hygiene/duplicates/": {"GET": MANAGERS, "POST": NOT_ALLOWED},
    "hygiene/duplicates/<int:pair_id>/merge/": {"GET": MANAGERS, "POST": MANAGERS},
    "hygiene/duplicates/<int:pair_id>/not-duplicate/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 403, 403, 302, 302)},
    "hygiene/slipping/": {"GET": MANAGERS, "POST": NOT_ALLOWED},
    "hygiene/lost-reasons/": {"GET": MANAGERS, "POST": NOT_ALLOWED},
    "hygiene/leads/<int:lead_id>/snooze/": {"GET": NOT_ALLOWED, "POST": (LOGIN, 302, 404, 302, 302)},
}

# The Django admin: staff only. Its pages are many (one set per model) and come from Django, so they share a rule
# rather than a row each: everyone but the admin is sent to the admin's login page, and the admin is let in.
ADMIN_EXCEPTIONS: dict[str, tuple] = {
    "admin/login/": (200, 200, 200, 200, 302),  # signed-in non-staff users are told they lack access
    "admin/logout/": (302, 302, 302, 302, NO),  # POST only; a GET from non-staff goes to /admin/, then the login
}
ADMIN_DEFAULT = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "in")
# Pages where "in" must be exactly 200 (the rest may also redirect, 403 an add the ModelAdmin forbids, or 404).
ADMIN_MUST_SHOW = {
    "admin/",
    "admin/leads/lead/",
    "admin/leads/lead/<path:object_id>/change/",
    "admin/axes/accessattempt/",
    "admin/auth/user/add/",
    "admin/dashboard/team/",
}

# Only `rep` and those who see all leads may see `rep`'s leads. The calendar feed is the exception by design:
# its secret address is the credential.
LEAK_EXEMPT = {"api/calendar/<str:secret>.ics"}
# Redoc writes its styles as <style> elements at run time: that page alone allows inline styles (never scripts).
INLINE_STYLE_ALLOWED = {"api/redoc/"}
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def csp_directives(policy: str) -> dict[str, set[str]]:
    """The directives that matter here, each with its set of sources."""
    parsed = {part.split()[0]: set(part.split()[1:]) for part in policy.split(";") if part.strip()}
    return {name: parsed.get(name, set()) for name in ("script-src", "style-src", "frame-ancestors", "object-src")}


def expected_csp(route: str) -> dict[str, set[str]]:
    style = {"'self'", "'unsafe-inline'"} if route in INLINE_STYLE_ALLOWED else {"'self'"}
    return {"script-src": {"'self'"}, "style-src": style, "frame-ancestors": {"'none'"}, "object-src": {"'none'"}}


def expectations(route: Route) -> dict[str, tuple]:
    if route.route in EXPECTED:
        return EXPECTED[route.route]
    if route.route.startswith("admin/"):
        return {"GET": ADMIN_EXCEPTIONS.get(route.route, ADMIN_DEFAULT)}
    raise KeyError(route.route)


def status_matches(expected: object, response, route: str) -> bool:
    location = response.get("Location", "")
    if expected == LOGIN:
        return response.status_code == 302 and location.startswith("/accounts/login/")
    if expected == ADMIN_LOGIN:
        return response.status_code == 302 and location.startswith("/admin/login/")
    if expected == "in":
        if route in ADMIN_MUST_SHOW:
            return response.status_code == 200
        return response.status_code in (200, 302, 403, 404) and not location.startswith("/admin/login/")
    return response.status_code == expected


def test_every_url_pattern_has_an_expectation():
    routes = url_routes()
    missing = [route.route for route in routes if route.route not in EXPECTED and not route.route.startswith("admin/")]
    assert not missing, f"add these URL patterns to EXPECTED in {__file__}: {missing}"
    stale = set(EXPECTED) - {route.route for route in routes}
    assert not stale, f"EXPECTED lists patterns the URL conf no longer has: {sorted(stale)}"


def check_response(role: str, route: Route, expected: object, response, *, htmx: bool) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"wrong": [], "leaks": [], "inline": [], "headers": []}
    # A form that redirects when it succeeds answers htmx with the refreshed part instead: both mean "let in".
    swapped = htmx and expected == 302 and response.status_code == 200
    if not swapped and not status_matches(expected, response, route.route):
        found["wrong"].append(f"{response.status_code} {response.get('Location', '')}, expected {expected}")
    body = response.content.decode("utf-8", "replace")
    if role in ("anonymous", "other_rep") and route.route not in LEAK_EXEMPT and OWN_LEAD_MARK in body:
        found["leaks"].append(route.route)
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        found["inline"] += inline_code_in(body)
        found["headers"] += [
            f"{name}={response.get(name)!r}" for name, value in SECURITY_HEADERS.items() if response.get(name) != value
        ]
        policy = response.get("Content-Security-Policy", "")
        if csp_directives(policy) != expected_csp(route.route):
            found["headers"].append(f"Content-Security-Policy={policy!r}")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    data = build_data_set()
    client = data.client(role)
    column = ROLES.index(role)
    wrong, leaks, inline, headers = [], [], [], []
    for route in url_routes():
        path = data.path(route)
        for method, row in expectations(route).items():
            # Pages answer htmx with a partial: the same rules, and the same scoping, must hold for it.
            for htmx in (False, True) if not route.route.startswith(("admin/", "api/v1/")) else (False,):
                asked = f"{method} {path}{' (htmx)' if htmx else ''}"
                response = request(client, method, path, htmx=htmx)
                problems = check_response(role, route, row[column], response, htmx=htmx)
                wrong += [f"{asked}: {problem}" for problem in problems["wrong"]]
                leaks += [asked for _ in problems["leaks"]]
                inline += [f"{asked}: {finding}" for finding in problems["inline"]]
                headers += [f"{asked}: {finding}" for finding in problems["headers"]]
    assert not wrong, f"{role}: {len(wrong)} unexpected statuses:\n" + "\n".join(wrong)
    assert not leaks, f"{role} was shown another rep's lead on:\n" + "\n".join(leaks)
    assert not inline, "inline code the CSP blocks:\n" + "\n".join(inline)
    assert not headers, "missing security headers:\n" + "\n".join(headers)
