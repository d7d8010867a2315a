"""The pieces that make a lost message harmless, on any database: enqueue_safely, the catch-up job, and the
API rate limit failing open when its cache is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from leads import import_services, services, tasks
from leads.models import ConnectionType, ImportJob, Lead, Stage
from leads.selectors import lead_warmth
from referrals.models import Referral
from tests.factories import LeadFactory, ReferralSourceFactory
from warmcrm.api.throttling import TokenRateThrottle
from warmcrm.celery import enqueue_safely


@pytest.mark.django_db
def test_referrers_whose_rescore_was_lost_are_rescored_by_the_catch_up(rep):
    source = ReferralSourceFactory()
    won, other = (LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL) for _ in range(2))
    for lead in (won, other):
        Referral.objects.create(source=source, lead=lead)
    services.warmth_recompute_all()
    assert services.referrers_rescore_out_of_date(now=timezone.now()) == 0  # all current: nothing to do
    before = Lead.objects.get(pk=other.pk).warmth

    Lead.objects.filter(pk=won.pk).update(stage=Stage.WON)  # won, and its referrer_rescore message lost

    assert services.referrers_rescore_out_of_date(now=timezone.now()) == 2
    other.refresh_from_db()
    assert other.warmth > before and other.warmth == lead_warmth(other).score
    assert services.referrers_rescore_out_of_date(now=timezone.now()) == 0


class BrokerDown:
    """A task whose broker refuses connections, as Celery reports it."""

    name = "leads.tasks.referrer_rescore"

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def apply_async(self, args: tuple, **options: object) -> None:
        self.sent.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db(transaction=True)
def test_enqueue_safely_sends_after_commit_and_logs_a_broker_outage_instead_of_raising(caplog):
    task = BrokerDown()
    with transaction.atomic():
        enqueue_safely(task, 7)
        assert task.sent == []  # nothing leaves before the data it refers to is committed
    assert task.sent == [(7,)]
    assert "could not queue leads.tasks.referrer_rescore(7,)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_won_referral_is_saved_when_the_broker_is_down(monkeypatch, rep, caplog):
    source = ReferralSourceFactory()
    lead = LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL)
    Referral.objects.create(source=source, lead=lead)
    down = BrokerDown()
    monkeypatch.setattr(tasks.referrer_rescore, "apply_async", down.apply_async)

    services.lead_set_stage(lead=lead, actor=rep, stage=Stage.WON)  # raised into the request before

    assert Lead.objects.get(pk=lead.pk).stage == Stage.WON
    assert down.sent == [(source.pk,)]
    assert "could not queue" in caplog.text


@pytest.mark.django_db
def test_the_catch_up_queues_imports_whose_worker_died_and_leaves_live_ones(monkeypatch, admin_user, rep):
    queued: list[int] = []
    monkeypatch.setattr(import_services, "_enqueue", lambda job: queued.append(job.pk))
    now = timezone.now()
    dead, live, lost = (
        ImportJob.objects.create(created_by=admin_user, file_name=f"{name}.csv", stored_path=f"imports/{name}.csv")
        for name in ("dead", "live", "lost")
    )
    ImportJob.objects.filter(pk=dead.pk).update(
        status=ImportJob.Status.RUNNING, run_token="a", heartbeat_at=now - import_services.STALE_AFTER * 2
    )
    ImportJob.objects.filter(pk=live.pk).update(status=ImportJob.Status.RUNNING, run_token="b", heartbeat_at=now)
    # Confirmed while the broker was down: queued, but no message ever left.
    ImportJob.objects.filter(pk=lost.pk).update(
        status=ImportJob.Status.QUEUED, created_at=now - import_services.STALE_AFTER * 2
    )

    assert import_services.imports_resume_stalled() == 2

    assert sorted(queued) == sorted([dead.pk, lost.pk])
    dead.refresh_from_db()
    assert (dead.status, dead.run_token, dead.heartbeat_at) == (ImportJob.Status.QUEUED, "", None)
    live.refresh_from_db()
    assert (live.status, live.run_token) == (ImportJob.Status.RUNNING, "b")


@pytest.mark.django_db
def test_the_catch_up_task_reports_what_it_redid(rep):
    source = ReferralSourceFactory()
    lead = LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL, stage=Stage.WON)
    Referral.objects.create(source=source, lead=lead)
    assert tasks.catch_up.run() == {"imports_queued": 0, "referrers_rescored": 1}
    assert tasks.catch_up.run() == {"imports_queued": 0, "referrers_rescored": 0}


@pytest.mark.django_db
def test_every_chunk_of_a_run_scores_as_of_the_run_s_instant(rep):
    leads = [LeadFactory(owner=rep, created_at=timezone.now() - timedelta(days=d)) for d in (1, 30, 90)]
    instant = timezone.now() - timedelta(minutes=5)
    tasks.warmth_recompute_chunk.run(leads[0].pk, leads[-1].pk, instant.isoformat())
    assert set(Lead.objects.values_list("warmth_computed_at", flat=True)) == {instant}
    for lead in Lead.objects.all():
        assert lead.warmth == lead_warmth(lead, now=instant).score


class CacheDown:
    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> None:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        return fail


@pytest.mark.django_db
def test_the_api_rate_limit_fails_open_when_its_cache_is_down(monkeypatch, rep_client, lead, caplog):
    monkeypatch.setattr(TokenRateThrottle, "cache", CacheDown())
    response = rep_client.get("/api/v1/leads/")
    assert response.status_code == 200 and response.json()["results"][0]["id"] == lead.pk
    assert "API rate limit not applied" in caplog.text
