"""Login throttling (django-axes): failures per username + address lock that pair out for a cool-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


def _login(client: Client, username: str, password: str, path: str | None = None):
    return client.post(path or reverse("login"), {"username": username, "password": password})


def _fail_until_locked(client: Client, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert _login(client, username, "wrong").status_code in (200, 429)


def test_defaults_lock_after_five_failures_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_failures_below_the_limit_still_let_the_right_password_in():
    UserFactory(username="rosa", role="rep")
    client = Client(REMOTE_ADDR="203.0.113.5")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, "rosa", "wrong")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    assert _login(client, "rosa", PASSWORD).status_code == 302
    # A success clears the failures: the count starts again from zero.
    assert not AccessAttempt.objects.filter(username="rosa").exists()


def test_the_limit_locks_the_pair_out_with_a_clear_message_even_for_the_right_password():
    UserFactory(username="rosa", role="rep")
    client = Client(REMOTE_ADDR="203.0.113.5")
    _fail_until_locked(client, "rosa")

    response = _login(client, "rosa", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins for “rosa” from your address" in response.text
    assert "paused for 15 minutes" in response.text and "ask an admin to unlock it" in response.text
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("leads:today")).status_code == 302  # still anonymous


def test_the_lock_is_per_username_and_address():
    UserFactory(username="rosa", role="rep")
    UserFactory(username="raj", role="rep")
    _fail_until_locked(Client(REMOTE_ADDR="203.0.113.5"), "rosa")

    # The same person from another address, and another user from the same address, are not locked out:
    # an attacker guessing one name cannot lock the whole office out.
    assert _login(Client(REMOTE_ADDR="198.51.100.7"), "rosa", PASSWORD).status_code == 302
    assert _login(Client(REMOTE_ADDR="203.0.113.5"), "raj", PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cool_off():
    UserFactory(username="rosa", role="rep")
    client = Client(REMOTE_ADDR="203.0.113.5")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _fail_until_locked(client, "rosa")
        clock.shift(timedelta(minutes=14))
        assert _login(client, "rosa", PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=16))
        assert _login(client, "rosa", PASSWORD).status_code == 302


def test_an_admin_unlocks_a_user_in_the_django_admin(admin_user):
    UserFactory(username="rosa", role="rep")
    client = Client(REMOTE_ADDR="203.0.113.5")
    _fail_until_locked(client, "rosa")
    attempt = AccessAttempt.objects.get(username="rosa")

    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "rosa" in listing.text
    response = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302

    assert _login(client, "rosa", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(admin_user):
    client = Client(REMOTE_ADDR="203.0.113.9")
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, admin_user.username, "wrong", admin_login)
    assert _login(client, admin_user.username, PASSWORD, admin_login).status_code == 429


def test_a_lower_limit_and_a_shorter_cool_off_apply(settings):
    UserFactory(username="rosa", role="rep")
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    client = Client(REMOTE_ADDR="203.0.113.5")
    _login(client, "rosa", "wrong")
    _login(client, "rosa", "wrong")
    response = _login(client, "rosa", PASSWORD)
    assert response.status_code == 429 and "paused for 1 minute;" in response.text


def test_behind_the_proxy_the_forwarded_address_counts(settings):
    """Every request reaches Django from the proxy: without this, one attacker would lock out a name everywhere."""
    settings.AXES_CLIENT_IP_CALLABLE = "warmcrm.login_throttle.client_address"
    UserFactory(username="rosa", role="rep")
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.5")
    _fail_until_locked(attacker, "rosa")
    assert _login(attacker, "rosa", PASSWORD).status_code == 429
    # The forged left-hand entry changes nothing; the address the proxy appended does.
    forged = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5")
    assert _login(forged, "rosa", PASSWORD).status_code == 429
    colleague = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _login(colleague, "rosa", PASSWORD).status_code == 302
