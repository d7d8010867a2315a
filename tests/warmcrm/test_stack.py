"""The production stack, started natively: gunicorn, a Celery worker and beat on PostgreSQL and Redis.

docker-compose.yml runs these same commands (warmcrm/management/commands/run_stack.py builds them);
CI has no Docker engine, so this test starts them as processes against the test database.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.models import ConnectionType, FollowUp, Lead, Stage
from leads.services import lead_set_stage
from referrals.models import Referral
from tests.factories import LeadFactory, ReferralSourceFactory, UserFactory
from warmcrm.management.commands.run_stack import stack_commands

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], bool], *, seconds: float = 60, what: str = "", interval: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


class Stack:
    def __init__(self, tmp: Path) -> None:
        db = connection.settings_dict
        self.port = _free_port()
        self.queue = f"warmcrm-test-{secrets.token_hex(4)}"
        self.logs = tmp
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's job
            "DJANGO_STATIC_ROOT": str(tmp / "static"),
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "WARMTH_RECOMPUTE_MINUTES": "0.05",  # beat fires every 3 s here, hourly by default
            "WARMTH_CHUNK_SIZE": "7",  # many small chunks, so both worker processes take some
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        for name, command in stack_commands(host="127.0.0.1", port=self.port, gunicorn=True, workers=2).items():
            log = (self.logs / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.web_answers, what="gunicorn to answer /healthz")

    def web_answers(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.status, response.read().decode()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        for name in stack.processes:
            print(f"--- {name} log (tail) ---\n{stack.log(name)[-3000:]}")


def test_production_stack_serves_pages_and_runs_the_periodic_job_on_workers(stack):
    rep = UserFactory(role="rep")
    long_ago = timezone.now() - timedelta(days=30)
    stale = [LeadFactory(owner=rep, connection_type=ConnectionType.EVENT_ASKED, created_at=long_ago) for _ in range(30)]
    fresh = LeadFactory(owner=rep, connection_type=ConnectionType.INBOUND)

    status, body = stack.get("/accounts/login/")
    assert status == 200 and "Log in to WarmCRM" in body
    assert stack.get("/healthz") == (200, '{"status": "ok"}')

    # Nobody enqueues anything here: beat schedules the job, workers score the chunks in parallel.
    wait_for(
        lambda: not Lead.objects.filter(warmth_computed_at__isnull=True).exists(),
        what="beat and the worker to score every lead",
    )
    wait_for(
        lambda: FollowUp.objects.filter(reason=FollowUp.Reason.STALE).count() == len(stale),
        what="one stale follow-up per stale lead",
    )
    # Several more runs of the job come and go: still exactly one open follow-up per stale lead.
    first_scored = Lead.objects.get(pk=fresh.pk).warmth_computed_at
    wait_for(lambda: Lead.objects.get(pk=fresh.pk).warmth_computed_at > first_scored, what="another run")
    time.sleep(4)
    assert FollowUp.objects.filter(reason=FollowUp.Reason.STALE).count() == len(stale)
    assert set(FollowUp.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in stale}
    assert Lead.objects.get(pk=fresh.pk).warmth == 55
    assert "warmth_recompute_chunk" in stack.log("worker")
    assert "Sending due task recompute-all-warmth" in stack.log("beat")


def test_a_converted_referral_rescores_the_referrers_other_leads_on_the_worker(stack):
    rep = UserFactory(role="rep")
    source = ReferralSourceFactory()
    first, second = (LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL) for _ in range(2))
    for lead in (first, second):
        Referral.objects.create(source=source, lead=lead)
    wait_for(lambda: Lead.objects.get(pk=second.pk).warmth == 55, what="the periodic scoring")

    lead_set_stage(lead=Lead.objects.get(pk=first.pk), actor=rep, stage=Stage.WON)

    wait_for(lambda: Lead.objects.get(pk=second.pk).warmth == 59, seconds=30, what="referrer_rescore on the worker")
