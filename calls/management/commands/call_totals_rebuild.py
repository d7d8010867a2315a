"""`python manage.py call_totals_rebuild`: recount the dashboard's call totals after calls were loaded by SQL."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from calls.models import RepCallHour
from calls.services import call_totals_rebuild


class Command(BaseCommand):
    help = (
        "Recount every lead's first call / conversation / appointment and the calls per rep per hour from the "
        "calls (call_log keeps them itself; this is for calls written by SQL or restored from a backup)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        call_totals_rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Recounted the call totals: {RepCallHour.objects.count():,} rep-hours "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
