from __future__ import annotations

from django.contrib import admin

from .models import DuplicatePair, LostReason


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "order"]
    list_editable = ["active", "order"]
    search_fields = ["name"]


@admin.register(DuplicatePair)
class DuplicatePairAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "score", "found_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["lead_a", "lead_b"]
    readonly_fields = ["found_at"]
