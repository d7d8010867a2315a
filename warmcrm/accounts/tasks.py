"""Beat job: the morning digests (thin: the service decides who is due and claims each day once)."""

from __future__ import annotations

from celery import shared_task

from .digest import digests_send_due


@shared_task(name="warmcrm.accounts.tasks.digests_send_due")
def digests_send_due_task() -> int:
    return digests_send_due()
