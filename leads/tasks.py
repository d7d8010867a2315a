"""Celery tasks for warmth and imports. Thin: take ids, re-read the database, call one service; safe to run twice."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import group, shared_task
from django.db import DatabaseError
from django.utils import timezone

from . import services
from .models import Lead

logger = logging.getLogger(__name__)

# Idempotent tasks only: acks_late re-delivers a chunk whose worker died, and re-running it is harmless.
IDEMPOTENT = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**IDEMPOTENT, soft_time_limit=600, time_limit=660)
def warmth_recompute_chunk(first_id: int, last_id: int, now: str | None = None) -> dict[str, Any]:
    """One chunk of a run, scored as of the run's instant `now` (ISO 8601), so a redelivered chunk scores the same."""
    moment = datetime.fromisoformat(now) if now else timezone.now()
    report = services.warmth_recompute_chunk(first_id=first_id, last_id=last_id, now=moment)
    return report.as_dict()


@shared_task(**IDEMPOTENT, soft_time_limit=60, time_limit=90)
def warmth_recompute_all(now: str | None = None) -> int:
    """The periodic job: split the leads into id chunks and let the workers take them in parallel.

    Every chunk of one run scores as of the same instant (`now`, ISO 8601; the time the run starts by default).
    """
    now = now or timezone.now().isoformat()
    chunks = services.warmth_chunks()
    if chunks:
        group(warmth_recompute_chunk.si(first_id, last_id, now) for first_id, last_id in chunks).apply_async()
    logger.info("warmth recompute: %d chunks queued", len(chunks))
    return len(chunks)


@shared_task(**IDEMPOTENT, soft_time_limit=120, time_limit=150)
def referrer_rescore(source_id: int) -> int:
    """A referral converted or stopped counting as converted: rescore that referrer's other leads."""
    scored, _ = services.warmth_recompute(leads=Lead.objects.filter(referral__source_id=source_id), now=timezone.now())
    return scored


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run(job_id: int) -> str:
    """Run a list import's dry run or import. Re-delivery is harmless: the job resumes after its last batch.

    "busy" means another worker holds the job; if that worker died, its heartbeat goes stale and `catch_up`
    queues the job again (a retry chain per duplicate message is not needed).
    """
    from . import import_services  # the importer is only loaded by workers that run imports

    return import_services.import_job_run(job_id=job_id)


@shared_task(**IDEMPOTENT, soft_time_limit=120, time_limit=150)
def catch_up() -> dict[str, int]:
    """Every CATCH_UP_MINUTES: redo what a lost message left undone (the broker was down, a worker was killed).

    Imports whose worker stopped reporting are queued again (they resume after their last committed batch),
    and referrers whose stored conversion count is out of date (their rescore never ran) are rescored.
    """
    from . import import_services

    done = {
        "imports_queued": import_services.imports_resume_stalled(),
        "referrers_rescored": services.referrers_rescore_out_of_date(now=timezone.now()),
    }
    if any(done.values()):
        logger.warning("catch-up: %s", done)
    return done
