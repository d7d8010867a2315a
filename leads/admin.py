"""Admin for leads, events, follow-ups and timeline entries (admins only, see leads.roles)."""

from __future__ import annotations

from django.contrib import admin

from .models import Event, FollowUp, ImportJob, ImportMapping, ImportRecord, Lead, TimelineEntry


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "date", "place"]
    list_filter = ["date"]
    search_fields = ["name", "place"]
    date_hierarchy = "date"


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company", "owner", "stage", "connection_type", "warmth", "warmth_band", "do_not_call"]
    list_filter = ["stage", "connection_type", "warmth_band", "do_not_call", "owner", "event"]
    search_fields = ["first_name", "last_name", "company", "email", "phone", "phone_e164"]
    list_select_related = ["owner"]
    raw_id_fields = ["event"]
    readonly_fields = [
        "phone_e164", "warmth", "warmth_band", "warmth_computed_at", "created_at", "updated_at",
        "import_job", "import_row",
    ]  # fmt: skip


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["lead", "owner", "due_at", "reason", "status", "created_by"]
    list_filter = ["status", "reason", "owner"]
    search_fields = ["lead__first_name", "lead__last_name", "lead__company", "status_note"]
    list_select_related = ["lead", "owner", "created_by"]
    raw_id_fields = ["lead"]
    date_hierarchy = "due_at"


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["lead", "kind", "actor", "at", "summary"]
    list_filter = ["kind"]
    search_fields = ["summary", "lead__first_name", "lead__last_name", "lead__company"]
    list_select_related = ["lead", "actor"]
    raw_id_fields = ["lead"]


# --- Imports (the import pages at /imports/ are the way to run them; these are for looking) -------------


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["file_name", "created_by", "created_at", "status", "rows_processed", "created_count"]
    list_filter = ["status", "connection_type"]
    search_fields = ["file_name", "event_name"]
    list_select_related = ["created_by"]
    raw_id_fields = ["event"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ImportJob._meta.fields if field.name not in ("id",)]


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at", "updated_by"]
    list_select_related = ["updated_by"]
    readonly_fields = ["header_key", "updated_at", "updated_by"]


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = ["job", "lead", "row_number"]
    list_select_related = ["job", "lead"]
    raw_id_fields = ["job", "lead"]
