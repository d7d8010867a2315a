"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered from the apps.

`enqueue_safely` is how web code queues work: after the transaction commits, and a broker outage is a
log line, never an error in the request that already saved its data (docs/architecture.md, "Failures").
"""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Any

from celery import Celery
from django.db import transaction
from kombu.exceptions import KombuError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warmcrm.settings")

app = Celery("warmcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# A request waits at most about half a second for a broker that is down (Celery's default retries for ~1 s).
WEB_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue_safely(task: Any, *args: Any) -> None:
    """Queue `task(*args)` once the current transaction commits (now, outside one); never raise for the broker.

    Every caller's work is redone by a periodic job if the message is lost (leads.tasks.catch_up and the
    hourly recompute), so an unreachable broker is logged and the request carries on.
    """
    transaction.on_commit(partial(_publish, task, args))


def _publish(task: Any, args: tuple[Any, ...]) -> None:
    try:
        task.apply_async(args, retry_policy=WEB_PUBLISH_RETRY)
    except (KombuError, OSError) as exc:
        logger.warning("could not queue %s%r, the periodic catch-up will do it: %s", task.name, args, exc)
