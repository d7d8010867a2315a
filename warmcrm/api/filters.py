"""Query filters of the list endpoints: the leads page's filters, and the follow-ups of "my queue"."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from calls.models import Call, Outcome
from leads.contact import phone_search_key
from leads.models import ConnectionType, Event, FollowUp, Lead, Stage, WarmthBand
from leads.roles import sees_all_leads


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number in the database's range (a huge or fractional number is a clear 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


def lead_search(leads: QuerySet[Lead], text: str) -> QuerySet[Lead]:
    """Every word in name, company or email; or the whole text as a phone number written any way."""
    text = text.strip()
    if not text:
        return leads
    words = Q()
    for word in text.split()[:8]:
        words &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company__icontains=word)
            | Q(email__icontains=word)
        )
    phone = phone_search_key(text, region=settings.PHONE_DEFAULT_REGION)
    return leads.filter(words | Q(phone_e164=phone)) if phone else leads.filter(words)


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, help_text="Name, company, email or phone.")
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    warmth_band = django_filters.MultipleChoiceFilter(choices=WarmthBand.choices)
    connection_type = django_filters.MultipleChoiceFilter(choices=ConnectionType.choices)
    event = django_filters.ModelChoiceFilter(queryset=Event.objects.all())
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(), method="filter_owner", help_text="Managers: one rep's leads."
    )
    unassigned = django_filters.BooleanFilter(
        field_name="owner", lookup_expr="isnull", help_text="Leads with no owner."
    )
    do_not_call = django_filters.BooleanFilter()
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return lead_search(queryset, value)

    def filter_owner(self, queryset: QuerySet[Lead], name: str, value: Any) -> QuerySet[Lead]:
        # A rep's list is already only theirs (leads_visible_to); the filter narrows, never widens.
        return queryset.filter(owner=value) if sees_all_leads(self.request.user) else queryset


class FollowUpFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[*FollowUp.Status.choices, ("any", "Any")], method="filter_status", empty_label=None
    )
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lte")
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
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
    called_after = django_filters.IsoDateTimeFilter(field_name="called_at", lookup_expr="gte")
    called_before = django_filters.IsoDateTimeFilter(field_name="called_at", lookup_expr="lte")

    class Meta:
        model = Call
        fields: list[str] = []
