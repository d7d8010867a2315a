"""API tokens: stored only as hashes, created and revoked on the profile page, shown once."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory
from warmcrm.api import tokens
from warmcrm.api.models import ApiToken
from warmcrm.api.services import api_token_create

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"wcrm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def all_database_text() -> str:
    """Every value of every column of the token table, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        return repr(cursor.fetchall())


def test_the_database_never_holds_the_raw_token(rep):
    token, raw = api_token_create(user=rep, name="dialer")
    assert TOKEN_RE.fullmatch(raw)
    stored = all_database_text()
    assert raw not in stored
    # Not even the secret part: everything after the prefix (it may itself hold "_").
    secret = raw.split("_", 2)[2]
    assert len(secret) == 43 and secret not in stored
    assert token.key_hash == tokens.hash_secret(raw) and len(token.key_hash) == 64
    assert token.prefix == raw.split("_")[1]


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(rep):
    _token, raw = api_token_create(user=rep, name="dialer")
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = client.get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API token is not valid."


def test_use_is_recorded_as_last_used(rep):
    token, raw = api_token_create(user=rep, name="dialer")
    assert token.last_used_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/leads/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_profile_page_creates_a_token_shown_once(rep_client, rep):
    response = rep_client.post("/api/profile/tokens/", {"name": "dialer", "kind": "personal"})
    assert response.status_code == 200
    raw = TOKEN_RE.search(response.content.decode()).group(0)
    assert "shown only this once" in response.content.decode()
    token = ApiToken.objects.get(user=rep)
    assert token.name == "dialer" and token.key_hash == tokens.hash_secret(raw)

    page = rep_client.get("/api/profile/").content.decode()
    assert "dialer" in page and f"wcrm_{token.prefix}_" in page
    assert raw not in page  # never shown again

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/leads/").status_code == 200


def test_profile_page_refuses_a_nameless_token(rep_client, rep):
    response = rep_client.post("/api/profile/tokens/", {"name": "  ", "kind": "personal"})
    assert response.status_code == 400
    assert "Name the token after what will use it" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_only_admins_create_website_form_tokens(rep_client, admin_client_role, admin_user):
    response = rep_client.post("/api/profile/tokens/", {"name": "site", "kind": "inbound"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()  # a rep is not even offered the kind
    assert not ApiToken.objects.exists()
    response = admin_client_role.post("/api/profile/tokens/", {"name": "site", "kind": "inbound"})
    assert response.status_code == 200
    assert ApiToken.objects.get().kind == "inbound"


def test_service_refuses_inbound_tokens_for_non_admins_and_users_without_role(rep):
    with pytest.raises(ValidationError) as error:
        api_token_create(user=rep, name="site", kind="inbound")
    assert error.value.message_dict == {"kind": ["Only admins can create website-form tokens."]}
    with pytest.raises(ValidationError):
        api_token_create(user=UserFactory(), name="x")
    assert not ApiToken.objects.exists()


def test_revoke_on_the_profile_page(rep_client, rep):
    token, raw = api_token_create(user=rep, name="dialer")
    response = rep_client.post(f"/api/profile/tokens/{token.pk}/revoke/", follow=True)
    assert "Token “dialer” revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/leads/").status_code == 401


def test_nobody_revokes_someone_elses_token(rep_client, other_rep):
    token, _raw = api_token_create(user=other_rep, name="theirs")
    assert rep_client.post(f"/api/profile/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_profile_pages_need_login_and_post(client, rep_client):
    assert client.get("/api/profile/").status_code == 302
    assert client.post("/api/profile/tokens/", {"name": "x"}).status_code == 302
    assert not ApiToken.objects.exists()
    assert rep_client.get("/api/profile/tokens/").status_code == 405


def test_profile_link_in_the_nav(rep_client):
    assert 'href="/api/profile/"' in rep_client.get("/api/profile/").content.decode()
