"""Locust users for bench/load.py: reps working their call list, a manager on the dashboard, an admin import.

Started by bench/load.py (`locust -f bench/locustfile.py --headless ...`), which passes the sessions and the
import job through LOAD_* environment variables, and reads back one line per request from LOAD_EVENTS_PATH
(time, endpoint, milliseconds, bytes, error) to split the figures into "before the import" and "while it runs".

Each request is what a logged-in browser sends (bench/load.py makes the sessions): Today as a full page; the call
form opened with htmx (HX-Request) from a Today row, unless Today's page carries the form (since 2026-12-02: then
the browser sends nothing to open it); the htmx POST of the form (X-CSRFToken from the page's
`hx-headers`, the form's own csrfmiddlewaretoken, the `back` field); the lead page, and a call logged from it;
the dashboard reloaded; the import confirmed and its state polled every second like the job page does.
A response that is not the expected page (a form re-rendered with errors, the login page) is an error.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time
from datetime import UTC, datetime, timedelta
from http.cookiejar import Cookie, DefaultCookiePolicy
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, constant_throughput, events, task

REP_SESSIONS = [key for key in os.environ.get("LOAD_REP_SESSIONS", "").split(",") if key]
MANAGER_SESSION = os.environ.get("LOAD_MANAGER_SESSION", "")
ADMIN_SESSION = os.environ.get("LOAD_ADMIN_SESSION", "")
IMPORT_JOB = int(os.environ.get("LOAD_IMPORT_JOB", "0"))  # 0: no import in this run
IMPORT_AT = float(os.environ.get("LOAD_IMPORT_AT", "20"))  # seconds after the admin logs in
CALLS_PER_SECOND = float(os.environ.get("LOAD_CALL_RATE", "2"))  # per rep user
DASHBOARD_EVERY = float(os.environ.get("LOAD_DASHBOARD_EVERY", "5"))  # seconds between reloads
PROBE_PER_SECOND = float(os.environ.get("LOAD_PROBE_RATE", "5"))
# A rep reloads Today after working down its 25 warmest rows (each POST answer refreshes the row in place).
TODAY_EVERY = int(os.environ.get("LOAD_TODAY_EVERY", "25"))
# "mix": the call form is opened before each POST and a share of calls go through the lead page;
# "posts": the call-log POST alone (from Today rows), to find the ceiling of that one request;
# "floor": the least a call-log POST can do (bench/floor_urls.py: the lead checked, one call row, a 204) alone;
# "healthz": the health check alone from every rep user, the ceiling of a trivial request.
SCENARIO = os.environ.get("LOAD_SCENARIO", "mix")
LEAD_PAGE_SHARE = 0.2 if SCENARIO == "mix" else 0.0  # calls logged from the lead page instead of the Today row
EVENTS_PATH = os.environ.get("LOAD_EVENTS_PATH", "")
# Outcomes as reps log them; a call-back needs its date (tomorrow here).
OUTCOMES = ["no_answer"] * 4 + ["voicemail"] * 3 + ["connected_other"] * 2 + ["not_interested", "call_back"]

FLOOR_NOTES = os.environ.get("LOAD_FLOOR_NOTES", "load test (floor)")  # bench/load.py removes those calls after
ROW_ID = re.compile(r'<li id="row-(\d+)"')
ERROR_TEXT = re.compile(r'class="(?:field-)?error"[^>]*>([^<]*)<')
PAGE_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
_rep_sessions = itertools.cycle(REP_SESSIONS)
_log = open(EVENTS_PATH, "a", buffering=1 << 16) if EVENTS_PATH else None  # noqa: SIM115 (closed at quit)


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, **kwargs) -> None:  # noqa: ANN001
    if _log is not None:
        error = "" if exception is None else str(exception).replace("\t", " ").replace("\n", " ")[:200]
        _log.write(f"{time.time():.3f}\t{name}\t{response_time:.2f}\t{response_length}\t{error}\n")


@events.quitting.add_listener
def _close(**kwargs) -> None:  # noqa: ANN003
    if _log is not None:
        _log.flush()


class Browser(FastHttpUser):
    """A logged-in browser: the session bench/load.py made for it (a login costs ~0.3 s of PBKDF2, once a day)."""

    abstract = True
    session_key = ""

    def on_start(self) -> None:
        # Production cookies are Secure (TLS ends at the proxy); here gunicorn is reached directly on 127.0.0.1.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
        host = urlsplit(self.host).hostname
        self.client.cookiejar.set_cookie(
            Cookie(0, "sessionid", self.session_key, None, False, host, False, False, "/", True, True, None, False,
                   None, None, {"HttpOnly": None})
        )  # fmt: skip
        self.token = ""

    def page(self, path: str, name: str, expect: str, **kwargs) -> str:  # noqa: ANN003
        """GET a page; an error unless it is a 200 that contains `expect`. Remembers the page's CSRF token."""
        with self.client.get(path, name=name, catch_response=True, **kwargs) as response:
            text = response.text or ""
            if response.status_code != 200 or expect not in text:
                response.failure(f"{response.status_code}, expected {expect!r}")
                return ""
            if token := PAGE_TOKEN.search(text):
                self.token = token.group(1)
            return text

    def htmx_post(self, path: str, name: str, data: dict, expect: str) -> str:
        headers = {"HX-Request": "true", "X-CSRFToken": self.token}
        with self.client.post(path, data=data, headers=headers, name=name, catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200 or expect not in text:
                problem = ERROR_TEXT.search(text)
                response.failure(
                    f"{response.status_code}, expected {expect!r}: {problem.group(1) if problem else text[:80]!r}"
                )
            return text


class Rep(Browser):
    """Works down Today: opens the call form in a row, logs the call; now and then from the lead page."""

    wait_time = constant_throughput(CALLS_PER_SECOND)

    def on_start(self) -> None:
        self.session_key = next(_rep_sessions)
        super().on_start()
        self.queue: list[int] = []
        self.calls_since_today = TODAY_EVERY
        self.form_in_page = False

    def today(self) -> None:
        text = self.page("/leads/today/", "GET /leads/today/", 'id="queue"')
        self.queue = list(dict.fromkeys(int(pk) for pk in ROW_ID.findall(text)))
        # A page that carries the rows' call form (workspace.js opens it from there): the browser GETs no form.
        self.form_in_page = 'id="call-form-template"' in text
        random.shuffle(self.queue)  # several sessions of one rep should not all call the same lead
        self.calls_since_today = 0

    @task
    def log_a_call(self) -> None:
        if SCENARIO == "healthz":  # the ceiling of a trivial request on the same stack, for the ratio
            with self.client.get("/healthz", name="GET /healthz (flood)", catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(str(response.status_code))
            return
        if SCENARIO == "floor":  # Today once for the token and the rep's leads, then only the floor's POSTs
            if not self.queue:
                self.today()
            if self.queue:
                self.floor_post(random.choice(self.queue))
            return
        if self.calls_since_today >= TODAY_EVERY or not self.queue:
            self.today()
        if not self.queue:
            return
        lead_id = self.queue.pop()
        self.calls_since_today += 1
        outcome = random.choice(OUTCOMES)
        data = {"outcome": outcome, "notes": "load test", "csrfmiddlewaretoken": self.token}
        if outcome == "call_back":
            data["call_back_on"] = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
        if random.random() < LEAD_PAGE_SHARE:
            self.page(f"/leads/{lead_id}/", "GET /leads/<id>/", 'id="lead-body"')
            data["back"] = "lead"
            self.htmx_post(f"/calls/log/{lead_id}/", "POST /calls/log/<id>/ (lead page)", data, 'id="lead-body"')
        else:
            if SCENARIO == "mix" and not self.form_in_page:
                self.page(
                    f"/calls/log/{lead_id}/?back=today",
                    "GET /calls/log/<id>/ (htmx form)",
                    "data-call-form",
                    headers={"HX-Request": "true"},
                )
            data["back"] = "today"
            self.htmx_post(f"/calls/log/{lead_id}/", "POST /calls/log/<id>/ (today)", data, "data-just-logged")

    def floor_post(self, lead_id: int) -> None:
        data = {"outcome": random.choice(OUTCOMES), "notes": FLOOR_NOTES, "csrfmiddlewaretoken": self.token}
        headers = {"HX-Request": "true", "X-CSRFToken": self.token}
        name = "POST /bench/floor/<id>/ (floor)"
        with self.client.post(f"/bench/floor/{lead_id}/", data=data, headers=headers, name=name,
                              catch_response=True) as response:  # fmt: skip
            if response.status_code != 204:
                response.failure(f"{response.status_code}, expected 204")


class Manager(Browser):
    fixed_count = 1
    wait_time = constant(DASHBOARD_EVERY)

    def on_start(self) -> None:
        self.session_key = MANAGER_SESSION
        super().on_start()

    @task
    def dashboard(self) -> None:
        self.page("/dashboard/", "GET /dashboard/", "Funnel")


class Admin(Browser):
    """Confirms the checked import IMPORT_AT seconds in, then polls its state every second, as the page does."""

    fixed_count = 1
    wait_time = constant(1)

    def on_start(self) -> None:
        self.session_key = ADMIN_SESSION
        super().on_start()
        self.started = time.monotonic()
        self.confirmed = IMPORT_JOB == 0

    @task
    def import_job(self) -> None:
        if not self.confirmed and time.monotonic() - self.started >= IMPORT_AT:
            self.page(f"/imports/{IMPORT_JOB}/", "GET /imports/<id>/", "Import")
            with self.client.post(
                f"/imports/{IMPORT_JOB}/confirm/",
                data={"csrfmiddlewaretoken": self.token},
                name="POST /imports/<id>/confirm/",
                catch_response=True,
            ) as response:
                if response.status_code != 200 or "Import started." not in (response.text or ""):
                    response.failure(f"{response.status_code}: the import did not start")
            self.confirmed = True
        elif self.confirmed and IMPORT_JOB:
            self.page(f"/imports/{IMPORT_JOB}/state/", "GET /imports/<id>/state/ (poll)", "job-state")


class Probe(FastHttpUser):
    """The baseline in the same run: the health check (one `SELECT 1`, no session, no template)."""

    fixed_count = 1
    wait_time = constant_throughput(PROBE_PER_SECOND)

    @task
    def healthz(self) -> None:
        with self.client.get("/healthz", name="GET /healthz (baseline)", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(str(response.status_code))
