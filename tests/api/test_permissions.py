"""The API's permission matrix: the same scoping as the browser, for tokens and the session."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Lead
from tests.factories import CallFactory, FollowUpFactory, LeadFactory, ReferralFactory, UserFactory
from warmcrm.api.models import ApiToken
from warmcrm.api.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

LIST_URLS = [
    "/api/v1/leads/",
    "/api/v1/calls/",
    "/api/v1/follow-ups/",
    "/api/v1/events/",
    "/api/v1/referral-sources/",
    "/api/v1/referrals/",
]


def lead_urls(lead_id: int, follow_up_id: int, call_id: int, referral_id: int) -> list[str]:
    return [
        f"/api/v1/leads/{lead_id}/",
        f"/api/v1/leads/{lead_id}/warmth/",
        f"/api/v1/leads/{lead_id}/calls/",
        f"/api/v1/follow-ups/{follow_up_id}/",
        f"/api/v1/calls/{call_id}/",
        f"/api/v1/referrals/{referral_id}/",
    ]


@pytest.mark.parametrize("url", [*LIST_URLS, "/api/v1/leads/1/", "/api/schema/?format=json"])
def test_anonymous_gets_401_with_the_error_object(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_cannot_post_inbound_or_log_calls(lead):
    client = APIClient()
    assert client.post("/api/v1/inbound/", {"first_name": "A", "email": "a@b.co"}, format="json").status_code == 401
    assert client.post(f"/api/v1/leads/{lead.pk}/calls/", {"outcome": "no_answer"}, format="json").status_code == 401
    assert lead.calls.count() == 0


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer wcrm_000000000000_guess", "Bearer", "Token abc def"])
def test_bad_tokens_get_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/leads/")
    expected = 403 if header.startswith("Token") else 401  # another scheme is simply not ours: no user
    assert response.status_code in (401, expected)
    assert response.json()["error"]["message"]


def test_revoked_token_gets_401_saying_so(rep, lead):
    token, raw = api_token_create(user=rep, name="dialer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/leads/").status_code == 200
    api_token_revoke(token=token, actor=rep)
    response = client.get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "This API token was revoked.",
        "fields": {},
    }


def test_token_of_a_deactivated_user_gets_401(rep, rep_api):
    rep.is_active = False
    rep.save()
    assert rep_api.get("/api/v1/leads/").status_code == 401


def test_user_whose_role_was_removed_gets_403(client_for):
    former_rep = UserFactory(role="rep")
    client = client_for(former_rep)
    former_rep.groups.clear()
    response = client.get("/api/v1/leads/")
    assert response.status_code == 403
    assert "no role" in response.json()["error"]["message"]


def test_rep_sees_only_own_leads_and_gets_404_for_anyone_elses(rep, rep_api, lead, other_lead):
    listed = rep_api.get("/api/v1/leads/").json()
    assert [row["id"] for row in listed["results"]] == [lead.pk]

    follow_up = FollowUpFactory(lead=other_lead)
    call = CallFactory(lead=other_lead)
    referral = ReferralFactory(lead=LeadFactory(owner=other_lead.owner))
    for url in lead_urls(other_lead.pk, follow_up.pk, call.pk, referral.pk):
        if "/referrals/" in url:
            url = f"/api/v1/referrals/{referral.pk}/"
        response = rep_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


def test_rep_cannot_change_log_calls_on_or_refer_another_reps_lead(rep_api, other_lead):
    before = Lead.objects.get(pk=other_lead.pk)
    assert rep_api.patch(f"/api/v1/leads/{other_lead.pk}/", {"company": "Hijacked"}, format="json").status_code == 404
    assert (
        rep_api.post(f"/api/v1/leads/{other_lead.pk}/calls/", {"outcome": "no_answer"}, format="json").status_code
        == 404
    )
    source = ReferralFactory().source
    response = rep_api.post("/api/v1/referrals/", {"source": source.pk, "lead": other_lead.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["lead"] == [f"No lead with id {other_lead.pk} that you can see."]
    after = Lead.objects.get(pk=other_lead.pk)
    assert (after.company, after.updated_at) == (before.company, before.updated_at)
    assert other_lead.calls.count() == 0


def test_manager_sees_and_reads_every_lead(manager_api, lead, other_lead):
    listed = manager_api.get("/api/v1/leads/").json()
    assert {row["id"] for row in listed["results"]} == {lead.pk, other_lead.pk}
    assert manager_api.get(f"/api/v1/leads/{other_lead.pk}/").status_code == 200
    assert manager_api.get(f"/api/v1/leads/{other_lead.pk}/warmth/").status_code == 200


def test_follow_up_actions_are_scoped(rep_api, manager_api, other_lead):
    follow_up = FollowUpFactory(lead=other_lead)
    assert rep_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {}, format="json").status_code == 404
    follow_up.refresh_from_db()
    assert follow_up.status == "open"
    assert manager_api.post(f"/api/v1/follow-ups/{follow_up.pk}/complete/", {}, format="json").status_code == 200


def test_only_managers_write_events(rep_api, manager_api):
    response = rep_api.post("/api/v1/events/", {"name": "Expo"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only managers and admins can change events."
    assert manager_api.post("/api/v1/events/", {"name": "Expo"}, format="json").status_code == 201


def test_inbound_needs_an_admin(rep_api, manager_api, admin_api):
    body = {"first_name": "Ann", "email": "ann@example.com"}
    assert rep_api.post("/api/v1/inbound/", body, format="json").status_code == 403
    assert manager_api.post("/api/v1/inbound/", body, format="json").status_code == 403
    assert Lead.objects.count() == 0
    assert admin_api.post("/api/v1/inbound/", body, format="json").status_code == 201


def test_website_form_token_only_posts_inbound(client_for, admin_user, lead):
    form_client = client_for(admin_user, ApiToken.Kind.INBOUND)
    response = form_client.get("/api/v1/leads/")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This is a website-form token: it can only post inbound leads."
    assert form_client.get(f"/api/v1/leads/{lead.pk}/").status_code == 403
    response = form_client.post("/api/v1/inbound/", {"first_name": "Ann", "email": "ann@example.com"}, format="json")
    assert response.status_code == 201


def test_session_works_for_the_browser_and_writes_need_csrf(rep, lead):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rep)
    assert client.get("/api/v1/leads/").json()["count"] == 1
    response = client.post(f"/api/v1/leads/{lead.pk}/calls/", {"outcome": "no_answer"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert lead.calls.count() == 0
