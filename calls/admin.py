"""Admin for calls."""

from __future__ import annotations

from django.contrib import admin

from .models import Call


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "called_at", "direction", "outcome", "duration_seconds"]
    list_filter = ["outcome", "direction", "rep"]
    search_fields = ["lead__first_name", "lead__last_name", "lead__company", "notes"]
    list_select_related = ["lead", "rep"]
    raw_id_fields = ["lead"]
    date_hierarchy = "called_at"
