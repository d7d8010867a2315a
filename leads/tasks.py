"""Celery tasks for warmth. Thin: take ids, re-read the database, call one service; safe to run twice."""

from __future__ import annotations

import logging
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
def warmth_recompute_chunk(first_id: int, last_id: int) -> dict[str, Any]:
    report = services.warmth_recompute_chunk(first_id=first_id, last_id=last_id)
    return report.as_dict()


@shared_task(**IDEMPOTENT, soft_time_limit=60, time_limit=90)
def warmth_recompute_all() -> int:
    """The periodic job: split the leads into id chunks and let the workers take them in parallel."""
    chunks = services.warmth_chunks()
    if chunks:
        group(warmth_recompute_chunk.si(first_id, last_id) for first_id, last_id in chunks).apply_async()
    logger.info("warmth recompute: %d chunks queued", len(chunks))
    return len(chunks)


@shared_task(**IDEMPOTENT, soft_time_limit=120, time_limit=150)
def referrer_rescore(source_id: int) -> int:
    """A referral converted or stopped counting as converted: rescore that referrer's other leads."""
    scored, _ = services.warmth_recompute(leads=Lead.objects.filter(referral__source_id=source_id), now=timezone.now())
    return scored


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=10)
def import_job_run(self: Any, job_id: int) -> str:
    """Run a list import's dry run or import. Re-delivery is harmless: the job resumes after its last batch."""
    from . import import_services  # the importer is only loaded by workers that run imports

    outcome = import_services.import_job_run(job_id=job_id)
    if outcome == "busy":
        # Another worker holds it; if that worker died, its heartbeat goes stale and this retry takes over.
        raise self.retry(countdown=import_services.STALE_AFTER.total_seconds())
    return outcome
