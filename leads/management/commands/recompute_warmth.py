"""`python manage.py recompute_warmth [--json]`: the periodic warmth job, run now in this process."""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.services import warmth_recompute_all


class Command(BaseCommand):
    help = "Rescore every lead and schedule follow-ups for stale ones (the same code as the Celery job)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a sentence.")
        parser.add_argument("--chunk-size", type=int, default=None, help="Leads per chunk (default: setting).")

    def handle(self, *args: Any, json: bool, chunk_size: int | None, **options: Any) -> None:
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        report = warmth_recompute_all(chunk_size=chunk_size)
        if json:
            self.stdout.write(_dumps(report.as_dict()))
            return
        self.stdout.write(
            f"Scored {report.leads_scored:,} leads in {report.chunks} chunks: {report.band_changes:,} changed band, "
            f"{report.follow_ups_created:,} stale follow-ups created, {report.seconds:.2f} s."
        )


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)
