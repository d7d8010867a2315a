"""Two workers racing for the same digest on PostgreSQL: the conditional UPDATE lets exactly one send."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from tests.factories import FollowUpFactory, LeadFactory, UserFactory
from warmcrm.accounts import digest as digest_module
from warmcrm.accounts.digest import digest_send
from warmcrm.accounts.models import Profile
from warmcrm.accounts.selectors import profile_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo("UTC"))


def test_two_workers_send_one_digest(settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rep = UserFactory(username="racer", email="racer@example.com", role="rep")
    profile_for(rep)
    FollowUpFactory(lead=LeadFactory(owner=rep), due_at=NOW)
    real_send = digest_module.EmailMultiAlternatives.send

    def slow_send(self, fail_silently=False):
        time.sleep(0.5)  # hold the claimed row while the other worker tries
        return real_send(self, fail_silently=fail_silently)

    monkeypatch.setattr(digest_module.EmailMultiAlternatives, "send", slow_send)
    mail.outbox = []
    results: list[bool] = []

    def worker() -> None:
        try:
            results.append(digest_send(profile=Profile.objects.get(user=rep), now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1
