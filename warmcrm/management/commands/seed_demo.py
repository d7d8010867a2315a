"""`python manage.py seed_demo [--leads N] [--seed S] [--if-empty]`: fill the database with demo data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.models import Lead
from warmcrm.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create demo users, events, referrers, leads, calls and follow-ups (deterministic for a seed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=300, help="How many leads (default 300).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has leads.")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--force", action="store_true", help="Allow seeding with DEBUG off (benchmarks).")

    def handle(
        self, *args: Any, leads: int, seed: int, if_empty: bool, batch_size: int, force: bool, **options: Any
    ) -> None:
        if leads < 0:
            raise CommandError("--leads must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to add demo users to a production database; pass --force if you mean it.")
        if if_empty and Lead.objects.exists():
            self.stdout.write("The database already has leads; demo data not added.")
            return
        report = seed_demo(leads=leads, seed=seed, batch_size=batch_size, log=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.leads:,} leads, {report.calls:,} calls, {report.referrals:,} referrals, "
                f"{report.follow_ups:,} follow-ups."
            )
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in report.users:
            self.stdout.write(f"  {username:<8} {role}")
