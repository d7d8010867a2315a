"""Redis stops while gunicorn serves: pages load, calls and stage changes are saved, the API answers, nobody
sees a 500; when Redis is back the periodic catch-up does the work whose messages were lost.

The Redis is the test's own (a free port), never the shared one on 6379.
"""

from __future__ import annotations

import http.client
import re
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from calls.models import Call
from leads import import_services, services
from leads.models import ConnectionType, ImportJob, Lead, Stage
from leads.selectors import lead_warmth
from referrals.models import Referral
from tests.factories import LeadFactory, ReferralSourceFactory, UserFactory
from tests.faults.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
FILES = Path(__file__).parents[1] / "leads" / "import_files"
PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's


class Browser:
    """A logged-in user against the served app: keeps cookies, sends the CSRF token, never follows redirects."""

    def __init__(self, port: int, username: str) -> None:
        self.port, self.cookies, self.statuses = port, {}, []
        self.request("GET", "/accounts/login/")
        status, _ = self.request("POST", "/accounts/login/", {"username": username, "password": PASSWORD})
        assert status == 302 and "sessionid" in self.cookies, "could not log in"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        self.statuses.append((method, path, response.status))
        return response.status, text


def test_with_redis_down_pages_load_calls_are_saved_and_the_catch_up_redoes_the_lost_work(processes, own_redis):
    rep, admin = UserFactory(role="rep"), UserFactory(role="admin")
    for user in (rep, admin):  # a hash the served app checks (the tests' fast MD5 hasher is not in its list)
        user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
        user.save(update_fields=["password"])
    source = ReferralSourceFactory()
    referred, other_referred = (LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL) for _ in range(2))
    for lead in (referred, other_referred):
        Referral.objects.create(source=source, lead=lead)
    called = LeadFactory(owner=rep)
    services.warmth_recompute_all()  # scored, as the periodic job leaves them
    other_before = Lead.objects.get(pk=other_referred.pk).warmth
    stack = processes(
        CELERY_BROKER_URL=own_redis.url(0),
        CACHE_URL=own_redis.url(1),  # the API's rate limit counts in Redis too
        CATCH_UP_MINUTES="0.05",  # the catch-up every 3 s
        IMPORT_STALE_AFTER_SECONDS="3",
    )
    with open(FILES / "pipe_delimited.csv", "rb") as stream:
        job = import_services.import_job_create(actor=admin, source=stream, file_name="pipe_delimited.csv")
    import_services.import_job_configure(
        job=job,
        actor=admin,
        mapping=job.mapping,
        connection_type=ConnectionType.EVENT_LIST,
        owner_ids=[rep.pk],
        event_name="",
        event_date=None,
    )  # its message goes to the test's broker, not the stack's: the dry run is played here
    assert import_services.import_job_run(job_id=job.pk) == "done"

    stack.worker()
    stack.beat()
    stack.web()
    browser, admin_browser = Browser(stack.port, rep.username), Browser(stack.port, admin.username)
    assert browser.request("GET", "/api/v1/leads/")[0] == 200

    own_redis.stop()
    pages = ("/leads/today/", "/leads/", "/leads/board/", f"/leads/{called.pk}/", "/referrals/", "/me/settings/")
    for path in pages:
        assert browser.request("GET", path)[0] == 200, path
    status, body = browser.request("GET", "/api/v1/leads/")
    assert status == 200 and str(called.pk) in body  # the rate limit's cache is down: it fails open
    assert browser.request("POST", f"/calls/log/{called.pk}/", {"outcome": "no_answer"})[0] == 302
    assert browser.request("POST", f"/leads/{referred.pk}/stage/", {"stage": Stage.WON})[0] == 302
    assert admin_browser.request("POST", f"/imports/{job.pk}/confirm/", {})[0] == 302

    assert Call.objects.filter(lead=called, outcome="no_answer").count() == 1
    assert Lead.objects.get(pk=called.pk).unanswered_attempts == 1
    assert Lead.objects.get(pk=referred.pk).stage == Stage.WON
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED
    assert Lead.objects.get(pk=other_referred.pk).warmth == other_before  # its rescore could not be queued
    web_log = stack.log("web-1")
    assert "could not queue leads.tasks.referrer_rescore" in web_log
    assert "could not queue leads.tasks.import_job_run" in web_log
    assert "API rate limit not applied" in web_log

    own_redis.start()  # empty: the lost messages are gone for good
    expected = lead_warmth(Lead.objects.get(pk=other_referred.pk)).score
    assert expected > other_before  # the referrer converted once: their other lead is warmer
    wait_for(lambda: Lead.objects.get(pk=other_referred.pk).warmth == expected, what="the referrer's rescore")
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, what="the import")
    assert "'referrers_rescored': 2" in stack.log("worker-1")
    assert [request for request in browser.statuses + admin_browser.statuses if request[2] >= 500] == []
    assert not re.search(r'" 5\d\d ', web_log), "gunicorn served a 5xx"
