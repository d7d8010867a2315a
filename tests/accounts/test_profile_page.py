"""The profile page: who may use it, what it saves, and the messages for bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from warmcrm.accounts.models import Profile
from warmcrm.accounts.selectors import profile_for

pytestmark = pytest.mark.django_db

VALID = {"time_zone": "Europe/Berlin", "working_days": ["0", "1", "2", "3"], "digest_hour": "8"}


@pytest.mark.parametrize("client_name", ["rep_client", "manager_client", "admin_client_role"])
def test_every_role_edits_their_own_settings(request, client_name):
    client = request.getfixturevalue(client_name)
    assert client.get("/me/settings/").status_code == 200
    response = client.post("/me/settings/", {**VALID, "digest_opt_out": "on"})
    assert response.status_code == 302
    user = response.wsgi_request.user
    profile = Profile.objects.get(user=user)
    assert (str(profile.time_zone), profile.working_days, profile.digest_hour, profile.digest_opt_out) == (
        "Europe/Berlin",
        [0, 1, 2, 3],
        8,
        True,
    )


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/me/settings/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_a_role_gets_403(db):
    client = Client()
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/me/settings/").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Pick a time zone from the list"),
        ({"working_days": []}, "working_days", "Pick at least one working day."),
        ({"digest_hour": "25"}, "digest_hour", "Select a valid choice"),
    ],
)
def test_bad_input_says_what_is_wrong_and_saves_nothing(rep, rep_client, changes, field, message):
    before = profile_for(rep)
    response = rep_client.post("/me/settings/", {**VALID, **changes})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    after = Profile.objects.get(pk=before.pk)
    assert (str(after.time_zone), after.working_days, after.digest_hour) == (
        str(before.time_zone),
        before.working_days,
        before.digest_hour,
    )


def test_nav_links_to_the_settings_page(rep_client):
    assert 'href="/me/settings/"' in rep_client.get("/leads/").content.decode()
