"""`manage.py import_leads PATH`: the web import's code, run in this process.

Exit status 0 when the file was read (whatever its rows held), 2 when the file cannot be read at all,
1 (CommandError) for bad options; nothing is written in either failure case.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads import import_services, importing, upload_safety
from leads.models import ConnectionType


class Command(BaseCommand):
    help = "Import leads from a CSV, TSV or XLSX list (the same rules as the web import)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV, TSV or XLSX file.")
        parser.add_argument("--event", default="", help="Event the list comes from (created if new).")
        parser.add_argument("--event-date", default="", help="The event's date, YYYY-MM-DD (default: today).")
        owners = parser.add_mutually_exclusive_group()
        owners.add_argument("--owner", default="", help="Username of the rep who gets the leads.")
        owners.add_argument("--round-robin", default="", help="Usernames, comma-separated, sharing the leads.")
        parser.add_argument(
            "--connection",
            default=ConnectionType.EVENT_LIST,
            help=f"Connection type: {', '.join(ConnectionType.values)} (default event_list).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would happen; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object with the counts.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        owner_ids = self._owner_ids(options["owner"], options["round_robin"])
        event_date = self._event_date(options["event_date"], options["event"])
        try:
            with open(path, "rb") as stream:
                upload_safety.upload_check(stream)
                headers = importing.read_table(stream, file_name=path.name).headers
        except (importing.UnreadableFile, upload_safety.UploadRefused) as exc:
            self.stderr.write(f"{path.name}: {exc}")
            raise SystemExit(2) from exc
        mapping = import_services.remembered_mapping(headers) or importing.guess_mapping(headers)
        try:
            import_options = import_services.options_validate(
                mapping=mapping,
                column_count=len(headers),
                connection_type=options["connection"],
                owner_ids=owner_ids,
                event_name=options["event"],
                event_date=event_date,
            )
        except ValidationError as exc:
            problems = [message for messages in exc.message_dict.values() for message in messages]
            if "mapping" in exc.message_dict and len(exc.message_dict) == 1:
                self.stderr.write(f"{path.name}: no usable columns. {' '.join(problems)}")
                raise SystemExit(2) from exc
            raise CommandError(" ".join(problems)) from exc

        if options["dry_run"]:
            report = import_services.import_dry_run(path=path, file_name=path.name, options=import_options)
            job_id = None
        else:
            job, report = import_services.import_run_now(
                path=path, file_name=path.name, options=import_options, actor=None
            )
            job_id = job.pk
        if options["json"]:
            data = report.as_dict()
            data["dry_run"] = bool(options["dry_run"])
            data["import_id"] = job_id
            data["mapping"] = dict(zip(headers, mapping, strict=True))
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {report.rows} rows: {report.created} created, {report.merged} merged, "
            f"{report.errors} errors, {report.warnings} warnings."
        )
        for error in report.error_rows[:20]:
            self.stdout.write(f"  row {error['row']}: {error['reason']}")
        if len(report.error_rows) > 20:
            self.stdout.write(f"  … and {len(report.error_rows) - 20} more (use --json for all).")

    def _owner_ids(self, owner: str, round_robin: str) -> list[int]:
        names = [owner.strip()] if owner.strip() else [name.strip() for name in round_robin.split(",") if name.strip()]
        if not names:
            return []
        users = dict(
            get_user_model().objects.filter(username__in=names, is_active=True).values_list("username", "pk")
        )
        missing = [name for name in names if name not in users]
        if missing:
            raise CommandError(f"Unknown or inactive user: {', '.join(missing)}.")
        return [users[name] for name in names]

    def _event_date(self, text: str, event: str) -> date | None:
        if not text:
            return timezone.localdate() if event.strip() else None  # a list is imported right after its show
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise CommandError(f"--event-date “{text}” is not a date; write it as YYYY-MM-DD.") from exc
