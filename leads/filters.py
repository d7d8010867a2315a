"""The leads list's search, filters and sorts (django-filter), read from the URL so a view can be bookmarked."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .contact import phone_search_key
from .models import ConnectionType, Event, FollowUp, Lead, Stage, WarmthBand
from .roles import MANAGER, REP, sees_all_leads
from .selectors import stale_condition

SORTS = {
    "warmth": ("Warmest first", [F("warmth").desc(), F("id").asc()]),
    "coolest": ("Coolest first", [F("warmth").asc(), F("id").asc()]),
    "last_contact": ("Last contact, recent first", [F("last_attempt_at").desc(nulls_last=True), F("id").asc()]),
    "last_contact_oldest": (
        "Last contact, longest ago first",
        [F("last_attempt_at").asc(nulls_first=True), F("id").asc()],
    ),
    "next_follow_up": ("Next follow-up, soonest first", [F("next_follow_up_at").asc(nulls_last=True), F("id").asc()]),
    "name": ("Name", [F("last_name").asc(), F("first_name").asc(), F("id").asc()]),
}

FOLLOW_UP_STATES = [
    ("stale", "Gone stale"),
    ("has_follow_up", "Has an open follow-up"),
    ("no_follow_up", "No open follow-up"),
]


def referrers(request: HttpRequest | None) -> QuerySet[Any]:
    # leads never imports referrals at module level (apps depend one way).
    return apps.get_model("referrals", "ReferralSource").objects.only("pk", "name", "organisation")


def owners(request: HttpRequest | None) -> QuerySet[Any]:
    return (
        get_user_model().objects.filter(is_active=True, groups__name__in=(REP, MANAGER)).distinct().order_by("username")
    )


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, company, email or phone"}),
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    band = django_filters.ChoiceFilter(
        field_name="warmth_band", choices=WarmthBand.choices, label="Warmth", empty_label="Any warmth"
    )
    connection = django_filters.ChoiceFilter(
        field_name="connection_type", choices=ConnectionType.choices, label="Connection", empty_label="Any connection"
    )
    event = django_filters.ModelChoiceFilter(queryset=Event.objects.all(), empty_label="Any event")
    referrer = django_filters.ModelChoiceFilter(
        field_name="referral__source", queryset=referrers, label="Referred by", empty_label="Anyone"
    )
    owner = django_filters.ModelChoiceFilter(queryset=owners, empty_label="Anyone")
    follow_up = django_filters.ChoiceFilter(
        method="by_follow_up", choices=FOLLOW_UP_STATES, label="Follow-up", empty_label="Any"
    )
    sort = django_filters.ChoiceFilter(
        method="sort_by", choices=[(key, label) for key, (label, _) in SORTS.items()], label="Sort", empty_label=None
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(data, *args, request=request, **kwargs)
        if request is None or not sees_all_leads(request.user):
            del self.filters["owner"]  # reps only ever see their own leads

    def search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        """Every word must match a name, company or email; or the whole text is a phone in any format."""
        text = value.strip()
        if not text:
            return queryset
        condition = Q()
        for word in text.split()[:6]:
            condition &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company__icontains=word)
                | Q(email__icontains=word)
            )
        phone = phone_search_key(text, region=settings.PHONE_DEFAULT_REGION)
        if phone:
            condition |= Q(phone_e164=phone)
        digits = "".join(char for char in text if char.isdigit())
        if len(digits) >= 4 and len(digits) * 2 >= len(text.replace(" ", "")):
            condition |= Q(phone_e164__contains=digits)  # part of a number: "5550134"
        return queryset.filter(condition)

    def by_follow_up(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        open_follow_up = Exists(FollowUp.objects.filter(lead_id=OuterRef("pk"), status=FollowUp.Status.OPEN))
        if value == "stale":
            return queryset.filter(stale_condition(timezone.now()))
        if value == "has_follow_up":
            return queryset.filter(open_follow_up)
        if value == "no_follow_up":
            return queryset.filter(~open_follow_up)
        return queryset

    def sort_by(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.order_by(*SORTS.get(value, SORTS["warmth"])[1])

    def filter_queryset(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        queryset = queryset.order_by(*SORTS["warmth"][1])  # default sort when none is picked
        return super().filter_queryset(queryset)
