"""Admin for calls."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Call
from .services import call_totals_refresh


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "called_at", "direction", "outcome", "duration_seconds"]
    list_filter = ["outcome", "direction", "rep"]
    search_fields = ["lead__first_name", "lead__last_name", "lead__company", "notes"]
    list_select_related = ["lead", "rep"]
    raw_id_fields = ["lead"]
    date_hierarchy = "called_at"

    def save_model(self, request: HttpRequest, obj: Call, form: Any, change: bool) -> None:
        """A call added or corrected here skips call_log: recount the totals of its lead and hour, before and after."""
        before = Call.objects.filter(pk=obj.pk).values("lead_id", "called_at").first() if change else None
        super().save_model(request, obj, form, change)
        lead_ids, times = [obj.lead_id], [obj.called_at]
        if before is not None:
            lead_ids.append(before["lead_id"])
            times.append(before["called_at"])
        call_totals_refresh(lead_ids=lead_ids, times=times)
