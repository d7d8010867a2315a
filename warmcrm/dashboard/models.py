"""Teams (who a manager manages) and the daily warmth-band snapshots the dashboard compares against."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce

from leads.models import ConnectionType, WarmthBand


class Team(models.Model):
    """A group of reps. A manager who manages one or more teams sees those teams' leads on the dashboard."""

    name = models.CharField(max_length=100, unique=True)
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="managed_teams")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BandSnapshot(models.Model):
    """How many leads sat in each warmth band on a day, per owner, connection type and event.

    There is no history of band changes on the lead row, so a daily job counts the bands and the
    dashboard compares today's counts with the snapshot of a week ago ("moved band this week").
    """

    date = models.DateField()
    band = models.CharField(max_length=10, choices=WarmthBand.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    connection_type = models.CharField(max_length=20, choices=ConnectionType.choices)
    event = models.ForeignKey("leads.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-date", "band"]
        indexes = [models.Index(fields=["date", "band"], name="band_snapshot_date_band")]
        constraints = [
            # One row per day and group, also when owner or event is empty (NULLs would not collide).
            models.UniqueConstraint(
                "date",
                "band",
                Coalesce("owner", 0),
                "connection_type",
                Coalesce("event", 0),
                name="band_snapshot_one_row_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.count} {self.band}"


# --- The summary the dashboard reads (docs/architecture.md, "Dashboard summary") ------------------------
#
# Rebuilt from scratch by dashboard.services.summary_rebuild, every DASHBOARD_SUMMARY_SECONDS from beat and
# whenever the dashboard finds it older than DASHBOARD_SUMMARY_MAX_AGE_SECONDS. A row per UTC day and per
# group (owner, connection type, event): a day's leads, referrals or calls as they are now. Days are UTC
# because every time zone's midnight falls inside one UTC day; the selectors count the partial UTC day at
# each end of a period from the leads or calls themselves.


class SummaryGroup(models.Model):
    """The group columns every summary row shares, named like the lead's so the dashboard's filters apply.

    Derived data, rebuilt whole: no foreign-key constraints (nothing to check on each rebuild's inserts, and
    deleting a user or an event is not held up by rows the next rebuild drops anyway).
    """

    day = models.DateField(help_text="UTC date.")
    connection_type = models.CharField(max_length=20, choices=ConnectionType.choices)
    event = models.ForeignKey(
        "leads.Event",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.day}"


class OwnedSummaryGroup(SummaryGroup):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip

    class Meta:
        abstract = True


class CohortDay(OwnedSummaryGroup):
    """The leads that came in on a UTC day, by what they are now: the funnel, connection, events and band panels.

    Each column is the aggregate of the same name in dashboard.services.COHORT_COUNTS.
    """

    leads = models.PositiveIntegerField()
    now_new = models.PositiveIntegerField()
    now_attempted = models.PositiveIntegerField()
    now_connected = models.PositiveIntegerField()
    now_appointment_set = models.PositiveIntegerField()
    now_qualified = models.PositiveIntegerField()
    now_won = models.PositiveIntegerField()
    now_lost = models.PositiveIntegerField()
    now_nurture = models.PositiveIntegerField()
    reached_attempted = models.PositiveIntegerField()
    reached_connected = models.PositiveIntegerField()
    reached_qualified = models.PositiveIntegerField()
    contacted = models.PositiveIntegerField()
    appointments = models.PositiveIntegerField()
    won = models.PositiveIntegerField()
    contacted_7_days = models.PositiveIntegerField()
    called = models.PositiveIntegerField(help_text="Leads with a first call: the divisor of the average below.")
    time_to_first_call_total = models.DurationField(null=True)
    band_hot = models.PositiveIntegerField()
    band_warm = models.PositiveIntegerField()
    band_lukewarm = models.PositiveIntegerField()
    band_cold = models.PositiveIntegerField()
    stale = models.PositiveIntegerField(help_text="Stale at the rebuild (dashboard.services.stale_at).")

    class Meta:
        indexes = [models.Index(fields=["day"], name="cohort_day_day")]


class ReferralDay(OwnedSummaryGroup):
    """Referrals made on a day (`day` is the referral's own date), per referrer, grouped by the referred lead."""

    source = models.ForeignKey(
        "referrals.ReferralSource", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    made = models.PositiveIntegerField()
    converted = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="referral_day_day")]


class RepCallDay(SummaryGroup):
    """Calls a rep made on a UTC day, by the called lead's connection and event: rep activity under those filters.

    (Without them, rep activity reads calls.RepCallHour, which call_log keeps exact.)
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    calls = models.PositiveIntegerField()
    conversations = models.PositiveIntegerField()
    appointments = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "rep"], name="rep_call_day_day_rep")]


class FollowUpDay(OwnedSummaryGroup):
    """Follow-ups by their owner and their lead's connection and event: rep activity's follow-up columns.

    A row's `done` counts the follow-ups closed as done on `day` (UTC); `overdue` the follow-ups still open
    at the rebuild whose due time had passed, on the day they were due (the panel adds up every day).
    """

    done = models.PositiveIntegerField()
    overdue = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "owner"], name="follow_up_day_day_owner")]


class SummaryState(models.Model):
    """The one row saying when the summary was last rebuilt; summary_rebuild locks it, so rebuilds queue up."""

    built_at = models.DateTimeField(null=True)
    took_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"dashboard summary built {self.built_at}"
