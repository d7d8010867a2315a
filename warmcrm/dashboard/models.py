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
