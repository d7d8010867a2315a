"""Admin for teams (who manages whom) and a read-only view of the band snapshots."""

from __future__ import annotations

from django.contrib import admin

from .models import BandSnapshot, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["managers", "members"]


@admin.register(BandSnapshot)
class BandSnapshotAdmin(admin.ModelAdmin):
    list_display = ["date", "band", "owner", "connection_type", "event", "count"]
    list_filter = ["date", "band"]

    def has_add_permission(self, request) -> bool:  # written only by the daily job
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
