"""Query filters of the list endpoints: the leads page's own filters, and the follow-ups of "my queue"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from calls.models import Call, Outcome
from leads import filters as leads_filters
from leads.models import ConnectionType, FollowUp, Stage, WarmthBand


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number in the database's range (a huge or fractional number is a clear 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, moved to UTC: PostgreSQL refuses offsets past ±15:59 that ISO allows ("+17:03")."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Give a date and time between the years 1 and 9999.", code="invalid") from exc


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class LeadFilter(leads_filters.LeadFilter):
    """The leads page's own filters (q, stage, band, connection, event, referrer, owner for managers, follow_up,
    sort), so the API lists exactly what the page lists; plus several-value filters and sync helpers."""

    warmth_band = django_filters.MultipleChoiceFilter(choices=WarmthBand.choices, help_text="One or more bands.")
    connection_type = django_filters.MultipleChoiceFilter(choices=ConnectionType.choices, help_text="One or more.")
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, help_text="One or more stages.")
    unassigned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", help_text="No owner.")
    do_not_call = django_filters.BooleanFilter()
    updated_after = DateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="For syncing: leads changed since then."
    )


class FollowUpFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[*FollowUp.Status.choices, ("any", "Any")], method="filter_status", empty_label=None
    )
    due_before = DateTimeFilter(field_name="due_at", lookup_expr="lte")
    due_after = DateTimeFilter(field_name="due_at", lookup_expr="gte")
    lead = IdFilter(field_name="lead_id")

    class Meta:
        model = FollowUp
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(status=FollowUp.Status.OPEN)  # "my queue" means the open ones
        return super().filter_queryset(queryset)

    def filter_status(self, queryset: QuerySet[FollowUp], name: str, value: str) -> QuerySet[FollowUp]:
        return queryset if value == "any" else queryset.filter(status=value)


class CallFilter(django_filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    called_after = DateTimeFilter(field_name="called_at", lookup_expr="gte")
    called_before = DateTimeFilter(field_name="called_at", lookup_expr="lte")

    class Meta:
        model = Call
        fields: list[str] = []
