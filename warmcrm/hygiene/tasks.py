"""Beat job: the nightly duplicate finder (thin: the service does the set-based work and is safe to re-run)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from . import services


@shared_task(name="warmcrm.hygiene.tasks.duplicates_find")
def duplicates_find() -> dict[str, int]:
    return asdict(services.duplicates_find())
