"""Rate limit per token, and the one error shape."""

from __future__ import annotations

import pytest

from calls.models import Call

pytestmark = pytest.mark.django_db


def test_each_token_has_its_own_rate_limit(settings, rep, client_for, lead):
    settings.API_RATE_LIMIT = "3/min"
    dialer, script = client_for(rep), client_for(rep)
    for _ in range(3):
        assert dialer.get("/api/v1/leads/").status_code == 200
    response = dialer.post(f"/api/v1/leads/{lead.pk}/calls/", {"outcome": "no_answer"}, format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "Request was throttled" in error["message"]
    assert int(response["Retry-After"]) > 0
    assert Call.objects.count() == 0  # refused before anything was written
    assert script.get("/api/v1/leads/").status_code == 200  # another token of the same user is counted apart


def test_the_session_is_limited_per_user(settings, rep_client):
    settings.API_RATE_LIMIT = "2/min"
    assert [rep_client.get("/api/v1/leads/").status_code for _ in range(3)] == [200, 200, 429]


def test_unknown_method_and_url_use_the_error_shape(rep_api, lead):
    response = rep_api.delete(f"/api/v1/leads/{lead.pk}/")
    assert response.status_code == 405
    assert response.json()["error"] == {
        "code": "method_not_allowed",
        "message": 'Method "DELETE" not allowed.',
        "fields": {},
    }
    response = rep_api.post(f"/api/v1/leads/{lead.pk}/calls/", "outcome=no_answer", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_unknown_api_urls_get_the_error_object_not_the_html_page(rep_api):
    response = rep_api.get("/api/v1/leads/abc/")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "There is no API endpoint at /api/v1/leads/abc/.",
        "fields": {},
    }
    response = rep_api.get("/api/v1/leads")
    assert (
        response.json()["error"]["message"] == "There is no API endpoint at /api/v1/leads. API URLs end with a slash."
    )


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "201", "1.5"])
def test_a_bad_page_size_is_refused_not_ignored(rep_api, page_size):
    response = rep_api.get(f"/api/v1/leads/?page_size={page_size}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"page_size": ["Give a whole number from 1 to 200."]}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/leads/?updated_after=2026-01-01T10:00:00%2B17:03", None),  # ISO allows it, PostgreSQL does not
        ("/api/v1/calls/?called_after=0001-01-01T00:00:00%2B05:00", "called_after"),  # before the year 1 in UTC
        ("/api/v1/follow-ups/?due_before=yesterday", "due_before"),
    ],
)
def test_odd_date_times_in_filters_are_handled(rep_api, url, field):
    response = rep_api.get(url)
    if field is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["error"]["fields"][field]
