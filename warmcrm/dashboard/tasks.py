"""Celery tasks of the dashboard: the daily band snapshot. Thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def band_snapshot_take() -> int:
    """Today's band counts (in the team's time zone), replacing any taken earlier today."""
    return services.band_snapshot_take(day=timezone.localdate())


@shared_task(soft_time_limit=600, time_limit=660)
def summary_rebuild() -> int:
    """The dashboard summary, recounted whole; returns how long it took (ms). The next run redoes a failed one."""
    return services.summary_rebuild().took_ms
